/**
 * The `fsim` driver: the Driver API (driver.h) on simulated device memory and the TypeScript
 * functional simulator. A device context owns one Machine, so SRAM persists across runs as on
 * hardware; every run starts with empty token queues (Decision 9).
 */
import type { VtaConfig } from '../../config/config.ts';
import { VtaError } from '../../lib/errors.ts';
import { simulate, Machine } from '../../sim/index.ts';
import type { DeviceBuffer, Driver, DriverInfo, RunOptions, RunResult } from '../api.ts';
import { DeviceMemory } from '../memory.ts';

const hex = (n: number) => '0x' + n.toString(16);

class FsimDriver implements Driver {
  readonly name = 'fsim';
  readonly config: VtaConfig;
  private readonly memory = new DeviceMemory();
  private readonly machine: Machine;
  /** Live buffers by physical address (so a stale or foreign handle is refused). */
  private readonly buffers = new Map<number, DeviceBuffer>();
  private closed = false;

  constructor(config: VtaConfig) {
    this.config = config;
    this.machine = new Machine(config);
  }

  private live(): void {
    if (this.closed) throw new VtaError('E_DRIVER', 'fsim device is closed');
  }

  private owned(buf: DeviceBuffer, what: string): void {
    this.live();
    if (this.buffers.get(buf.phys) !== buf) throw new VtaError('E_DRIVER', `${what}: buffer at ${hex(buf.phys)} is not a live fsim allocation`);
  }

  private range(buf: DeviceBuffer, offset: number, length: number, what: string): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + length > buf.bytes) {
      throw new VtaError('E_DRIVER', `${what}: [${offset}, ${offset + length}) is outside the ${buf.bytes}-byte buffer at ${hex(buf.phys)}`);
    }
  }

  memAlloc(bytes: number): DeviceBuffer {
    this.live();
    const region = this.memory.alloc(bytes);
    const buf = { phys: region.phys, bytes };
    this.buffers.set(buf.phys, buf);
    return buf;
  }

  memAllocAt(phys: number, bytes: number): DeviceBuffer {
    this.live();
    const region = this.memory.allocAt(phys, bytes);
    // The region starts at the page holding `phys`; the buffer is what was asked for.
    const buf = { phys, bytes };
    this.buffers.set(phys, buf);
    this.regionOf.set(buf, region.phys);
    return buf;
  }

  private readonly regionOf = new WeakMap<DeviceBuffer, number>();

  memFree(buf: DeviceBuffer): void {
    this.owned(buf, 'memFree');
    this.memory.free(this.regionOf.get(buf) ?? buf.phys);
    this.buffers.delete(buf.phys);
  }

  physAddr(buf: DeviceBuffer, offset = 0): number {
    this.owned(buf, 'physAddr');
    this.range(buf, offset, 0, 'physAddr');
    return buf.phys + offset;
  }

  copyFromHost(dst: DeviceBuffer, src: Uint8Array, offset = 0): void {
    this.owned(dst, 'copyFromHost');
    this.range(dst, offset, src.length, 'copyFromHost');
    this.memory.write(dst.phys + offset, src);
  }

  copyToHost(dst: Uint8Array, src: DeviceBuffer, offset = 0): void {
    this.owned(src, 'copyToHost');
    this.range(src, offset, dst.length, 'copyToHost');
    dst.set(this.memory.view(src.phys + offset, dst.length));
  }

  async run(insnPhys: number, count: number, options: RunOptions = {}): Promise<RunResult> {
    this.live();
    const counters = simulate(this.config, this.memory, insnPhys, count, {
      machine: this.machine,
      budget: options.budget,
      observer: options.observer,
    });
    return { counters };
  }

  close(): void {
    this.closed = true;
    this.buffers.clear();
  }
}

const fsim: DriverInfo = {
  name: 'fsim',
  description: 'functional simulator in TypeScript (golden ISA semantics, instruction-level, no clock)',
  clocked: false,
  async open(config: VtaConfig): Promise<Driver> {
    return new FsimDriver(config);
  },
  unavailable: () => undefined,
};

export default fsim;

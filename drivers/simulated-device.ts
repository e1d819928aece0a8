/**
 * The part of a driver that simulated backends share: device memory on a DeviceMemory, with every
 * buffer handle checked (live, owned by this device, offsets inside it). A backend extends this
 * class and adds `run` and whatever `close` must release.
 */
import type { VtaConfig } from '../config/config.ts';
import { VtaError } from '../lib/errors.ts';
import type { DeviceBuffer, Driver, RunOptions, RunResult } from './api.ts';
import { DeviceMemory } from '../sim/memory.ts';

const hex = (n: number) => '0x' + n.toString(16);

export abstract class SimulatedDevice implements Driver {
  abstract readonly name: string;
  readonly config: VtaConfig;
  protected readonly memory = new DeviceMemory();
  /** Live buffers by physical address, so a stale or foreign handle is refused. */
  private readonly buffers = new Map<number, DeviceBuffer>();
  /** For memAllocAt buffers: the page-aligned start of the region that holds them. */
  private readonly regionOf = new WeakMap<DeviceBuffer, number>();
  private closed = false;

  constructor(config: VtaConfig) {
    this.config = config;
  }

  protected checkOpen(): void {
    if (this.closed) throw new VtaError('E_DRIVER', `${this.name} device is closed`);
  }

  private owned(buf: DeviceBuffer, what: string): void {
    this.checkOpen();
    if (this.buffers.get(buf.phys) !== buf) {
      throw new VtaError('E_DRIVER', `${what}: buffer at ${hex(buf.phys)} is not a live ${this.name} allocation`);
    }
  }

  private range(buf: DeviceBuffer, offset: number, length: number, what: string): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + length > buf.bytes) {
      throw new VtaError('E_DRIVER', `${what}: [${offset}, ${offset + length}) is outside the ${buf.bytes}-byte buffer at ${hex(buf.phys)}`);
    }
  }

  memAlloc(bytes: number): DeviceBuffer {
    this.checkOpen();
    const buf = { phys: this.memory.alloc(bytes).phys, bytes };
    this.buffers.set(buf.phys, buf);
    return buf;
  }

  memAllocAt(phys: number, bytes: number): DeviceBuffer {
    this.checkOpen();
    const region = this.memory.allocAt(phys, bytes);
    // The region starts at the page holding `phys`; the buffer is exactly what was asked for.
    const buf = { phys, bytes };
    this.buffers.set(phys, buf);
    this.regionOf.set(buf, region.phys);
    return buf;
  }

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

  abstract run(insnPhys: number, count: number, options?: RunOptions): Promise<RunResult>;

  close(): void {
    this.closed = true;
    this.buffers.clear();
  }
}

/**
 * The `fsim` driver: the Driver API (driver.h) on simulated device memory and the TypeScript
 * functional simulator. A device context owns one Machine, so SRAM persists across runs as on
 * hardware; every run starts with empty token queues (Decision 9).
 */
import type { VtaConfig } from '../../config/config.ts';
import { simulate, Machine } from '../../sim/index.ts';
import type { Driver, DriverInfo, RunOptions, RunResult } from '../api.ts';
import { SimulatedDevice } from '../simulated-device.ts';

class FsimDriver extends SimulatedDevice {
  readonly name = 'fsim';
  private readonly machine: Machine;

  constructor(config: VtaConfig) {
    super(config);
    this.machine = new Machine(config);
  }

  override async run(insnPhys: number, count: number, options: RunOptions = {}): Promise<RunResult> {
    this.checkOpen();
    const counters = simulate(this.config, this.memory, insnPhys, count, {
      machine: this.machine,
      budget: options.budget,
      observer: options.observer,
    });
    return { counters };
  }
}

const fsim: DriverInfo = {
  name: 'fsim',
  description: 'functional simulator in TypeScript (golden ISA semantics, instruction-level, no clock)',
  clocked: false,
  observes: true,
  async open(config: VtaConfig): Promise<Driver> {
    return new FsimDriver(config);
  },
  unavailable: () => undefined,
};

export default fsim;

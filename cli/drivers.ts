/** Opening drivers for CLI commands: one driver per distinct config, closed at the end. */
import type { VtaConfig } from '../config/config.ts';
import type { Driver } from '../drivers/api.ts';
import { memoryOpenOptions, type MemoryModel } from '../drivers/memory-model.ts';
import { getDriver } from '../drivers/registry.ts';

export class DriverPool {
  private open = new Map<string, Driver>();
  /** `memory`: the DRAM model each driver is opened with (refused by drivers without one). */
  constructor(
    private readonly name: string,
    private readonly memory?: MemoryModel,
  ) {}

  async get(cfg: VtaConfig): Promise<Driver> {
    let d = this.open.get(cfg.bitstream);
    if (!d) {
      const info = await getDriver(this.name);
      d = await info.open(cfg, memoryOpenOptions(info, this.memory));
      this.open.set(cfg.bitstream, d);
    }
    return d;
  }

  closeAll(): void {
    for (const d of this.open.values()) d.close();
    this.open.clear();
  }
}

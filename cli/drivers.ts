/** Opening drivers for CLI commands: one driver per distinct config, closed at the end. */
import type { VtaConfig } from '../config/config.ts';
import type { Driver } from '../drivers/api.ts';
import { getDriver } from '../drivers/registry.ts';

export class DriverPool {
  private open = new Map<string, Driver>();
  constructor(private readonly name: string) {}

  async get(cfg: VtaConfig): Promise<Driver> {
    let d = this.open.get(cfg.bitstream);
    if (!d) {
      d = await (await getDriver(this.name)).open(cfg);
      this.open.set(cfg.bitstream, d);
    }
    return d;
  }

  closeAll(): void {
    for (const d of this.open.values()) d.close();
    this.open.clear();
  }
}

/** getDriver checks availability for the config the driver will be opened with (tsim has one build per config). */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, makeConfig } from '../../config/config.ts';
import { getDriver } from '../../drivers/registry.ts';
import { addonPath } from '../../drivers/backends/tsim.ts';

describe('getDriver with a config', () => {
  it('refuses tsim for a config whose RTL is not built, naming that config and how to build it', async () => {
    // A shape no Makefile target builds: 1x32 blocks.
    const cfg = makeConfig({ ...defaultVtaConfig().json, LOG_BLOCK: 5, LOG_WGT_BUFF_SIZE: 20, LOG_ACC_BUFF_SIZE: 18 }, 'test config');
    expect(existsSync(addonPath(cfg))).toBe(false);
    await expect(getDriver('tsim', cfg)).rejects.toThrow(`driver 'tsim' is not available: the RTL is not built for config ${cfg.bitstream}: run vta build-rtl --config <that config's json>`);
    // fsim needs no build.
    expect((await getDriver('fsim', cfg)).name).toBe('fsim');
  });

  it.skipIf(!existsSync(addonPath(defaultVtaConfig())))('accepts tsim for the default config when its build exists', async () => {
    expect((await getDriver('tsim', defaultVtaConfig())).name).toBe('tsim');
  });
});

/**
 * The int4 conformance set (conformance/int4/, config/int4.json): complete, reproducible from its
 * generator, and replayed to exactly the expected bytes by every driver that can run the int4
 * config. A driver that cannot (tsim before `make -C hw rtl CONFIGS=config/int4.json`) is skipped
 * with the reason in the test's name.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, sameHardware } from '../../config/config.ts';
import { INT4_CONFIG_PATH, INT4_KIT, int4Bundles } from '../../conformance/generate-int4.ts';
import { loadBundle } from '../../drivers/bundle.ts';
import { listDrivers } from '../../drivers/registry.ts';
import { describeKitReplay } from './replay-kit.ts';

const cfg = loadConfig(INT4_CONFIG_PATH);
const NAMES = readdirSync(INT4_KIT)
  .filter((f) => f.endsWith('.bundle.json'))
  .map((f) => f.slice(0, -'.bundle.json'.length))
  .sort();

describe('the int4 conformance set', () => {
  it('has 24 bundles, each with its expected result, all for config/int4.json', () => {
    expect(NAMES.length).toBe(24);
    const files = new Set(readdirSync(INT4_KIT));
    for (const n of NAMES) {
      expect(files.has(`${n}.expected.json`), n).toBe(true);
      expect(sameHardware(loadBundle(join(INT4_KIT, `${n}.bundle.json`)).config, cfg), n).toBe(true);
    }
    expect(new Set(NAMES.map((n) => n.split('-')[0]))).toEqual(new Set(['alu', 'conv', 'gemm', 'load', 'mixed', 'store']));
  });

  it('is exactly what conformance/generate-int4.ts produces', () => {
    const generated = int4Bundles();
    expect(generated.map((g) => g.name)).toEqual(NAMES);
    for (const g of generated) expect(JSON.parse(readFileSync(join(INT4_KIT, `${g.name}.bundle.json`), 'utf8')), g.name).toEqual(g.bundle);
  });
});

for (const info of await listDrivers()) {
  const why = info.unavailable?.(cfg);
  if (why !== undefined) {
    it.skip(`driver ${info.name} on the int4 set: skipped, ${why}`, () => {});
    continue;
  }
  describeKitReplay(`driver ${info.name} on the int4 set`, info, INT4_KIT, NAMES);
}

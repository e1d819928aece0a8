/**
 * Every available driver replays every conformance bundle and must give exactly the expected
 * bytes (conformance/README.md). One case per bundle per driver.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type Bundle, compareOutputs, loadBundle, loadExpected, replayBundle } from '../../drivers/bundle.ts';
import type { Driver } from '../../drivers/api.ts';
import { listDrivers } from '../../drivers/registry.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'conformance');
const NAMES = readdirSync(DIR)
  .filter((f) => f.endsWith('.bundle.json'))
  .map((f) => f.slice(0, -'.bundle.json'.length))
  .sort();

const drivers = (await listDrivers()).filter((d) => d.unavailable?.() === undefined);

it('the conformance kit is complete (240 bundles, each with its expected result)', () => {
  expect(NAMES.length).toBe(240);
  const files = new Set(readdirSync(DIR));
  for (const n of NAMES) expect(files.has(`${n}.expected.json`), n).toBe(true);
  expect(drivers.map((d) => d.name)).toContain('fsim');
});

for (const info of drivers) {
  describe(`driver ${info.name}`, () => {
    // One device context per driver, as a host program would use it; replays free their memory.
    let driver: Driver | undefined;
    const open = async (b: Bundle) => (driver ??= await info.open(b.config));
    afterAll(() => driver?.close());

    for (const name of NAMES) {
      it(name, async () => {
        const bundle = loadBundle(join(DIR, `${name}.bundle.json`));
        const result = await replayBundle(await open(bundle), bundle);
        const mismatches = compareOutputs(result.outputs, loadExpected(join(DIR, `${name}.expected.json`)));
        expect(mismatches.map((m) => m.message)).toEqual([]);
      });
    }
  });
}

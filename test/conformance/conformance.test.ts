/**
 * Every available driver replays every conformance bundle and must give exactly the expected
 * bytes (conformance/README.md). One case per bundle per driver.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { listDrivers } from '../../drivers/registry.ts';
import { describeKitReplay } from './replay-kit.ts';

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

for (const info of drivers) describeKitReplay(`driver ${info.name}`, info, DIR, NAMES);

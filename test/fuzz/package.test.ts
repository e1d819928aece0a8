/**
 * Fuzzing compiled packages (.vtapkg): byte mutants of packages compiled from the example models.
 * Each case must run on fsim to exactly the graph reference it carries or be refused cleanly
 * (model-case.ts).
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openModel, writePackage } from '../../api/index.ts';
import { modelCase } from './model-case.ts';
import { mutateBytes } from './mutate.ts';
import { campaignSeeds, newReport, prng, runCase, summary } from './runner.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const PACKAGES = ['models/requant.onnx', 'models/cnn.onnx'].map((p) => writePackage(openModel(join(ROOT, p), { scales: 'vta' }).compiled));
const SEEDS = campaignSeeds(20, 1500);

it(`${SEEDS.length} package mutants run to the reference or are refused cleanly`, async () => {
  const report = newReport();
  for (const seed of SEEDS) {
    const r = prng(seed);
    const { value: bytes, category } = mutateBytes(r, r.pick(PACKAGES));
    await runCase(report, { target: 'package', seed, category, bytes, ext: 'vtapkg' }, () => modelCase(bytes, 'vtapkg', seed));
  }
  console.log(summary('package', report));
  for (const p of report.pending) console.log(p);
  expect(report.failures).toEqual([]);
});

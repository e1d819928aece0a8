/**
 * Fuzzing run bundles (`vta replay`, `vta conformance`): field mutants (a value replaced, removed,
 * retyped; an output renamed to a JavaScript object key) and byte mutants of conformance bundles,
 * replayed on fsim. Each case must replay (an unchanged program gives exactly its expected bytes,
 * every output is in the result) or be refused cleanly.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import fsim from '../../drivers/backends/fsim.ts';
import { compareOutputs, loadBundle, loadExpected, replayBundle } from '../../drivers/bundle.ts';
import { mutateBytes, mutateJson } from './mutate.ts';
import { campaignSeeds, newReport, prng, runCase, summary } from './runner.ts';

const KIT = join(import.meta.dirname, '..', '..', 'conformance');
const NAMES = ['alu-s1-legal-b1000', 'gemm-s2-any-b40000', 'load-s3-blocked-b123000', 'mixed-s10-legal-b2345'];
const SOURCES = NAMES.map((n) => ({ text: readFileSync(join(KIT, `${n}.bundle.json`), 'utf8'), expected: loadExpected(join(KIT, `${n}.expected.json`)) }));
const SEEDS = campaignSeeds(60, 3000);
const DIR = mkdtempSync(join(tmpdir(), 'vta-fuzz-bundle-'));
/** Fuzzed bundles stay small enough to replay quickly: a bigger work budget only slows the case. */
const BUDGET = 5_000_000;

it(`${SEEDS.length} bundle mutants replay correctly or are refused cleanly`, async () => {
  const report = newReport();
  for (const seed of SEEDS) {
    const r = prng(seed);
    const source = r.pick(SOURCES);
    const raw = JSON.parse(source.text) as { outputs: { name: string }[] };
    const mutant = r.bit(0.7) ? mutateJson(r, raw, raw.outputs.map((o) => o.name)) : undefined;
    const { value: bytes, category } = mutant ? { value: new TextEncoder().encode(JSON.stringify(mutant.value)), category: mutant.category } : mutateBytes(r, new TextEncoder().encode(source.text));
    await runCase(report, { target: 'bundle', seed, category, bytes, ext: 'bundle.json' }, async () => {
      const path = join(DIR, `seed-${seed}.bundle.json`);
      writeFileSync(path, bytes);
      const bundle = loadBundle(path);
      const driver = await fsim.open(bundle.config);
      try {
        const { outputs } = await replayBundle(driver, bundle, { budget: BUDGET });
        const missing = bundle.outputs.filter((o) => !Object.hasOwn(outputs, o.name) || outputs[o.name]!.length !== o.bytes);
        if (missing.length) return { kind: 'failed', why: `output ${missing[0]!.name} is missing from the result or has the wrong size` };
        const sameProgram = JSON.stringify(JSON.parse(source.text).memory) === JSON.stringify(bundle.memory) && bundle.insn.count === (JSON.parse(source.text) as { insn: { count: number } }).insn.count;
        if (sameProgram && Object.keys(source.expected).every((n) => Object.hasOwn(outputs, n))) {
          const diff = compareOutputs(Object.fromEntries(Object.keys(source.expected).map((n) => [n, outputs[n]!])), source.expected);
          if (diff.length) return { kind: 'failed', why: `an unchanged program gives other bytes: ${diff[0]!.message}` };
        }
      } finally {
        driver.close();
      }
    });
  }
  console.log(summary('bundle', report));
  for (const p of report.pending) console.log(p);
  expect(report.failures).toEqual([]);
});

/**
 * Fuzzing vta-graph/1 JSON models: field mutants (a value replaced, removed, retyped, nested deep,
 * an array grown, a tensor renamed to a JavaScript object key) and byte mutants of the JSON text of
 * imported example models. Each case must compile and run on fsim to exactly the graph reference or
 * be refused cleanly (model-case.ts).
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { importOnnx } from '../../api/index.ts';
import { modelCase } from './model-case.ts';
import { mutateBytes, mutateJson } from './mutate.ts';
import { campaignSeeds, newReport, prng, runCase, summary } from './runner.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const GRAPHS = ['models/requant.onnx', 'models/cnn.onnx'].map((p) => importOnnx(join(ROOT, p), { scales: 'vta' }).graph);
const SEEDS = campaignSeeds(20, 1500);

it(`${SEEDS.length} JSON-model mutants compile and run to the reference or are refused cleanly`, async () => {
  const report = newReport();
  for (const seed of SEEDS) {
    const r = prng(seed);
    const graph = r.pick(GRAPHS);
    const text = new TextEncoder().encode(JSON.stringify(graph));
    const names = [...graph.inputs.map((i) => i.name), ...graph.outputs];
    const mutant = r.bit(0.75) ? mutateJson(r, JSON.parse(JSON.stringify(graph)), names) : undefined;
    const { value: bytes, category } = mutant ? { value: new TextEncoder().encode(JSON.stringify(mutant.value)), category: mutant.category } : mutateBytes(r, text);
    await runCase(report, { target: 'json-model', seed, category, bytes, ext: 'json' }, () => modelCase(bytes, 'json', seed));
  }
  console.log(summary('json-model', report));
  for (const p of report.pending) console.log(p);
  expect(report.failures).toEqual([]);
});

/**
 * Fuzzing ONNX import: byte mutants and field mutants (one field of the decoded ModelProto changed,
 * or a tensor renamed to a JavaScript object key) of the example models. Each case must compile and
 * run on fsim to exactly the graph reference (and load in onnxruntime, which is the judge of a valid
 * model) or be refused cleanly (model-case.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { onnx } from 'onnx-proto';
import { modelCase } from './model-case.ts';
import { type Mutant, mutateBytes, mutateJson } from './mutate.ts';
import { type Rand, campaignSeeds, newReport, prng, runCase, summary } from './runner.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const MODELS = ['models/requant.onnx', 'models/cnn.onnx'].map((p) => readFileSync(join(ROOT, p)));
const SEEDS = campaignSeeds(20, 1500);

const TO_OBJECT = { longs: Number, bytes: String, enums: Number, defaults: false } as const;

/** A field mutant: decode, change one field, encode (a mutant protobufjs cannot encode becomes a byte mutant). */
function mutateFields(r: Rand, bytes: Uint8Array): Mutant<Uint8Array> {
  const obj = onnx.ModelProto.toObject(onnx.ModelProto.decode(bytes), TO_OBJECT) as { graph?: { input?: { name: string }[]; output?: { name: string }[] } };
  const names = [...(obj.graph?.input ?? []), ...(obj.graph?.output ?? [])].map((v) => v.name);
  const { value, category } = mutateJson(r, obj, names);
  try {
    return { value: onnx.ModelProto.encode(onnx.ModelProto.fromObject(value as object)).finish(), category };
  } catch {
    return mutateBytes(r, bytes);
  }
}

it(`${SEEDS.length} ONNX mutants compile and run to the reference or are refused cleanly`, async () => {
  const report = newReport();
  for (const seed of SEEDS) {
    const r = prng(seed);
    const model = r.pick(MODELS);
    const { value: bytes, category } = r.bit() ? mutateBytes(r, model) : mutateFields(r, model);
    await runCase(report, { target: 'onnx', seed, category, bytes, ext: 'onnx' }, () => modelCase(bytes, 'onnx', seed));
  }
  console.log(summary('onnx', report));
  for (const p of report.pending) console.log(p);
  expect(report.failures).toEqual([]);
});

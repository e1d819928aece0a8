/**
 * The example models import to the same graph, inputs, outputs, notes and approximations as
 * before the importer was split into read / quant / ops / import: a digest of each import, per
 * scales mode, pinned (a refusal is pinned by its message).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importOnnx, SCALE_MODES } from '../../frontend/onnx/import.ts';

const MODELS = join(import.meta.dirname, '..', '..', 'models');

// Re-pinned for issue 9: float32 input/output (quantize / dequantize at the edges), half-even
// rounding by default, the ImportedTensor records; 'requant exact' (a refusal) is unchanged.
const PINNED = new Map<string, string>([
  ['cnn exact', '5c450b61ce0d80fe'], ['cnn vta', '5c450b61ce0d80fe'], ['cnn host', '5c450b61ce0d80fe'], ['cnn pow2', '5c450b61ce0d80fe'],
  ['mlp exact', '6d3cfa33749e1310'], ['mlp vta', '6d3cfa33749e1310'], ['mlp host', '6d3cfa33749e1310'], ['mlp pow2', '6d3cfa33749e1310'],
  ['requant exact', 'e03ce8ccb9d033da'], ['requant vta', 'a9d7374be38f6691'], ['requant host', '912c7f9b27d4acd3'], ['requant pow2', '9d48b8867c94d6a1'],
]);

/** The graph as `vta import` writes it, then everything else the import reports. */
function digest(model: string, scales: (typeof SCALE_MODES)[number]): string {
  let text: string;
  try {
    const r = importOnnx(readFileSync(join(MODELS, `${model}.onnx`)), { scales });
    text = JSON.stringify(r.graph, null, 1) + JSON.stringify([r.inputs, r.outputs, r.notes, r.approximations]);
  } catch (e) {
    text = (e as Error).message;
  }
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

describe('example model imports are pinned', () => {
  for (const [key, want] of PINNED) {
    const [model, scales] = key.split(' ') as [string, (typeof SCALE_MODES)[number]];
    it(`${model}.onnx with scales ${scales}`, () => expect(digest(model, scales)).toBe(want));
  }
});

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
  ['cnn exact', 'd7d99975464584a6'], ['cnn vta', 'd7d99975464584a6'], ['cnn host', 'd7d99975464584a6'], ['cnn pow2', 'd7d99975464584a6'],
  ['mlp exact', '9f041cd0d20d3979'], ['mlp vta', '9f041cd0d20d3979'], ['mlp host', '9f041cd0d20d3979'], ['mlp pow2', '9f041cd0d20d3979'],
  ['requant exact', 'e03ce8ccb9d033da'], ['requant vta', '187d0be682b5c762'], ['requant host', '12a08c3050a6fe62'], ['requant pow2', '4c6c2370cebfbc04'],
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

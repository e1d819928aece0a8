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

const PINNED = new Map<string, string>([
  ['cnn exact', 'f0a23d5914ae80a3'], ['cnn vta', 'f0a23d5914ae80a3'], ['cnn host', 'f0a23d5914ae80a3'], ['cnn pow2', 'f0a23d5914ae80a3'],
  ['mlp exact', '04ea563f44fa3891'], ['mlp vta', '04ea563f44fa3891'], ['mlp host', '04ea563f44fa3891'], ['mlp pow2', '04ea563f44fa3891'],
  ['requant exact', 'e03ce8ccb9d033da'], ['requant vta', '26a5a7c9640d4b1d'], ['requant host', '452f852086ad593c'], ['requant pow2', '4a8568de7adea834'],
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

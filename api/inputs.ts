/**
 * Inputs for a model: .npy files checked against the model's input types, and seeded random
 * tensors for the inputs no file is given for.
 */
import { type DType, DTYPE_INFO } from '../lib/dtype.ts';
import type { Tensor } from '../graph/ir.ts';
import { readFileOrFail } from '../lib/files.ts';
import { parseNpy } from '../lib/npy.ts';
import { mulberry32 } from '../lib/random.ts';
import { batchesOf, countBatches } from './batches.ts';
import type { Model } from './open.ts';
import { FILE_LIMITS } from '../lib/limits.ts';

/** Seeded random tensor: 8-bit types over their full range, int32 within ±2^10, float32 in [-1, 1). */
export function randomInput(shape: number[], dtype: DType, seed: number): Tensor {
  const next = mulberry32(seed);
  const n = shape.reduce((x, y) => x * y, 1);
  const data = DTYPE_INFO[dtype].alloc(n);
  if (dtype === 'float32') {
    for (let i = 0; i < n; i++) data[i] = 2 * next() - 1;
    return { shape, dtype, data };
  }
  const [lo, span] = dtype === 'int32' ? [-1024, 2048] : [DTYPE_INFO[dtype].min, 256];
  for (let i = 0; i < n; i++) data[i] = lo + Math.floor(next() * span);
  return { shape, dtype, data };
}

/**
 * Every input of the model: read from `files` (input name → .npy path) when named there, else
 * random with seed `seed + k` for the k-th input. A file holds the input's dtype and shape, or k
 * batches of it (first dimension k × the model's batch, the same k for every input); anything else
 * is refused in one line naming the file and the dtype and shape expected.
 */
export async function modelInputs(model: Pick<Model, 'graph'>, files: ReadonlyMap<string, string> = new Map(), seed = 0): Promise<Map<string, Tensor>> {
  const inputs = new Map<string, Tensor>();
  for (const [n, i] of model.graph.inputs.entries()) {
    const f = files.get(i.name);
    if (!f) {
      inputs.set(i.name, randomInput(i.shape, i.dtype, seed + n));
      continue;
    }
    const a = parseNpy(await readFileOrFail(f, FILE_LIMITS.tensor), f);
    batchesOf(i, a, f);
    inputs.set(i.name, a);
  }
  // Random inputs are one batch: with files of several batches, every input must come from a file.
  countBatches(model.graph, inputs, (name) => files.get(name) ?? `input ${name} (random, one batch)`);
  return inputs;
}

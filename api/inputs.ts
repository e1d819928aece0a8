/**
 * Inputs for a model: .npy files checked against the model's input types, and seeded random
 * tensors for the inputs no file is given for.
 */
import { compileError } from '../compiler/errors.ts';
import { type DType, DTYPE_INFO } from '../lib/dtype.ts';
import type { Tensor } from '../graph/ir.ts';
import { readFileOrFail } from '../lib/files.ts';
import { parseNpy } from '../lib/npy.ts';
import { mulberry32 } from '../lib/random.ts';
import type { Model } from './open.ts';

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
 * random with seed `seed + k` for the k-th input. A file of another type or shape is refused.
 */
export async function modelInputs(model: Pick<Model, 'graph'>, files: ReadonlyMap<string, string> = new Map(), seed = 0): Promise<Map<string, Tensor>> {
  const inputs = new Map<string, Tensor>();
  for (const [n, i] of model.graph.inputs.entries()) {
    const f = files.get(i.name);
    if (!f) {
      inputs.set(i.name, randomInput(i.shape, i.dtype, seed + n));
      continue;
    }
    const a = parseNpy(await readFileOrFail(f), f);
    if (a.dtype !== i.dtype || a.shape.join(',') !== i.shape.join(',')) {
      throw compileError('E_INPUT', f, `${a.dtype}[${a.shape.join(',')}] but input ${i.name} is ${i.dtype}[${i.shape.join(',')}]`);
    }
    inputs.set(i.name, a);
  }
  return inputs;
}

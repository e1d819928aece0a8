/** Small helpers the semantic functions share: allocation, strides, broadcasting. */
import { DTYPE_INFO } from '../../lib/dtype.ts';
import type { Tensor, TensorType } from '../ir.ts';

export function alloc(t: TensorType): Tensor {
  return { shape: [...t.shape], dtype: t.dtype, data: DTYPE_INFO[t.dtype].alloc(t.shape.reduce((a, b) => a * b, 1)) };
}

/** Row-major strides of a shape. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let k = shape.length - 2; k >= 0; k--) s[k] = s[k + 1]! * shape[k + 1]!;
  return s;
}

/**
 * For each element of `out` (row-major), the index of the element of an input of shape `shape`
 * that NumPy broadcasting pairs with it.
 */
export function broadcastIndex(shape: readonly number[], out: readonly number[]): Int32Array {
  const total = out.reduce((a, b) => a * b, 1);
  const idx = new Int32Array(total);
  const rank = out.length;
  const inStrides = strides(shape);
  // Stride of each output axis in the input: 0 where the input has size 1 or lacks the axis.
  const step = out.map((_, k) => {
    const j = k - (rank - shape.length);
    return j < 0 || shape[j] === 1 ? 0 : inStrides[j]!;
  });
  const pos = new Array<number>(rank).fill(0);
  let at = 0;
  for (let i = 0; i < total; i++) {
    idx[i] = at;
    for (let k = rank - 1; k >= 0; k--) {
      pos[k]!++;
      at += step[k]!;
      if (pos[k]! < out[k]!) break;
      at -= step[k]! * pos[k]!;
      pos[k] = 0;
    }
  }
  return idx;
}

/** Top-1 accuracy of a classifier's output against class labels (a 1-D integer .npy). */
import { argmaxRows } from '../lib/argmax.ts';
import { VtaError } from '../lib/errors.ts';
import { readFileOrFail } from '../lib/files.ts';
import { parseNpy, type NpyArray } from '../lib/npy.ts';
import type { Tensor } from '../graph/ir.ts';
import { FILE_LIMITS } from '../lib/limits.ts';

/** Class labels: a 1-D integer .npy (int8, uint8, int32, or NumPy's default int64), one per sample. */
export async function readLabels(file: string): Promise<NpyArray> {
  const a = parseNpy(await readFileOrFail(file, FILE_LIMITS.tensor), file, { int64AsInt32: true });
  if (a.dtype === 'float32' || a.shape.length !== 1) throw new VtaError('E_USAGE', `${file}: labels must be a 1-D integer array (one class per sample), got ${a.dtype}[${a.shape.join(',')}]`);
  return a;
}

export interface TopOne {
  correct: number;
  total: number;
}

/** Rows of `output` (its last axis holds the class scores) whose argmax is the row's label. */
export function topOneAccuracy(output: Pick<Tensor, 'data' | 'shape'>, labels: NpyArray, names: { output: string; labels: string }): TopOne {
  const classes = output.shape[output.shape.length - 1] ?? 1;
  const rows = output.data.length / classes;
  if (labels.shape[0] !== rows) throw new VtaError('E_USAGE', `${names.labels}: ${labels.shape[0]} labels for ${rows} rows of output ${names.output} [${output.shape.join(',')}]`);
  const picked = argmaxRows(output.data, classes);
  const correct = picked.filter((c, r) => c === Number(labels.data[r])).length;
  return { correct, total: rows };
}

/**
 * k batches in one tensor: an input whose first dimension is k × the model's batch holds k batches,
 * run one after the other through the same compiled program; the outputs of the k runs are joined
 * along axis 0 again. The model's own shapes stay fixed (batch as compiled).
 */
import { compileError } from '../compiler/errors.ts';
import type { Graph, Tensor } from '../graph/ir.ts';
import { DTYPE_INFO } from '../lib/dtype.ts';

type InputSpec = Graph['inputs'][number];

const batchWord = (k: number) => `${k} batch${k === 1 ? '' : 'es'}`;

const typeText = (dtype: string, shape: number[]) => `${dtype}[${shape.join(',')}]`;

/** What an input accepts: its type, or the same with a first dimension k times as large. */
function accepted(spec: InputSpec): string {
  const [n, ...rest] = spec.shape;
  const many = n === 1 ? 'k' : `k·${n}`;
  return `${typeText(spec.dtype, spec.shape)} (or ${spec.dtype}[${[many, ...rest].join(',')}] for k batches)`;
}

/** How many batches `t` holds for input `spec`; `where` (a file, or the input) names it in errors. */
export function batchesOf(spec: InputSpec, t: Tensor, where: string): number {
  const [n, ...rest] = spec.shape;
  const [tn, ...trest] = t.shape;
  if (t.dtype !== spec.dtype || tn === undefined || trest.join(',') !== rest.join(',')) {
    throw compileError('E_INPUT', where, `${typeText(t.dtype, t.shape)} but input ${spec.name} is ${accepted(spec)}`);
  }
  if (tn === 0 || tn % n! !== 0) {
    throw compileError('E_INPUT', where, `first dimension ${tn} is not a multiple of input ${spec.name}'s batch ${n} (${typeText(spec.dtype, spec.shape)})`);
  }
  return tn / n!;
}

/**
 * The number of batches k every input holds (the same for all); `where` names an input's source
 * in errors (its file, or the input itself).
 */
export function countBatches(graph: Graph, inputs: ReadonlyMap<string, Tensor>, where: (input: string) => string = (i) => `input ${i}`): number {
  let k: number | undefined;
  let first = '';
  for (const spec of graph.inputs) {
    const t = inputs.get(spec.name);
    if (!t) throw compileError('E_INPUT', undefined, `graph input ${spec.name} is missing`);
    const kHere = batchesOf(spec, t, where(spec.name));
    if (k !== undefined && kHere !== k) {
      throw compileError('E_INPUT', where(spec.name), `holds ${batchWord(kHere)} of input ${spec.name} but ${first} holds ${batchWord(k)}: every input must hold the same number`);
    }
    k ??= kHere;
    first ||= where(spec.name);
  }
  return k ?? 1;
}

/** Batch `b` of `k` in `t` (a view when k is 1). */
export function sliceBatch(t: Tensor, b: number, k: number): Tensor {
  if (k === 1) return t;
  const per = t.data.length / k;
  return { dtype: t.dtype, shape: [t.shape[0]! / k, ...t.shape.slice(1)], data: t.data.slice(b * per, (b + 1) * per) };
}

/** The k tensors joined along axis 0. */
export function concatBatches(parts: Tensor[]): Tensor {
  if (parts.length === 1) return parts[0]!;
  const first = parts[0]!;
  const per = first.data.length;
  const data = DTYPE_INFO[first.dtype].alloc(per * parts.length);
  parts.forEach((p, b) => data.set(p.data as never, b * per));
  return { dtype: first.dtype, shape: [first.shape[0]! * parts.length, ...first.shape.slice(1)], data };
}

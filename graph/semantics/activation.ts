/** Float32 activations and reductions (host only), as ONNX defines them. */
import type { OpAttrs, Tensor } from '../ir.ts';
import { normalizeAxis } from '../load.ts';

export function sigmoid(x: Tensor, out: Tensor): void {
  for (let k = 0; k < out.data.length; k++) out.data[k] = 1 / (1 + Math.exp(-x.data[k]!));
}

export function hardSigmoid(x: Tensor, out: Tensor, a: OpAttrs['hard_sigmoid']): void {
  const alpha = Math.fround(a.alpha ?? 0.2);
  const beta = Math.fround(a.beta ?? 0.5);
  for (let k = 0; k < out.data.length; k++) out.data[k] = Math.max(0, Math.min(1, alpha * x.data[k]! + beta));
}

export function hardSwish(x: Tensor, out: Tensor): void {
  for (let k = 0; k < out.data.length; k++) {
    const v = x.data[k]!;
    out.data[k] = v * Math.max(0, Math.min(1, v / 6 + 0.5));
  }
}

export function softmax(x: Tensor, out: Tensor, a: OpAttrs['softmax'], where: string): void {
  const axis = normalizeAxis(where, a.axis ?? -1, x.shape.length);
  const n = x.shape[axis]!;
  const inner = x.shape.slice(axis + 1).reduce((p, q) => p * q, 1);
  const outer = x.data.length / (n * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => (o * n + j) * inner + i;
      let max = -Infinity;
      for (let j = 0; j < n; j++) max = Math.max(max, x.data[at(j)]!);
      let sum = 0;
      for (let j = 0; j < n; j++) sum += Math.exp(x.data[at(j)]! - max);
      for (let j = 0; j < n; j++) out.data[at(j)] = Math.exp(x.data[at(j)]! - max) / sum;
    }
  }
}

export function reduceMean(x: Tensor, out: Tensor, a: OpAttrs['reduce_mean'], where: string): void {
  const r = x.shape.length;
  const axes = new Set((a.axes ?? x.shape.map((_, k) => k)).map((ax) => normalizeAxis(where, ax, r)));
  const sums = new Float64Array(out.data.length);
  // Output index of each input element: drop (or zero) the reduced coordinates.
  const keptShape = x.shape.map((d, k) => (axes.has(k) ? 1 : d));
  let count = 1;
  for (const ax of axes) count *= x.shape[ax]!;
  const coord = new Array<number>(r).fill(0);
  for (let k = 0; k < x.data.length; k++) {
    let o = 0;
    for (let d = 0; d < r; d++) o = o * keptShape[d]! + (axes.has(d) ? 0 : coord[d]!);
    sums[o]! += x.data[k]!;
    for (let d = r - 1; d >= 0; d--) {
      if (++coord[d]! < x.shape[d]!) break;
      coord[d] = 0;
    }
  }
  for (let o = 0; o < out.data.length; o++) out.data[o] = sums[o]! / count;
}

/** Data movement: reshape, pad, concat, transpose (any dtype; values are copied, never changed). */
import type { OpAttrs, Tensor } from '../ir.ts';
import { normalizeAxis } from '../load.ts';
import { strides } from './tensor.ts';

export function copy(x: Tensor, out: Tensor): void {
  out.data.set(x.data);
}

export function pad(x: Tensor, out: Tensor, a: OpAttrs['pad']): void {
  const r = x.shape.length;
  out.data.fill(a.value ?? 0);
  const inS = strides(x.shape);
  const outS = strides(out.shape);
  // Row by row: the innermost dimension stays contiguous in the padded output.
  const row = x.shape[r - 1]!;
  for (let k = 0; k < x.data.length; k += row) {
    let o = a.pads[r - 1]!;
    for (let d = 0; d < r - 1; d++) o += (Math.floor(k / inS[d]!) % x.shape[d]! + a.pads[d]!) * outS[d]!;
    out.data.set(x.data.subarray(k, k + row), o);
  }
}

export function concat(ins: Tensor[], out: Tensor, a: OpAttrs['concat'], where: string): void {
  const axis = normalizeAxis(where, a.axis, out.shape.length);
  const outer = out.shape.slice(0, axis).reduce((p, q) => p * q, 1);
  const inner = out.shape.slice(axis + 1).reduce((p, q) => p * q, 1);
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const t of ins) {
      const run = t.shape[axis]! * inner;
      out.data.set(t.data.subarray(o * run, (o + 1) * run), at);
      at += run;
    }
  }
}

export function transpose(x: Tensor, out: Tensor, a: OpAttrs['transpose']): void {
  const r = x.shape.length;
  const perm = a.perm ?? x.shape.map((_, k) => r - 1 - k);
  const inS = strides(x.shape);
  const outS = strides(out.shape);
  for (let o = 0; o < out.data.length; o++) {
    let i = 0;
    for (let d = 0; d < r; d++) i += (Math.floor(o / outS[d]!) % out.shape[d]!) * inS[perm[d]!]!;
    out.data[o] = x.data[i]!;
  }
}

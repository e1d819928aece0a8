/** Integer requantization, saturation, casts, and the float ↔ integer (de)quantization. */
import { DTYPE_INFO } from '../../lib/dtype.ts';
import type { OpAttrs, Tensor } from '../ir.ts';
import { normalizeAxis } from '../load.ts';
import { requantizeFloat, roundHalfEven, roundingShift } from './rounding.ts';

export function requantize(x: Tensor, perChannel: Tensor | undefined, out: Tensor, a: OpAttrs['requantize']): void {
  const { shift } = a;
  const n = out.data.length;
  const inner = x.shape.slice(2).reduce((p, q) => p * q, 1);
  const channels = x.shape[1] ?? 1;
  const multiplierAt = (k: number): number => (perChannel ? perChannel.data[Math.floor(k / inner) % channels]! : (a.multiplier ?? 1));
  const halfEven = a.rounding === 'half_even';
  for (let k = 0; k < n; k++) out.data[k] = roundingShift(Math.imul(x.data[k]!, multiplierAt(k)), shift, halfEven);
}

export function requantizeByFloat(x: Tensor, out: Tensor, scale: number): void {
  for (let k = 0; k < out.data.length; k++) out.data[k] = requantizeFloat(x.data[k]!, scale);
}

export function clip(x: Tensor, out: Tensor, a: OpAttrs['clip']): void {
  for (let k = 0; k < out.data.length; k++) out.data[k] = Math.min(Math.max(x.data[k]!, a.min), a.max);
}

export function relu(x: Tensor, out: Tensor): void {
  for (let k = 0; k < out.data.length; k++) out.data[k] = Math.max(x.data[k]!, 0);
}

/** Integer targets wrap (the typed array's store does it); float sources truncate toward zero first. */
export function cast(x: Tensor, out: Tensor): void {
  const truncate = x.dtype === 'float32' && DTYPE_INFO[out.dtype].integer;
  for (let k = 0; k < out.data.length; k++) {
    const v = x.data[k]!;
    out.data[k] = truncate ? (Number.isFinite(v) ? Math.trunc(v) % 2 ** 32 : 0) : v;
  }
}

/** Index of the scale / zero point that applies to each element. */
function paramIndex(x: Tensor, count: number, axis: number, where: string): (k: number) => number {
  if (count === 1) return () => 0;
  const ax = normalizeAxis(where, axis, x.shape.length);
  const inner = x.shape.slice(ax + 1).reduce((p, q) => p * q, 1);
  return (k) => Math.floor(k / inner) % x.shape[ax]!;
}

export function quantize(x: Tensor, out: Tensor, a: OpAttrs['quantize'], where: string): void {
  const { min, max } = DTYPE_INFO[a.dtype];
  const at = paramIndex(x, a.scale.length, a.axis ?? 1, where);
  const scales = a.scale.map(Math.fround);
  for (let k = 0; k < out.data.length; k++) {
    const i = at(k);
    const q = roundHalfEven(Math.fround(x.data[k]! / scales[i]!)) + a.zero_point[i]!;
    out.data[k] = Math.min(max, Math.max(min, q));
  }
}

export function dequantize(x: Tensor, out: Tensor, a: OpAttrs['dequantize'], where: string): void {
  const at = paramIndex(x, a.scale.length, a.axis ?? 1, where);
  const scales = a.scale.map(Math.fround);
  for (let k = 0; k < out.data.length; k++) {
    const i = at(k);
    out.data[k] = Math.fround((x.data[k]! - a.zero_point[i]!) * scales[i]!);
  }
}

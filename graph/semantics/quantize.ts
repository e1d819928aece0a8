/** Integer requantization, saturation, casts, and the float ↔ integer (de)quantization. */
import { DTYPE_INFO, type TypedData } from '../../lib/dtype.ts';
import type { OpAttrs, Tensor } from '../ir.ts';
import { normalizeAxis } from '../load.ts';
import { requantizeFloat, roundHalfEvenToInteger, roundingShift } from './rounding.ts';

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

/**
 * Call `run(from, to, i)` for each contiguous run of elements that share scale / zero point `i`:
 * one run for a per-tensor scale, else one per (outer index, channel). The element loops then
 * carry no per-element index arithmetic (this runs on every inference's input).
 */
function forEachParamRun(x: Tensor, count: number, axis: number, where: string, run: (from: number, to: number, i: number) => void): void {
  const n = x.data.length;
  if (count === 1) return run(0, n, 0);
  const ax = normalizeAxis(where, axis, x.shape.length);
  const inner = x.shape.slice(ax + 1).reduce((p, q) => p * q, 1);
  const channels = x.shape[ax]!;
  for (let from = 0, k = 0; from < n; from += inner, k++) run(from, from + inner, k % channels);
}

export function quantize(x: Tensor, out: Tensor, a: OpAttrs['quantize'], where: string): void {
  const { min, max } = DTYPE_INFO[a.dtype];
  const scales = a.scale.map(Math.fround);
  forEachParamRun(x, a.scale.length, a.axis ?? 1, where, (from, to, i) => quantizeRun(x.data, out.data, from, to, scales[i]!, a.zero_point[i]!, min, max));
}

/** Elements [from, to): round half to even of the float32 quotient, plus the zero point, saturated. */
function quantizeRun(src: TypedData, dst: TypedData, from: number, to: number, scale: number, zeroPoint: number, min: number, max: number): void {
  for (let k = from; k < to; k++) {
    const q = roundHalfEvenToInteger(Math.fround(src[k]! / scale)) + zeroPoint;
    dst[k] = Math.min(max, Math.max(min, q));
  }
}

export function dequantize(x: Tensor, out: Tensor, a: OpAttrs['dequantize'], where: string): void {
  const scales = a.scale.map(Math.fround);
  forEachParamRun(x, a.scale.length, a.axis ?? 1, where, (from, to, i) => dequantizeRun(x.data, out.data, from, to, scales[i]!, a.zero_point[i]!));
}

function dequantizeRun(src: TypedData, dst: TypedData, from: number, to: number, scale: number, zeroPoint: number): void {
  for (let k = from; k < to; k++) dst[k] = Math.fround((src[k]! - zeroPoint) * scale);
}

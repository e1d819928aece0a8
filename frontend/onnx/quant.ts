/**
 * The scale and zero-point analysis of the importer. Every ONNX value is tracked as
 * `value = scale · integer`: dequantizing only changes the scale, QuantizeLinear becomes a
 * requantization from the value's scale to the new one. Quantization must be symmetric (zero
 * points 0) and per-tensor. A ratio r = input scale / output scale that is a power of two 2^-n
 * becomes a right shift by n; any other ratio is handled as the `scales` mode says (see
 * SCALE_MODES and frontend/fixed-point.ts for 'vta').
 */
import type { DType } from '../../graph/ir.ts';
import { chooseFixedPoint } from '../fixed-point.ts';
import type { GraphBuilder, QConst, TensorValue } from './builder.ts';
import { ELEM, elemName, fail } from './read.ts';

export type { QConst, TensorValue };

/**
 * Requantization ratios that are not powers of two: 'exact' (default) refuses them, 'vta'
 * approximates them by m/2^s on VTA's ALU, 'host' requantizes on the host with ONNX's float
 * semantics, 'pow2' rounds them to a power of two (up to ±41% error).
 */
export const SCALE_MODES = ['exact', 'vta', 'host', 'pow2'] as const;
export type ScaleMode = (typeof SCALE_MODES)[number];

/** What an ONNX value name stands for while importing. */
export type Value =
  | { kind: 'const'; elem: number; dims: number[]; data: number[] }
  | QConst
  | TensorValue
  | { kind: 'floatInput'; name: string; shape: number[] };

export interface Approximation {
  node: string;
  ratio: number;
  multiplier: number;
  shift: number;
  relError: number;
  /** Static bound of |accumulator| the error bound is computed from. */
  accBound: number;
  /** Largest error before rounding, in output units. */
  errorBound: number;
  /** Largest difference of the integer output from exact (ONNX) rounding. */
  outputBound: number;
}

export const sameScale = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));

export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// --- constant operands, each refusal naming the node and operand -----------------------------------

export function scalar(v: Value | undefined, where: string, role: string): number {
  if (!v || v.kind !== 'const') fail(`${where}: ${role} must be a constant`);
  if (v.data.length !== 1) fail(`${where}: ${role} has ${v.data.length} values: per-channel quantization is not supported (use per-tensor scales)`);
  return v.data[0]!;
}

export function positiveScale(v: Value | undefined, where: string, role: string): number {
  const s = scalar(v, where, role);
  if (!(s > 0) || !Number.isFinite(s)) fail(`${where}: ${role} ${s} must be positive`);
  return s;
}

export function checkZeroPoint(v: Value | undefined, where: string, allowed: number[], required: boolean): void {
  if (!v) {
    if (required) fail(`${where}: no zero point means uint8 quantization, which is not supported (quantize to int8, symmetric)`);
    return;
  }
  if (v.kind !== 'const') fail(`${where}: zero point must be a constant`);
  if (v.elem === ELEM.uint8) fail(`${where}: uint8 quantization is not supported (quantize to int8, symmetric)`);
  if (!allowed.includes(v.elem)) fail(`${where}: zero point type ${elemName(v.elem)} is not supported`);
  if (v.data.some((z) => z !== 0)) fail(`${where}: zero point ${v.data.find((z) => z !== 0)} is not 0: only symmetric quantization is supported`);
}

/** A constant integer operand (weights), with its scale. */
export function weights(v: Value | undefined, where: string, role: string, dtype: DType = 'int8'): QConst {
  if (v?.kind === 'qconst' && v.dtype === dtype) return v;
  if (v?.kind === 'const' && v.elem === (dtype === 'int8' ? ELEM.int8 : ELEM.int32)) return { kind: 'qconst', dtype, dims: v.dims, data: v.data, scale: 1 };
  if (v?.kind === 'const' && v.elem === ELEM.float) fail(`${where}: ${role} is a float constant: the model must quantize its weights (QDQ or QLinear* form)`);
  fail(`${where}: ${role} must be a constant ${dtype} tensor (dequantized weights)`);
}

/** Requantizations, biases and tensor operands of the graph being built, with the notes they leave. */
export class Quantization {
  readonly notes: string[] = [];
  readonly approximations: Approximation[] = [];

  constructor(private readonly b: GraphBuilder, private readonly mode: ScaleMode) {}

  tensor(v: Value | undefined, where: string, role: string): TensorValue {
    if (!v) fail(`${where}: ${role} is missing`);
    if (v.kind === 'tensor') return v;
    if (v.kind === 'qconst') return this.b.constant(v, `${where.split(' ')[1]}.${role}`);
    if (v.kind === 'floatInput') fail(`${where}: ${role} is the float graph input '${v.name}': it must go through QuantizeLinear first`);
    fail(`${where}: ${role} is an unquantized ${elemName(v.elem)} constant`);
  }

  int8(v: Value | undefined, where: string, role: string): TensorValue {
    const t = this.tensor(v, where, role);
    if (t.dtype !== 'int8') fail(`${where}: ${role} is an int32 (accumulator) value: quantize it to int8 before this op`);
    return t;
  }

  /** int8 tensor holding round(value / s), saturated: the IR form of QuantizeLinear. */
  requantize(t: TensorValue, s: number, where: string, base: string): TensorValue {
    const ratio = t.scale / s;
    let shift = -Math.log2(ratio);
    if (!sameScale(ratio, 1) && !(Number.isInteger(shift) && shift >= 1 && shift <= 31)) {
      const rounded = Math.round(shift);
      const what = `requantization ratio ${+ratio.toPrecision(6)} (scale ${+t.scale.toPrecision(6)} → ${+s.toPrecision(6)})`;
      if (this.mode === 'vta') return this.requantizeFixedPoint(t, ratio, s, where, base);
      if (this.mode === 'host') {
        this.notes.push(`${where}: ${what} is not a power of two: requantized on the host with ONNX's float semantics`);
        return this.saturate(this.b.emit('requantize_float', [t.ir], `${base}.requantize`, { scale: ratio }, s), s, base);
      }
      if (this.mode !== 'pow2' || rounded < 0 || rounded > 31) {
        fail(`${where}: ${what} is not a power of two 2^-n with n in 0..31: use power-of-two scales, or import with ` +
          `scales "vta" (fixed-point m/2^s on VTA, error bound stated) or "host" (exact ONNX requantization on the host)`);
      }
      this.notes.push(`WARNING ${where}: scale ratio ${ratio.toPrecision(6)} rounded to 2^-${rounded}: every output of this step is off by a factor ${(ratio * 2 ** rounded).toPrecision(4)} (scales "pow2"; use "vta" or "host" for accurate results)`);
      shift = rounded;
    }
    if (sameScale(ratio, 1)) shift = 0;
    if (t.dtype === 'int8' && shift === 0) return { ...t, scale: s };
    const v = shift > 0 ? this.b.emit('requantize', [t.ir], `${base}.requantize`, { shift }, s) : t;
    return this.saturate(v, s, base);
  }

  /** requantize {multiplier, shift} ≈ ratio on VTA's ALU, with its error bound in `notes`. */
  private requantizeFixedPoint(t: TensorValue, ratio: number, s: number, where: string, base: string): TensorValue {
    const accBound = this.b.boundOf(t.ir);
    const fp = chooseFixedPoint(ratio, accBound);
    if (typeof fp === 'string') fail(`${where}: cannot approximate the requantization on VTA: ${fp} (import with scales "host")`);
    this.approximations.push({ node: `${base}.requantize`, ratio, accBound, ...fp });
    this.notes.push(
      `${where}: ratio ${ratio.toPrecision(6)} ≈ ${fp.multiplier}/2^${fp.shift} (relative error ${fp.relError.toExponential(2)}); ` +
        `|acc| ≤ ${accBound}, so ≤ ${fp.errorBound.toPrecision(3)} output units before rounding, ≤ ${fp.outputBound} after`,
    );
    return this.saturate(this.b.emit('requantize', [t.ir], `${base}.requantize`, { shift: fp.shift, multiplier: fp.multiplier }, s), s, base);
  }

  /** Clip to the int8 range and cast: the end of every requantization. */
  private saturate(v: TensorValue, s: number, base: string): TensorValue {
    const clipped = this.b.emit('clip', [v.ir], `${base}.clip`, { min: -128, max: 127 }, s);
    return this.b.emit('cast', [clipped.ir], `${base}.cast`, { dtype: 'int8' }, s);
  }

  /** Bias for an accumulator of scale `accScale`: a quantized int32 constant (or an exact float one). */
  bias(v: Value, accScale: number, channels: number, where: string, base: string): TensorValue {
    let data: number[];
    if (v.kind === 'qconst') {
      if (!sameScale(v.scale, accScale)) fail(`${where}: bias scale ${v.scale} differs from input scale × weight scale ${accScale}`);
      data = v.data;
    } else if (v.kind === 'const' && v.elem === ELEM.float) {
      data = v.data.map((b) => roundHalfEven(b / accScale));
      if (data.some((q, k) => q * accScale !== v.data[k])) this.notes.push(`${where}: float bias rounded to multiples of ${accScale}`);
    } else if (v.kind === 'const' && v.elem === ELEM.int32) {
      if (!sameScale(accScale, 1)) fail(`${where}: int32 bias added to a value of scale ${accScale}`);
      data = v.data;
    } else fail(`${where}: bias must be a constant`);
    if (data.length !== channels) fail(`${where}: bias has ${data.length} values but there are ${channels} channels`);
    return this.b.constant({ kind: 'qconst', dtype: 'int32', dims: [channels], data, scale: accScale }, `${base}.bias`);
  }
}

/**
 * The scale and zero-point analysis of the importer. Every ONNX value is one of:
 * - a constant (`const`, plain numbers) or a dequantized constant (`qconst`: integers with scale
 *   and zero point per tensor or per axis: weights and biases);
 * - an integer tensor (`int`): the ONNX integer equals the IR tensor plus `offset` (uint8 tensors
 *   live in the IR as int8 q − 128, offset 128);
 * - a quantized tensor (`q`): real value = scale[c] · (ir − zp), int8 activations (per-tensor scale,
 *   zero point in the IR's int8 domain) or int32 accumulators (zero point 0, scale per channel of
 *   axis 1 when the weights were per-channel);
 * - a float tensor (`float`): an IR float32 tensor (the host runs its ops with ONNX semantics);
 * - a pending add (`add`): two quantized tensors to be added, waiting for the QuantizeLinear that
 *   gives the output scale (then it becomes an integer rescaled add).
 * QuantizeLinear of a quantized tensor is a requantization: power-of-two ratios shift, other ratios
 * use fixed point (frontend/fixed-point.ts) unless `scales` says otherwise; rounding is ONNX's
 * half to even unless `rounding: 'half_up'`.
 */
import { roundHalfEven } from '../../graph/semantics/rounding.ts';
import type { DType } from '../../graph/ir.ts';
import { chooseRequantization } from '../fixed-point.ts';
import type { Emitted, GraphBuilder } from './builder.ts';
import { ELEM, elemName, fail, type Numbers } from './read.ts';
import { maxOf, minOf } from '../../lib/array-loops.ts';

/**
 * Requantization ratios: 'vta' (default) fixed-point m/2^s on VTA's ALU, error bound stated;
 * 'exact' refuses ratios that are not powers of two; 'host' requantizes on the host with ONNX's
 * float semantics; 'pow2' rounds them to a power of two (up to ±41% error).
 */
export const SCALE_MODES = ['vta', 'auto', 'host', 'pow2', 'exact'] as const;
export type ScaleMode = (typeof SCALE_MODES)[number];
/** Rounding of requantizations: ONNX's half to even (default) or VTA's cheaper half up. */
export const ROUNDING_MODES = ['half_even', 'half_up'] as const;
export type RoundingMode = (typeof ROUNDING_MODES)[number];

export interface ConstValue { kind: 'const'; elem: number; dims: number[]; data: Numbers }
/** Integer data dequantized: real = scale[i] · (data − zp[i]), i the index along `axis` (or 0). */
export interface QConst { kind: 'qconst'; elem: number; dims: number[]; data: Numbers; scale: number[]; zp: number[]; axis: number }
export interface IntTensor extends Emitted { kind: 'int'; elem: number; offset: number }
export interface QTensor extends Emitted { kind: 'q'; scale: number[]; zp: number }
export interface FloatTensor extends Emitted { kind: 'float' }
/** An Add of two quantized tensors not yet lowered; `relu` when a Relu follows it (before its QuantizeLinear). */
export interface PendingAdd { kind: 'add'; a: QTensor; b: QTensor; shape: number[]; relu?: boolean }
export type Value = ConstValue | QConst | IntTensor | QTensor | FloatTensor | PendingAdd;

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
const allSame = (v: number[]): boolean => v.every((x) => sameScale(x, v[0]!));

// ONNX's rounding, as the IR's semantics define it (re-exported for the translators).
export { roundHalfEven };

/** The int8 IR offset of an ONNX integer type: uint8 values are stored as q − 128, uint4 as q − 8. */
export const offsetOf = (elem: number): number => (elem === ELEM.uint8 ? 128 : elem === ELEM.uint4 ? 8 : 0);

/** An integer range [min, max]. */
export interface IntRange { min: number; max: number }

/**
 * The values a QuantizeLinear to `elem` saturates to, in the IR's int8 domain (ONNX range − offset):
 * int8 and uint8 [−128, 127], int4 and uint4 [−8, 7]. The narrow clip is what tells the compiler a
 * tensor fits a 4-bit VTA config.
 */
export function irRange(elem: number): IntRange {
  return elem === ELEM.int4 || elem === ELEM.uint4 ? { min: -8, max: 7 } : { min: -128, max: 127 };
}
const INT8_RANGE: IntRange = { min: -128, max: 127 };

// --- constant operands, each refusal naming the node and operand -----------------------------------

export function constant(v: Value | undefined, where: string, role: string): ConstValue {
  if (!v || v.kind !== 'const') fail(`${where}: ${role} must be a constant`);
  return v;
}

export function scalar(v: Value | undefined, where: string, role: string): number {
  const c = constant(v, where, role);
  if (c.data.length !== 1) fail(`${where}: ${role} has ${c.data.length} values where one is needed`);
  return c.data[0]!;
}

export function positiveScales(v: Value | undefined, where: string, role: string): number[] {
  const scales = Array.from(constant(v, where, role).data);
  if (scales.length === 0 || scales.some((s) => !(s > 0) || !Number.isFinite(s))) fail(`${where}: ${role} must be positive`);
  return scales;
}

/** A zero point (absent: 0 of `dflt`), with its element type. */
export function zeroPoints(v: Value | undefined, where: string, dflt: number): { elem: number; zp: number[] } {
  if (!v) return { elem: dflt, zp: [0] };
  const c = constant(v, where, 'zero point');
  if (![ELEM.int8, ELEM.uint8, ELEM.int32, ELEM.int4, ELEM.uint4].includes(c.elem as 2)) fail(`${where}: zero point type ${elemName(c.elem)} is not supported`);
  return { elem: c.elem, zp: c.data.length ? Array.from(c.data) : [0] };
}

/** The real values of a dequantized constant, each rounded to float32 as DequantizeLinear does. */
export function realValues(c: QConst): Float32Array {
  const inner = c.dims.slice(c.axis + 1).reduce((a, b) => a * b, 1);
  const n = c.scale.length;
  const out = new Float32Array(c.data.length);
  for (let i = 0; i < out.length; i++) {
    const k = n === 1 ? 0 : Math.floor(i / inner) % n;
    out[i] = (c.data[i]! - c.zp[c.zp.length === 1 ? 0 : k]!) * c.scale[k]!;
  }
  return out;
}

/** Requantizations, float conversions and constants of the graph being built, with the notes they leave. */
export class Quantization {
  readonly notes: string[] = [];
  readonly approximations: Approximation[] = [];

  /**
   * `precise` (scales 'auto'): a fixed-point step whose error bound exceeds MAX_ERROR_BOUND runs on
   * the host instead; 'vta' (the default) keeps every step on VTA with its bound stated.
   */
  constructor(private readonly b: GraphBuilder, private readonly mode: ScaleMode, private readonly rounding: RoundingMode, private readonly precise = false) {}

  intConst(data: number[], dims: number[], base: string, dtype: DType = 'int32'): Emitted {
    return this.b.constant({ dtype, dims, data }, base);
  }

  /** A float IR tensor holding v's real value: DequantizeLinear made explicit (host). */
  toFloat(v: Value | undefined, where: string, role: string, base: string): FloatTensor {
    if (!v) fail(`${where}: ${role} is missing`);
    switch (v.kind) {
      case 'float':
        return v;
      case 'const':
        return { kind: 'float', ...this.b.constant({ dtype: 'float32', dims: v.dims, data: v.data }, `${base}.${role}`) };
      case 'qconst':
        return { kind: 'float', ...this.b.constant({ dtype: 'float32', dims: v.dims, data: realValues(v) }, `${base}.${role}`) };
      case 'int':
        return { kind: 'float', ...this.b.emit('cast', [v.ir], `${base}.${role}.float`, { dtype: 'float32' }) };
      case 'q': {
        const attrs = v.scale.length === 1 ? { scale: v.scale, zero_point: [v.zp] } : { scale: v.scale, zero_point: v.scale.map(() => 0), axis: 1 };
        return { kind: 'float', ...this.b.emit('dequantize', [v.ir], `${base}.dequantize`, attrs) };
      }
      case 'add': {
        const a = this.toFloat(v.a, where, 'A', base);
        const c = this.toFloat(v.b, where, 'B', base);
        const sum = this.b.emit('add', [a.ir, c.ir], `${base}.add`, {});
        return { kind: 'float', ...(v.relu ? this.b.emit('relu', [sum.ir], `${base}.relu`, {}) : sum) };
      }
    }
  }

  /** An int8 quantized activation, or undefined when v is not one. */
  activation(v: Value | undefined): QTensor | undefined {
    return v?.kind === 'q' && v.dtype === 'int8' && v.scale.length === 1 ? v : undefined;
  }

  /** DequantizeLinear of an integer tensor: same IR tensor, now with a scale. */
  dequantized(v: IntTensor, scale: number[], zp: number[], axis: number, where: string, base: string): Value {
    if (scale.length === 1 && zp.length === 1) {
      if (v.elem === ELEM.int32 && zp[0] !== 0) fail(`${where}: int32 tensors with a zero point are not supported`);
      return { kind: 'q', ir: v.ir, dtype: v.dtype, shape: v.shape, scale, zp: zp[0]! - v.offset };
    }
    const attrs = { scale, zero_point: scale.map((_, k) => zp[zp.length === 1 ? 0 : k]! - v.offset), axis };
    return { kind: 'float', ...this.b.emit('dequantize', [v.ir], `${base}.dequantize`, attrs) };
  }

  /**
   * QuantizeLinear: v to the ONNX integer type `elem` with scale(s) `scale` and zero point(s) `zp`
   * along `axis`. The result lives in the IR as int8 (offset 128 for uint8, 8 for uint4), clipped
   * to the type's range (irRange).
   */
  quantize(v: Value, scale: number[], zp: number[], elem: number, axis: number, where: string, base: string): IntTensor | ConstValue {
    const offset = offsetOf(elem);
    const range = irRange(elem);
    if (elem === ELEM.int32) fail(`${where}: quantizing to int32 is not supported`);
    if (v.kind === 'const') {
      const data = Int32Array.from(v.data, (x) => Math.max(range.min + offset, Math.min(range.max + offset, roundHalfEven(x / scale[0]!) + zp[0]!)));
      return { kind: 'const', elem, dims: v.dims, data };
    }
    const irZp = zp.map((z) => z - offset);
    if (scale.length === 1 && irZp.length === 1) {
      if (v.kind === 'q') return intTensor(this.requantize(v, scale[0]!, irZp[0]!, where, base, range), elem, offset);
      // Quantization is monotone and maps 0 to the zero point: quantize(relu(x)) = max(quantize(x), zp).
      const addRange = v.kind === 'add' && v.relu ? { min: Math.max(range.min, irZp[0]!), max: range.max } : range;
      if (v.kind === 'add') return intTensor(this.rescaledAdd(v, scale[0]!, irZp[0]!, where, base, addRange), elem, offset);
    }
    const f = this.toFloat(v, where, 'input', base);
    const attrs = scale.length === 1 ? { scale, zero_point: irZp, dtype: 'int8' } : { scale, zero_point: scale.map((_, k) => irZp[irZp.length === 1 ? 0 : k]!), axis, dtype: 'int8' };
    return intTensor(this.narrowed(this.b.emit('quantize', [f.ir], `${base}.quantize`, attrs), range, base), elem, offset);
  }

  /** An int8 tensor clipped to a range narrower than int8 (a 4-bit type's saturation). */
  private narrowed(t: Emitted, range: IntRange, base: string): Emitted {
    if (range.min <= -128 && range.max >= 127) return t;
    return this.b.emit('clip', [t.ir], `${base}.narrow`, { ...range });
  }

  /** int8 tensor holding round(value / sy) + zy, saturated to `range`: QuantizeLinear of a quantized tensor. */
  requantize(t: QTensor, sy: number, zy: number, where: string, base: string, range: IntRange = INT8_RANGE): Emitted {
    if (t.dtype === 'int8' && t.scale.length === 1 && sameScale(t.scale[0]!, sy) && t.zp === zy) return this.narrowed(t, range, base);
    const acc = this.withoutZeroPoint(t, base);
    const ratios = t.scale.map((s) => s / sy);
    const what = `requantization ratio ${ratios.length === 1 ? +ratios[0]!.toPrecision(6) : 'per channel'} (scale ${t.scale.length === 1 ? +t.scale[0]!.toPrecision(6) : 'per channel'} → ${+sy.toPrecision(6)})`;
    const pow2 = allSame(ratios) ? powerOfTwoShift(ratios[0]!) : undefined;
    let scaled: Emitted | undefined;
    if (pow2 !== undefined) scaled = this.shift(acc, pow2, base);
    else if (this.mode === 'host') scaled = this.hostRequantize(acc, ratios, where, base, `${what} is not a power of two: requantized on the host with ONNX's float semantics`);
    else if (this.mode === 'pow2' && ratios.length === 1 && Math.round(-Math.log2(ratios[0]!)) >= 0) {
      const n = Math.round(-Math.log2(ratios[0]!));
      this.notes.push(`WARNING ${where}: scale ratio ${ratios[0]!.toPrecision(6)} rounded to 2^-${n}: every output of this step is off by a factor ${(ratios[0]! * 2 ** n).toPrecision(4)} (scales "pow2"; use "vta" or "host" for accurate results)`);
      scaled = this.shift(acc, n, base);
    } else if (this.mode === 'exact') {
      fail(`${where}: ${what} is not a power of two 2^-n with n in 0..31: use power-of-two scales, or import with ` +
        `scales "vta" (fixed-point m/2^s on VTA, error bound stated) or "host" (exact ONNX requantization on the host)`);
    } else scaled = this.fixedPoint(acc, ratios, where, base);
    return this.addZeroPointAndSaturate(scaled, zy, base, range);
  }

  /** int32 tensor holding the integer t − zp (the zero point folded away). */
  private withoutZeroPoint(t: QTensor, base: string): Emitted {
    if (t.zp === 0) return t;
    return this.b.emit('add', [t.ir, this.intConst([-t.zp], [], `${base}.zero_point`).ir], `${base}.sub_zero_point`, {});
  }

  private shift(acc: Emitted, n: number, base: string): Emitted {
    if (n === 0) return acc;
    if (n < 0) return this.b.emit('requantize', [acc.ir], `${base}.requantize`, { shift: 0, multiplier: 2 ** -n });
    return this.b.emit('requantize', [acc.ir], `${base}.requantize`, { shift: n, rounding: this.rounding });
  }

  /**
   * requantize {multiplier(s), shift} ≈ ratio(s) on VTA's ALU (after a rounding pre-shift when the
   * accumulator bound forces a coarse multiplier), with the error bound in `notes`.
   */
  private fixedPoint(acc: Emitted, ratios: number[], where: string, base: string): Emitted {
    const bounds = this.b.channelBounds(acc.ir);
    let perChannel = bounds.length === ratios.length ? bounds : ratios.map(() => maxOf(bounds));
    // Accumulators beyond ±C saturate the int8 output anyway (C·r ≥ 300 > 255 + rounding and
    // approximation error): clipping them first shrinks the bound, so the multiplier can be larger.
    // Only when needed: one requantize after the GEMM is what VTA fuses.
    const saturating = Math.ceil(300 / minOf(ratios));
    let fp = chooseRequantization(ratios, perChannel);
    let clipped = false;
    if ((typeof fp === 'string' || fp.errorBound > MAX_ERROR_BOUND) && saturating < maxOf(perChannel)) {
      const narrower = perChannel.map((a) => Math.min(a, saturating));
      const better = chooseRequantization(ratios, narrower);
      if (typeof better !== 'string' && (typeof fp === 'string' || better.errorBound < fp.errorBound)) {
        [fp, perChannel, clipped] = [better, narrower, true];
      }
    }
    if (typeof fp === 'string') return this.hostRequantize(acc, ratios, where, base, `cannot approximate the requantization on VTA (${fp}): requantized on the host`);
    if (this.precise && fp.errorBound > MAX_ERROR_BOUND) {
      return this.hostRequantize(acc, ratios, where, base, `the best fixed-point requantization on VTA (shift ${fp.shift}) could be off by ${fp.errorBound.toPrecision(3)} output units before rounding ` +
        `(> ${MAX_ERROR_BOUND}; the accumulator bound ${maxOf(perChannel)} leaves too few multiplier bits): requantized on the host with ONNX's float semantics (import with scales "vta" to force VTA)`);
    }
    const x0 = clipped ? this.b.emit('clip', [acc.ir], `${base}.saturate`, { min: -saturating, max: saturating }) : acc;
    const name = `${base}.requantize`;
    const accBound = maxOf(perChannel);
    const pre = fp.preShift > 0 ? `acc rounded to 2^${fp.preShift} first, then ` : '';
    const ms = fp.multipliers.length === 1 ? `${fp.multipliers[0]}` : `m[c] (m in ${minOf(fp.multipliers)}..${maxOf(fp.multipliers)})`;
    this.notes.push(`${where}: ${ratios.length === 1 ? `ratio ${ratios[0]!.toPrecision(6)}` : `${ratios.length} per-channel ratios`} ≈ ${pre}${ms}/2^${fp.shift} ` +
      `(relative error ${fp.relError.toExponential(2)}); |acc| ≤ ${accBound}: no int32 overflow (|acc|·m + 2^(s−1) < 2^31${ratios.length > 1 ? ' per channel' : ''}), ` +
      `≤ ${fp.errorBound.toPrecision(3)} output units before rounding, ≤ ${fp.outputBound} after`);
    let x = x0;
    if (fp.preShift > 0) x = this.b.emit('requantize', [x0.ir], `${base}.preshift`, { shift: fp.preShift, rounding: this.rounding });
    if (fp.multipliers.length === 1) {
      if (fp.preShift === 0) this.approximations.push({ node: name, ratio: ratios[0]!, accBound, multiplier: fp.multipliers[0]!, shift: fp.shift, relError: fp.relError, errorBound: fp.errorBound, outputBound: fp.outputBound });
      return this.b.emit('requantize', [x.ir], name, { shift: fp.shift, multiplier: fp.multipliers[0]!, rounding: this.rounding });
    }
    const m = this.intConst(fp.multipliers, [ratios.length], `${base}.multiplier`);
    return this.b.emit('requantize', [x.ir, m.ir], name, { shift: fp.shift, rounding: this.rounding });
  }

  /** ONNX's float requantization on the host: requantize_float, or dequantize → quantize per channel. */
  private hostRequantize(acc: Emitted, ratios: number[], where: string, base: string, why: string): Emitted {
    this.notes.push(`${where}: ${why}`);
    if (ratios.length === 1) return this.b.emit('requantize_float', [acc.ir], `${base}.requantize`, { scale: ratios[0]! });
    const f = this.b.emit('dequantize', [acc.ir], `${base}.dequantize`, { scale: ratios, zero_point: ratios.map(() => 0), axis: 1 });
    return this.b.emit('quantize', [f.ir], `${base}.requantize`, { scale: [1], zero_point: [0], dtype: 'int32' });
  }

  /** + zy after rounding (as ONNX adds the zero point), then clip to `range` and cast to int8. */
  private addZeroPointAndSaturate(v: Emitted, zy: number, base: string, range: IntRange): Emitted {
    let out = v;
    if (zy !== 0) {
      const channels = v.shape.length >= 2 ? v.shape[1]! : 0;
      out = channels > 0
        ? this.b.emit('bias_add', [v.ir, this.intConst(new Array<number>(channels).fill(zy), [channels], `${base}.zero_point`).ir], `${base}.add_zero_point`, {})
        : this.b.emit('add', [v.ir, this.intConst([zy], [], `${base}.zero_point`).ir], `${base}.add_zero_point`, {});
    }
    const clipped = this.b.emit('clip', [out.ir], `${base}.clip`, { ...range });
    return this.b.emit('cast', [clipped.ir], `${base}.cast`, { dtype: 'int8' });
  }

  /**
   * The int32 sum of an Add whose inputs share one scale, zero points folded away (scale s, zero
   * point 0), for an activation applied to the sum before its QuantizeLinear; undefined otherwise.
   */
  integerSum(p: PendingAdd, base: string): QTensor | undefined {
    if (!sameScale(p.a.scale[0]!, p.b.scale[0]!)) return undefined;
    const sum = this.b.emit('add', [p.a.ir, p.b.ir], `${base}.add`, {});
    const acc = this.withoutZeroPoint({ kind: 'q', ...sum, scale: [p.a.scale[0]!], zp: p.a.zp + p.b.zp }, base);
    return { kind: 'q', ...acc, scale: [p.a.scale[0]!], zp: 0 };
  }

  /**
   * Add of two int8 tensors of different scales into (sy, zy): y = round((ma·(a − za) + mb·(b − zb)) / 2^n) + zy
   * with ma/2^n ≈ sa/sy and mb/2^n ≈ sb/sy, as ALU MUL / ADD and a half-even requantize.
   * With scales 'host': dequantize, float add, quantize (ONNX's semantics exactly).
   */
  rescaledAdd(p: PendingAdd, sy: number, zy: number, where: string, base: string, range: IntRange = INT8_RANGE): Emitted {
    if (sameScale(p.a.scale[0]!, p.b.scale[0]!)) {
      // Equal input scales: an integer add, then the usual requantization of the int32 sum.
      const sum = this.b.emit('add', [p.a.ir, p.b.ir], `${base}.add`, {});
      return this.requantize({ kind: 'q', ...sum, scale: [p.a.scale[0]!], zp: p.a.zp + p.b.zp }, sy, zy, where, base, range);
    }
    const ra = p.a.scale[0]! / sy;
    const rb = p.b.scale[0]! / sy;
    const choice = this.mode === 'host' ? undefined : addMultipliers(ra, rb);
    if (!choice || (this.precise && choice.errorBound > MAX_ERROR_BOUND)) {
      const why = choice ? `: the ALU form could be off by ${choice.errorBound.toPrecision(3)} output units (> ${MAX_ERROR_BOUND})` : '';
      this.notes.push(`${where}: add of inputs with scales ${p.a.scale[0]} and ${p.b.scale[0]} computed in float on the host${why}`);
      const f = this.toFloat(p, where, 'sum', base);
      return this.narrowed(this.b.emit('quantize', [f.ir], `${base}.quantize`, { scale: [sy], zero_point: [zy], dtype: 'int8' }), range, base);
    }
    const { ma, mb, n, errorBound } = choice;
    const ta = ma === 1 ? p.a : this.b.emit('mul', [p.a.ir, this.intConst([ma], [], `${base}.scale_a`).ir], `${base}.rescale_a`, {});
    const tb = mb === 1 ? p.b : this.b.emit('mul', [p.b.ir, this.intConst([mb], [], `${base}.scale_b`).ir], `${base}.rescale_b`, {});
    let sum = this.b.emit('add', [ta.ir, tb.ir], `${base}.add`, {});
    const offset = -(ma * p.a.zp + mb * p.b.zp);
    if (offset !== 0) sum = this.b.emit('add', [sum.ir, this.intConst([offset], [], `${base}.zero_points`).ir], `${base}.sub_zero_points`, {});
    const shifted = this.b.emit('requantize', [sum.ir], `${base}.requantize`, { shift: n, rounding: this.rounding });
    this.notes.push(`${where}: add rescaled on the ALU: ratios ${ra.toPrecision(6)}, ${rb.toPrecision(6)} ≈ ${ma}/2^${n}, ${mb}/2^${n}; ≤ ${errorBound.toPrecision(3)} output units before rounding, ≤ ${Math.floor(errorBound) + 1} after`);
    return this.addZeroPointAndSaturate(shifted, zy, base, range);
  }
}

/**
 * Largest error bound (output units, before rounding) accepted for a fixed-point requantization:
 * each such step then differs from ONNX's rounding on about 2·bound of its outputs, and errors
 * compound layer by layer (models/real/ort-resnet18-u8-pc needs ≤ 0.005 to keep 99% of its logits within one step of onnxruntime).
 */
const MAX_ERROR_BOUND = 0.005;

const intTensor = (e: Emitted, elem: number, offset: number): IntTensor => ({ ir: e.ir, dtype: e.dtype, shape: e.shape, kind: 'int', elem, offset });

/** n with ratio = 2^-n exactly (n may be negative: a left shift), or undefined. */
function powerOfTwoShift(ratio: number): number | undefined {
  if (sameScale(ratio, 1)) return 0;
  const n = -Math.log2(ratio);
  const k = Math.round(n);
  return Math.abs(n - k) < 1e-9 && k <= 31 && k >= -14 ? k : undefined;
}

/**
 * Multipliers of a rescaled add: the largest n ≤ 24 with ma, mb ≤ 32767 (ALU immediates) and
 * 255·(ma + mb) + |zero-point terms| + 2^(n−1) < 2^31; error ≤ 255·(|ma/2^n − ra| + |mb/2^n − rb|).
 */
export function addMultipliers(ra: number, rb: number): { ma: number; mb: number; n: number; errorBound: number } | undefined {
  // Exact ratios (powers of two, as TVM's scales are) take the smallest shift: a multiplier of 1 is no MUL.
  for (let n = 0; n <= 24; n++) {
    const ma = ra * 2 ** n;
    const mb = rb * 2 ** n;
    if (Number.isInteger(ma) && Number.isInteger(mb) && ma >= 1 && mb >= 1 && ma <= 32767 && mb <= 32767 && 512 * (ma + mb) + 2 ** n <= 2 ** 31 - 1) return { ma, mb, n, errorBound: 0 };
  }
  for (let n = 24; n >= 0; n--) {
    const ma = Math.round(ra * 2 ** n);
    const mb = Math.round(rb * 2 ** n);
    if (ma > 32767 || mb > 32767 || ma < 1 || mb < 1) continue;
    if (512 * (ma + mb) + 2 ** n > 2 ** 31 - 1) continue;
    return { ma, mb, n, errorBound: 255 * (Math.abs(ma / 2 ** n - ra) + Math.abs(mb / 2 ** n - rb)) };
  }
  return undefined;
}

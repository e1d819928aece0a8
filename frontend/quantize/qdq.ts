/**
 * Writing the quantized model in QDQ form (the form onnxruntime's own quantizer writes and runs):
 * each planned activation gets QuantizeLinear → DequantizeLinear and its readers read the
 * dequantized value; weights are stored symmetric (±(2^(bits−1) − 1), per tensor or per output
 * channel) behind a DequantizeLinear, as int8, or INT4 at 4 bits (precision.ts says how each width
 * is written); biases as int32 at input scale × weight scale. Graph inputs and
 * outputs keep their names, dtypes and shapes: a graph output that is quantized is the output of
 * its DequantizeLinear.
 */
import { packSigned } from '../../isa/elements.ts';
import { ELEM } from '../onnx/read.ts';
import { freshName, intAttribute, type EditNode, type FloatModel } from './float-model.ts';
import type { QuantPlan } from './plan.ts';
import { QUANTIZE_RULES } from './rules.ts';

/** Scale and zero point of one quantized activation. */
export interface ActivationParams {
  scale: number;
  zeroPoint: number;
}

export interface WeightOptions {
  perChannel: boolean;
  /** Weight scales rounded up to powers of two (TVM's exact shifts). */
  pow2: boolean;
  /** Weight bit width per weighted node (precision.ts): the symmetric range is ±(2^(bits−1) − 1). */
  weightBits: ReadonlyMap<string, number>;
  /** Bit width per planned value (precision.ts). */
  valueBits: ReadonlyMap<string, number>;
  /** Per-channel (axis 1) input means of weighted ops, by input value name: biases then absorb the expected error of their quantized weights. */
  biasCorrection?: ReadonlyMap<string, Float64Array>;
}

/** What the writer did to each weighted op, for the report. */
export interface WeightReport {
  node: string;
  op: string;
  weightScales: number[];
  biasCorrected: boolean;
  /** Bias values clamped to int32 (a tiny input × weight scale). */
  biasClamped: number;
}

const f32 = Math.fround;

function pow2AtLeast(x: number): number {
  return x > 0 ? 2 ** Math.ceil(Math.log2(x)) : 1;
}

function int8Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Int8Array(values.length);
  for (let k = 0; k < values.length; k++) out[k] = values[k]!;
  return new Uint8Array(out.buffer);
}

/** Two's-complement 4-bit values, two per byte, low nibble first (ONNX INT4; an odd count ends in a zero nibble). */
function int4Bytes(values: ArrayLike<number>): Uint8Array {
  const even = Array.from(values);
  if (even.length % 2 === 1) even.push(0);
  return packSigned(even, 4);
}

/** A width's ONNX element type and initializer bytes: INT4 at 4 bits, int8 otherwise (2 bits in int8 containers). */
function integerInitializer(bits: number, values: ArrayLike<number>): { elem: number; bytes: Uint8Array } {
  return bits === 4 ? { elem: ELEM.int4, bytes: int4Bytes(values) } : { elem: ELEM.int8, bytes: int8Bytes(values) };
}

function int32Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Int32Array.from(values).buffer);
}

function float32Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

export class QdqWriter {
  private readonly used: Set<string>;
  private readonly dq = new Map<string, string>();
  private readonly out: EditNode[] = [];
  readonly weights: WeightReport[] = [];

  constructor(
    private readonly model: FloatModel,
    private readonly plan: QuantPlan,
    private readonly params: ReadonlyMap<string, ActivationParams>,
    private readonly options: WeightOptions,
  ) {
    this.used = model.usedNames();
  }

  private fresh(base: string): string {
    return freshName(this.used, base);
  }

  private node(opType: string, inputs: string[], outputs: string[], name: string, axis?: number): void {
    this.out.push({ name: this.fresh(name), opType, domain: '', inputs, outputs, attributes: axis === undefined ? [] : [{ name: 'axis', type: 2, i: axis }] });
  }

  /** Q → DQ for activation `value` (the producer writes `source`); readers read the returned name (or `value` itself for a graph output). */
  private quantizeActivation(value: string, source: string): void {
    const p = this.params.get(value)!;
    const bits = this.options.valueBits.get(value) ?? 8;
    const scale = this.fresh(`${value}_scale`);
    const zp = this.fresh(`${value}_zero_point`);
    this.model.setInitializer(scale, ELEM.float, [], float32Bytes([p.scale]));
    const zpInit = integerInitializer(bits, [p.zeroPoint]);
    this.model.setInitializer(zp, zpInit.elem, [], zpInit.bytes);
    const q = this.fresh(`${value}_quantized`);
    const isOutput = this.model.outputs.includes(value);
    const dq = isOutput ? value : this.fresh(`${value}_dequantized`);
    const input = bits === 2 ? this.clipToGrid(value, source, scale, zp, p) : source;
    this.node('QuantizeLinear', [input, scale, zp], [q], `${value}_QuantizeLinear`);
    this.node('DequantizeLinear', [q, scale, zp], [dq], `${value}_DequantizeLinear`);
    this.dq.set(value, dq);
  }

  /**
   * The 2-bit form: an int8 Q → DQ on the 2-bit grid's scale and zero point, then a float Clip to
   * the grid's two ends, whose output the final Q → DQ reads. The Clip's bounds lie a quarter step
   * beyond the ends, so rounding lands on them exactly in onnxruntime and in the importer (which
   * makes the Clip an integer clip to [−2, 1]).
   */
  private clipToGrid(value: string, source: string, scale: string, zp: string, p: ActivationParams): string {
    const wide = this.fresh(`${value}_int8`);
    const real = this.fresh(`${value}_int8_dequantized`);
    this.node('QuantizeLinear', [source, scale, zp], [wide], `${value}_QuantizeLinear_int8`);
    this.node('DequantizeLinear', [wide, scale, zp], [real], `${value}_DequantizeLinear_int8`);
    const lo = this.fresh(`${value}_grid_min`);
    const hi = this.fresh(`${value}_grid_max`);
    this.model.setInitializer(lo, ELEM.float, [], float32Bytes([(-2 - p.zeroPoint - 0.25) * p.scale]));
    this.model.setInitializer(hi, ELEM.float, [], float32Bytes([(1 - p.zeroPoint + 0.25) * p.scale]));
    const out = this.fresh(`${value}_on_grid`);
    this.node('Clip', [real, lo, hi], [out], `${value}_Clip`);
    return out;
  }

  /** Weight → DequantizeLinear; returns the DQ output and the scales (one, or one per channel). */
  private quantizeWeight(n: EditNode, axis: number): { name: string; scales: number[] } {
    const wName = n.inputs[1]!;
    const w = this.model.floatInitializer(wName)!;
    const bits = this.options.weightBits.get(n.name) ?? 8;
    const qmax = 2 ** (bits - 1) - 1;
    const channels = this.options.perChannel ? w.dims[axis]! : 1;
    const inner = this.options.perChannel ? w.dims.slice(axis + 1).reduce((a, b) => a * b, 1) : w.data.length;
    const absmax = new Float64Array(channels);
    const channelOf = (k: number): number => (this.options.perChannel ? Math.floor(k / inner) % channels : 0);
    for (let k = 0; k < w.data.length; k++) absmax[channelOf(k)] = Math.max(absmax[channelOf(k)]!, Math.abs(w.data[k]!));
    const scales = [...absmax].map((a) => f32(a === 0 ? 1 : this.options.pow2 ? pow2AtLeast(a / qmax) : a / qmax));
    const q = new Int8Array(w.data.length);
    for (let k = 0; k < w.data.length; k++) q[k] = Math.max(-qmax, Math.min(qmax, Math.round(w.data[k]! / scales[channelOf(k)]!)));
    const qName = this.fresh(`${wName}_quantized`);
    const sName = this.fresh(`${wName}_scale`);
    const zName = this.fresh(`${wName}_zero_point`);
    const dims = this.options.perChannel ? [channels] : [];
    const qInit = integerInitializer(bits, q);
    const zInit = integerInitializer(bits, new Int8Array(channels));
    this.model.setInitializer(qName, qInit.elem, w.dims, qInit.bytes);
    this.model.setInitializer(sName, ELEM.float, dims, float32Bytes(scales));
    this.model.setInitializer(zName, zInit.elem, dims, zInit.bytes);
    const out = this.fresh(`${wName}_dequantized`);
    this.node('DequantizeLinear', [qName, sName, zName], [out], `${wName}_DequantizeLinear`, this.options.perChannel ? axis : undefined);
    return { name: out, scales };
  }

  /** The weight's dequantized values minus its float values, dotted with the input's channel means, per output channel. */
  private expectedWeightError(n: EditNode, scales: number[], axis: number, means: Float64Array): Float64Array {
    const w = this.model.floatInitializer(n.inputs[1]!)!;
    const qmax = 2 ** ((this.options.weightBits.get(n.name) ?? 8) - 1) - 1;
    const outChannels = w.dims[axis]!;
    const err = new Float64Array(outChannels);
    // Conv [O, I, kh, kw] and Gemm [N, K]: output channel on axis 0, input channel on axis 1.
    // MatMul [K, N]: output channel on axis 1, input channel on axis 0.
    // A grouped Conv's weight holds I/group input channels per output channel, those of its group.
    const inChannels = axis === 0 ? w.dims[1]! : w.dims[0]!;
    const groupSize = outChannels / (n.opType === 'Conv' ? intAttribute(n, 'group', 1) : 1);
    const taps = w.data.length / (outChannels * inChannels);
    for (let k = 0; k < w.data.length; k++) {
      const o = axis === 0 ? Math.floor(k / (inChannels * taps)) : k % outChannels;
      const i = axis === 0 ? Math.floor(o / groupSize) * inChannels + (Math.floor(k / taps) % inChannels) : Math.floor(k / outChannels);
      const s = scales.length === 1 ? scales[0]! : scales[o]!;
      const dq = Math.max(-qmax, Math.min(qmax, Math.round(w.data[k]! / s))) * s;
      err[o] = err[o]! + (dq - w.data[k]!) * (means[i] ?? 0);
    }
    return err;
  }

  private quantizeBias(n: EditNode, inputScale: number, weightScales: number[], outChannels: number, correction?: Float64Array): { name: string; clamped: number } {
    const bias = n.inputs[2] ? this.model.floatInitializer(n.inputs[2])! : { dims: [outChannels], data: new Float32Array(outChannels) };
    const scales = Array.from({ length: outChannels }, (_, c) => f32(f32(inputScale) * (weightScales.length === 1 ? weightScales[0]! : weightScales[c]!)));
    let clamped = 0;
    const q = Array.from({ length: outChannels }, (_, c) => {
      const v = Math.round((bias.data[c]! - (correction?.[c] ?? 0)) / scales[c]!);
      const r = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, v));
      if (r !== v) clamped++;
      return r;
    });
    const base = n.inputs[2] || `${n.name}_bias`;
    const qName = this.fresh(`${base}_quantized`);
    const sName = this.fresh(`${base}_scale`);
    const zName = this.fresh(`${base}_zero_point`);
    const perChannel = weightScales.length > 1;
    this.model.setInitializer(qName, ELEM.int32, [outChannels], int32Bytes(q));
    this.model.setInitializer(sName, ELEM.float, perChannel ? [outChannels] : [], float32Bytes(perChannel ? scales : [scales[0]!]));
    this.model.setInitializer(zName, ELEM.int32, perChannel ? [outChannels] : [], int32Bytes(new Array<number>(perChannel ? outChannels : 1).fill(0)));
    const out = this.fresh(`${base}_dequantized`);
    this.node('DequantizeLinear', [qName, sName, zName], [out], `${base}_DequantizeLinear`, perChannel ? 0 : undefined);
    return { name: out, clamped };
  }

  private writeWeighted(n: EditNode): EditNode {
    const axis = QUANTIZE_RULES.get(n.opType)!.channelAxis!(n);
    const input = n.inputs[0]!;
    const inputParams = this.params.get(input);
    if (!inputParams) return { ...n, inputs: n.inputs.map((i) => this.dq.get(i) ?? i) };
    const inputScale = inputParams.scale;
    const w = this.quantizeWeight(n, axis);
    const outChannels = this.model.floatInitializer(n.inputs[1]!)!.dims[axis]!;
    const means = this.options.biasCorrection?.get(input);
    const correction = means ? this.expectedWeightError(n, w.scales, axis, means) : undefined;
    const inputs = [this.dq.get(input)!, w.name];
    // MatMul has no bias input: a MatMul left as MatMul (not rewritten to Gemm) keeps no bias.
    let clamped = 0;
    if (n.opType !== 'MatMul') {
      const b = this.quantizeBias(n, inputScale, w.scales, outChannels, correction);
      inputs.push(b.name);
      clamped = b.clamped;
    }
    this.weights.push({ node: n.name, op: n.opType, weightScales: w.scales, biasCorrected: !!correction && n.opType !== 'MatMul', biasClamped: clamped });
    return { ...n, inputs };
  }

  /** The quantized model's name for the dequantized `value`. */
  dequantizedName(value: string): string {
    return this.dq.get(value) ?? value;
  }

  /** The quantized model: nodes rewritten in graph order, unused float weights dropped. */
  write(): void {
    const planned = new Set(this.plan.values);
    for (const i of this.model.inputs) if (planned.has(i.name)) this.quantizeActivation(i.name, i.name);
    for (const n of this.model.nodes) {
      let node: EditNode = this.plan.roles.get(n.name) === 'weighted' ? this.writeWeighted(n) : { ...n, inputs: n.inputs.map((i) => this.dq.get(i) ?? i) };
      const quantizedOutputs = node.outputs.filter((o) => planned.has(o));
      const renamed = new Map(quantizedOutputs.filter((o) => this.model.outputs.includes(o)).map((o) => [o, this.fresh(`${o}_float`)]));
      node = { ...node, outputs: node.outputs.map((o) => renamed.get(o) ?? o) };
      this.out.push(node);
      for (const o of quantizedOutputs) this.quantizeActivation(o, renamed.get(o) ?? o);
    }
    this.model.nodes = this.out;
    this.model.pruneInitializers();
  }
}

/**
 * ONNX → Graph IR for quantized models, in QDQ form (QuantizeLinear / DequantizeLinear around
 * float ops) and operator form (QLinearConv, QLinearMatMul, MatMulInteger, ConvInteger).
 *
 * Every ONNX tensor is tracked as `value = scale · ir`: an IR tensor of integers and a real scale
 * (1 for ONNX integer tensors). Dequantizing only changes the scale; float Conv/MatMul/Gemm on
 * dequantized int8 operands become int8 dense/conv2d with the product scale; QuantizeLinear
 * becomes requantize + clip + cast. Quantization must be symmetric (zero points 0) and per-tensor.
 * A scale ratio r = input scale / output scale that is a power of two 2^-n becomes a right shift
 * by n. Any other ratio depends on `scales`:
 * - 'exact' (default): refused;
 * - 'vta': requantize {multiplier m, shift s} with m/2^s ≈ r, run on VTA's ALU (MUL, ADD, SHR);
 *   frontend/fixed-point.ts picks (m, s) from a static bound of the accumulator and states the
 *   error bound; each such step is listed in `notes`;
 * - 'host': requantize_float {scale: r}, ONNX's float semantics, run on the host (the GEMM before
 *   it stays on VTA and hands its int32 result over as byte planes);
 * - 'pow2': r rounded to the nearest power of two (up to ±41% scale error; a WARNING note).
 *
 * Against onnxruntime the remaining difference is rounding: ONNX QuantizeLinear rounds half to
 * even, requantize rounds half up, so values that land exactly on .5 can differ by 1 (plus, in
 * 'vta' mode, the stated approximation bound).
 */
import { fileErrorReason, readFileCapped } from '../lib/files.ts';
import { VtaError } from '../lib/errors.ts';
import type { DType, Graph, GraphNode, OpName, TensorType } from '../graph/ir.ts';
import { decodeConst, encodeConstData, inferNodeType, validateGraph } from '../graph/load.ts';
import { chooseFixedPoint } from './fixed-point.ts';
import { onnx } from './onnx-builder.ts';
import type { onnx as OnnxNs } from 'onnx-proto';

export const ONNX_ERROR = 'E_ONNX';
const MIN_OPSET = 10;
const MAX_OPSET = 21;
const E = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, double: 11 } as const;
const ELEM_NAME: Record<number, string> = { 1: 'float', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 10: 'float16', 11: 'double', 16: 'bfloat16' };
const QUANT_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'QLinearConv', 'QLinearMatMul', 'MatMulInteger', 'ConvInteger']);

export const SCALE_MODES = ['exact', 'vta', 'host', 'pow2'] as const;
export type ScaleMode = (typeof SCALE_MODES)[number];

export interface ImportOptions {
  /**
   * Requantization ratios that are not powers of two: 'exact' (default) refuses them, 'vta'
   * approximates them by m/2^s on VTA's ALU, 'host' requantizes on the host with ONNX's float
   * semantics, 'pow2' rounds them to a power of two (up to ±41% error).
   */
  scales?: ScaleMode;
}

/** An IR tensor and the real scale of its values (ONNX value ≈ scale · integer). */
export interface ScaledTensor {
  tensor: string;
  scale: number;
  dtype: DType;
}

export interface ImportResult {
  graph: Graph;
  /** Per ONNX graph input: the int8 IR input that replaces it, the scale it was quantized with
   *  and whether the ONNX input is float (fed as q · scale) or int8. */
  inputs: Record<string, ScaledTensor & { float: boolean }>;
  /** Per ONNX graph output: the IR tensor that holds it and its scale. */
  outputs: Record<string, ScaledTensor>;
  /** Approximations and host steps chosen for non-power-of-two ratios, one line each. */
  notes: string[];
  /** Per requantize node approximated with scales 'vta': the chosen m/2^s and its error bounds. */
  approximations: Approximation[];
}

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

type Value =
  | { kind: 'const'; elem: number; dims: number[]; data: number[] }
  | { kind: 'qconst'; dtype: DType; dims: number[]; data: number[]; scale: number }
  | { kind: 'tensor'; ir: string; scale: number; dtype: DType; shape: number[] }
  | { kind: 'floatInput'; name: string; shape: number[] };
type TensorValue = Extract<Value, { kind: 'tensor' }>;
type QConst = Extract<Value, { kind: 'qconst' }>;

function fail(message: string): never {
  throw new VtaError(ONNX_ERROR, message);
}

const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());
interface Long { toNumber(): number }
const sameScale = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));
const fmt = (s: number[]): string => `[${s.join(',')}]`;
const count = (s: number[]): number => s.reduce((a, b) => a * b, 1);

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The values of an initializer or Constant tensor as plain numbers. */
function tensorData(t: OnnxNs.ITensorProto, where: string): { elem: number; dims: number[]; data: number[] } {
  const elem = t.dataType ?? 0;
  const dims = (t.dims ?? []).map(num);
  const n = count(dims);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) fail(`${where}: external tensor data is not supported (save the model with data inline)`);
  let data: number[];
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = { [E.float]: 4, [E.uint8]: 1, [E.int8]: 1, [E.int32]: 4, [E.int64]: 8, [E.double]: 8 }[elem];
    if (!size) fail(`${where}: element type ${ELEM_NAME[elem] ?? elem} is not supported`);
    if (raw.length !== n * size) fail(`${where}: holds ${raw.length} bytes but ${ELEM_NAME[elem]} ${fmt(dims)} needs ${n * size}`);
    data = Array.from({ length: n }, (_, k) =>
      elem === E.float ? v.getFloat32(4 * k, true)
      : elem === E.uint8 ? v.getUint8(k)
      : elem === E.int8 ? v.getInt8(k)
      : elem === E.int32 ? v.getInt32(4 * k, true)
      : elem === E.double ? v.getFloat64(8 * k, true)
      : Number(v.getBigInt64(8 * k, true)));
  } else if (elem === E.float) data = [...(t.floatData ?? [])];
  else if (elem === E.double) data = [...(t.doubleData ?? [])];
  else if (elem === E.int64) data = (t.int64Data ?? []).map(num);
  else if (elem === E.int8 || elem === E.uint8 || elem === E.int32) data = [...(t.int32Data ?? [])];
  else fail(`${where}: element type ${ELEM_NAME[elem] ?? elem} is not supported`);
  if (data.length !== n) fail(`${where}: holds ${data.length} values but ${fmt(dims)} needs ${n}`);
  return { elem, dims, data };
}

function decodeModel(bytes: Uint8Array, label: string): OnnxNs.ModelProto {
  let model: OnnxNs.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    fail(`${label}: not a valid ONNX model (${(e as Error).message.split('\n')[0]})`);
  }
  if (!model.graph || (model.graph.node ?? []).length === 0) fail(`${label}: not a valid ONNX model (no graph or no nodes)`);
  return model;
}

class Importer {
  private values = new Map<string, Value>();
  private used = new Set<string>();
  private nodes: GraphNode[] = [];
  private types = new Map<string, TensorType>();
  private tensors: Graph['tensors'] = {};
  private irInputs: Graph['inputs'] = [];
  readonly inputs: ImportResult['inputs'] = {};
  readonly notes: string[] = [];
  readonly approximations: Approximation[] = [];
  /** Static bound of |value| per IR tensor, per channel (axis 1) or one value for all. */
  private bounds = new Map<string, number[]>();
  private opset = 0;

  constructor(private opts: ImportOptions) {}

  fresh(base: string): string {
    const clean = base.replace(/\s+/g, '_') || 'node';
    let name = clean;
    for (let k = 1; this.used.has(name); k++) name = `${clean}.${k}`;
    this.used.add(name);
    return name;
  }

  emit(op: OpName, inputs: string[], base: string, attrs: Record<string, unknown>, scale: number): TensorValue {
    const name = this.fresh(base);
    const node = { name, op, inputs, output: name, attrs } as GraphNode;
    const type = inferNodeType(node, this.types);
    this.types.set(name, type);
    this.nodes.push(node);
    this.bounds.set(name, this.boundOfNode(node));
    return { kind: 'tensor', ir: name, scale, dtype: type.dtype, shape: type.shape };
  }

  constant(q: QConst, base: string): TensorValue {
    const name = this.fresh(base);
    const data = q.dtype === 'int8' ? Int8Array.from(q.data) : Int32Array.from(q.data);
    this.tensors[name] = { shape: q.dims.length ? [...q.dims] : [1], dtype: q.dtype, data: encodeConstData(data) };
    this.types.set(name, { shape: this.tensors[name]!.shape, dtype: q.dtype });
    return { kind: 'tensor', ir: name, scale: q.scale, dtype: q.dtype, shape: this.tensors[name]!.shape };
  }

  // --- static value bounds (for the fixed-point requantization's overflow and error bounds) ------

  boundOf(ir: string): number {
    const b = this.bounds.get(ir);
    if (b) return Math.max(...b);
    const c = this.tensors[ir];
    if (c) return Math.max(0, ...Array.from(decodeConst(ir, c), Math.abs));
    return this.types.get(ir)?.dtype === 'int8' ? 128 : 2 ** 31;
  }

  private boundOfNode(n: GraphNode): number[] {
    const x = n.inputs[0]!;
    const a = (n.attrs ?? {}) as Record<string, number>;
    switch (n.op) {
      case 'dense':
      case 'conv2d': {
        // Per output channel: Σ|w| times the largest |input|.
        const w = decodeConst(n.inputs[1]!, this.tensors[n.inputs[1]!]!);
        const channels = this.tensors[n.inputs[1]!]!.shape[0]!;
        const per = w.length / channels;
        const xb = this.boundOf(x);
        return Array.from({ length: channels }, (_, c) => {
          let s = 0;
          for (let k = 0; k < per; k++) s += Math.abs(w[c * per + k]!);
          return s * xb;
        });
      }
      case 'bias_add': {
        const b = decodeConst(n.inputs[1]!, this.tensors[n.inputs[1]!]!);
        const xb = this.bounds.get(x) ?? [this.boundOf(x)];
        return Array.from(b, (v, c) => (xb.length === b.length ? xb[c]! : Math.max(...xb)) + Math.abs(v));
      }
      case 'add':
        return [this.boundOf(x) + this.boundOf(n.inputs[1]!)];
      case 'relu':
        return this.bounds.get(x) ?? [this.boundOf(x)];
      case 'clip':
        return (this.bounds.get(x) ?? [this.boundOf(x)]).map((v) => Math.min(v, Math.max(Math.abs(a.min!), Math.abs(a.max!))));
      case 'requantize':
        return [Math.ceil((this.boundOf(x) * (a.multiplier ?? 1)) / 2 ** a.shift!) + 1];
      case 'requantize_float':
        return [Math.ceil(this.boundOf(x) * a.scale!) + 1];
      case 'cast':
        return [Math.min(this.boundOf(x), 128)];
      default:
        return [this.boundOf(x)];
    }
  }

  // --- operand coercions, each with a message naming the node and operand -----------------------

  scalar(v: Value | undefined, where: string, role: string): number {
    if (!v || v.kind !== 'const') fail(`${where}: ${role} must be a constant`);
    if (v.data.length !== 1) fail(`${where}: ${role} has ${v.data.length} values: per-channel quantization is not supported (use per-tensor scales)`);
    return v.data[0]!;
  }

  checkZeroPoint(v: Value | undefined, where: string, allowed: number[], required: boolean): void {
    if (!v) {
      if (required) fail(`${where}: no zero point means uint8 quantization, which is not supported (quantize to int8, symmetric)`);
      return;
    }
    if (v.kind !== 'const') fail(`${where}: zero point must be a constant`);
    if (v.elem === E.uint8) fail(`${where}: uint8 quantization is not supported (quantize to int8, symmetric)`);
    if (!allowed.includes(v.elem)) fail(`${where}: zero point type ${ELEM_NAME[v.elem] ?? v.elem} is not supported`);
    if (v.data.some((z) => z !== 0)) fail(`${where}: zero point ${v.data.find((z) => z !== 0)} is not 0: only symmetric quantization is supported`);
  }

  positiveScale(v: Value | undefined, where: string, role: string): number {
    const s = this.scalar(v, where, role);
    if (!(s > 0) || !Number.isFinite(s)) fail(`${where}: ${role} ${s} must be positive`);
    return s;
  }

  /** A constant integer operand (weights), with its scale. */
  weights(v: Value | undefined, where: string, role: string, dtype: DType = 'int8'): QConst {
    if (v?.kind === 'qconst' && v.dtype === dtype) return v;
    if (v?.kind === 'const' && (v.elem === (dtype === 'int8' ? E.int8 : E.int32))) return { kind: 'qconst', dtype, dims: v.dims, data: v.data, scale: 1 };
    if (v?.kind === 'const' && v.elem === E.float) fail(`${where}: ${role} is a float constant: the model must quantize its weights (QDQ or QLinear* form)`);
    fail(`${where}: ${role} must be a constant ${dtype} tensor (dequantized weights)`);
  }

  tensor(v: Value | undefined, where: string, role: string): TensorValue {
    if (!v) fail(`${where}: ${role} is missing`);
    if (v.kind === 'tensor') return v;
    if (v.kind === 'qconst') return this.constant(v, `${where.split(' ')[1]}.${role}`);
    if (v.kind === 'floatInput') fail(`${where}: ${role} is the float graph input '${v.name}': it must go through QuantizeLinear first`);
    fail(`${where}: ${role} is an unquantized ${ELEM_NAME[v.elem] ?? v.elem} constant`);
  }

  int8(v: Value | undefined, where: string, role: string): TensorValue {
    const t = this.tensor(v, where, role);
    if (t.dtype !== 'int8') fail(`${where}: ${role} is an int32 (accumulator) value: quantize it to int8 before this op`);
    return t;
  }

  // --- requantization -------------------------------------------------------------------------------

  /** int8 tensor holding round(value / s), saturated: the IR form of QuantizeLinear. */
  requantize(t: TensorValue, s: number, where: string, base: string): TensorValue {
    const ratio = t.scale / s;
    let shift = -Math.log2(ratio);
    if (!sameScale(ratio, 1) && !(Number.isInteger(shift) && shift >= 1 && shift <= 31)) {
      const mode = this.opts.scales ?? 'exact';
      const rounded = Math.round(shift);
      const what = `requantization ratio ${+ratio.toPrecision(6)} (scale ${+t.scale.toPrecision(6)} → ${+s.toPrecision(6)})`;
      if (mode === 'vta') return this.requantizeFixedPoint(t, ratio, s, where, base);
      if (mode === 'host') {
        this.notes.push(`${where}: ${what} is not a power of two: requantized on the host with ONNX's float semantics`);
        let v = this.emit('requantize_float', [t.ir], `${base}.requantize`, { scale: ratio }, s);
        v = this.emit('clip', [v.ir], `${base}.clip`, { min: -128, max: 127 }, s);
        return this.emit('cast', [v.ir], `${base}.cast`, { dtype: 'int8' }, s);
      }
      if (mode !== 'pow2' || rounded < 0 || rounded > 31) {
        fail(`${where}: ${what} is not a power of two 2^-n with n in 0..31: use power-of-two scales, or import with ` +
          `scales "vta" (fixed-point m/2^s on VTA, error bound stated) or "host" (exact ONNX requantization on the host)`);
      }
      this.notes.push(`WARNING ${where}: scale ratio ${ratio.toPrecision(6)} rounded to 2^-${rounded}: every output of this step is off by a factor ${(ratio * 2 ** rounded).toPrecision(4)} (scales "pow2"; use "vta" or "host" for accurate results)`);
      shift = rounded;
    }
    if (sameScale(ratio, 1)) shift = 0;
    if (t.dtype === 'int8' && shift === 0) return { ...t, scale: s };
    let v = t;
    if (shift > 0) v = this.emit('requantize', [v.ir], `${base}.requantize`, { shift }, s);
    v = this.emit('clip', [v.ir], `${base}.clip`, { min: -128, max: 127 }, s);
    return this.emit('cast', [v.ir], `${base}.cast`, { dtype: 'int8' }, s);
  }

  /** requantize {multiplier, shift} ≈ ratio on VTA's ALU, with its error bound in `notes`. */
  requantizeFixedPoint(t: TensorValue, ratio: number, s: number, where: string, base: string): TensorValue {
    const accBound = this.boundOf(t.ir);
    const fp = chooseFixedPoint(ratio, accBound);
    if (typeof fp === 'string') fail(`${where}: cannot approximate the requantization on VTA: ${fp} (import with scales "host")`);
    this.approximations.push({ node: `${base}.requantize`, ratio, accBound, ...fp });
    this.notes.push(
      `${where}: ratio ${ratio.toPrecision(6)} ≈ ${fp.multiplier}/2^${fp.shift} (relative error ${fp.relError.toExponential(2)}); ` +
        `|acc| ≤ ${accBound}, so ≤ ${fp.errorBound.toPrecision(3)} output units before rounding, ≤ ${fp.outputBound} after`,
    );
    let v = this.emit('requantize', [t.ir], `${base}.requantize`, { shift: fp.shift, multiplier: fp.multiplier }, s);
    v = this.emit('clip', [v.ir], `${base}.clip`, { min: -128, max: 127 }, s);
    return this.emit('cast', [v.ir], `${base}.cast`, { dtype: 'int8' }, s);
  }

  /** Bias for an accumulator of scale `accScale`: a quantized int32 constant (or an exact float one). */
  bias(v: Value, accScale: number, channels: number, where: string, base: string): TensorValue {
    let data: number[];
    if (v.kind === 'qconst') {
      if (!sameScale(v.scale, accScale)) fail(`${where}: bias scale ${v.scale} differs from input scale × weight scale ${accScale}`);
      data = v.data;
    } else if (v.kind === 'const' && v.elem === E.float) {
      data = v.data.map((b) => roundHalfEven(b / accScale));
      if (data.some((q, k) => q * accScale !== v.data[k])) this.notes.push(`${where}: float bias rounded to multiples of ${accScale}`);
    } else if (v.kind === 'const' && v.elem === E.int32) {
      if (!sameScale(accScale, 1)) fail(`${where}: int32 bias added to a value of scale ${accScale}`);
      data = v.data;
    } else fail(`${where}: bias must be a constant`);
    if (data.length !== channels) fail(`${where}: bias has ${data.length} values but there are ${channels} channels`);
    return this.constant({ kind: 'qconst', dtype: 'int32', dims: [channels], data, scale: accScale }, `${base}.bias`);
  }

  // --- node translation ---------------------------------------------------------------------------

  attrs(node: OnnxNs.INodeProto): Map<string, OnnxNs.IAttributeProto> {
    return new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
  }

  intsAttr(a: Map<string, OnnxNs.IAttributeProto>, key: string, dflt: number[]): number[] {
    const v = a.get(key);
    return v ? (v.ints ?? []).map(num) : dflt;
  }

  intAttr(a: Map<string, OnnxNs.IAttributeProto>, key: string, dflt: number): number {
    const v = a.get(key);
    return v ? num(v.i) : dflt;
  }

  /** stride / pad for conv and pools, refusing what the IR cannot express. */
  window(a: Map<string, OnnxNs.IAttributeProto>, where: string, kernel: number[]): { stride: number[]; pad: number[] } {
    const autoPad = new TextDecoder().decode(a.get('auto_pad')?.s ?? new Uint8Array());
    if (autoPad && autoPad !== 'NOTSET' && autoPad !== 'VALID') fail(`${where}: auto_pad ${autoPad} is not supported: export with explicit pads`);
    if (kernel.length !== 2) fail(`${where}: only 2-D kernels are supported, got ${fmt(kernel)}`);
    if (this.intsAttr(a, 'dilations', [1, 1]).some((d) => d !== 1)) fail(`${where}: dilations are not supported`);
    if (this.intAttr(a, 'ceil_mode', 0) !== 0) fail(`${where}: ceil_mode=1 is not supported`);
    return { stride: this.intsAttr(a, 'strides', [1, 1]), pad: this.intsAttr(a, 'pads', [0, 0, 0, 0]) };
  }

  conv(node: OnnxNs.INodeProto, where: string, x: TensorValue, w: QConst, b: Value | undefined): TensorValue {
    const a = this.attrs(node);
    const { stride, pad } = this.window(a, where, w.dims.slice(2));
    const wt = this.constant(w, `${node.name}.weight`);
    const groups = this.intAttr(a, 'group', 1);
    let out = this.emit('conv2d', [x.ir, wt.ir], node.name!, { stride, pad, groups }, x.scale * w.scale);
    if (b) out = this.emit('bias_add', [out.ir, this.bias(b, out.scale, w.dims[0]!, where, node.name!).ir], `${node.name}.add_bias`, {}, out.scale);
    return out;
  }

  /** dense with weights given as [K, M] (MatMul) or [M, K] (transposed). */
  dense(node: OnnxNs.INodeProto, where: string, x: TensorValue, w: QConst, transposed: boolean): TensorValue {
    if (x.shape.length !== 2) fail(`${where}: input has shape ${fmt(x.shape)}: only 2-D matrix products are supported (flatten first)`);
    if (w.dims.length !== 2) fail(`${where}: weight has shape ${fmt(w.dims)}: must be 2-D`);
    let mk = w;
    if (!transposed) {
      const [k, m] = w.dims as [number, number];
      const data = new Array<number>(k * m);
      for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) data[j * k + i] = w.data[i * m + j]!;
      mk = { ...w, dims: [m, k], data };
    }
    const wt = this.constant(mk, `${node.name}.weight`);
    return this.emit('dense', [x.ir, wt.ir], node.name!, {}, x.scale * w.scale);
  }

  translate(node: OnnxNs.INodeProto, ins: (Value | undefined)[]): Value {
    const op = node.opType ?? '';
    const where = `node ${node.name} (${op})`;
    const base = node.name!;
    const a = this.attrs(node);
    const [x, y] = ins;
    switch (op) {
      case 'QuantizeLinear': {
        const s = this.positiveScale(ins[1], where, 'scale');
        this.checkZeroPoint(ins[2], where, [E.int8], true);
        if (x?.kind === 'floatInput') {
          const prev = this.inputs[x.name];
          if (prev && !sameScale(prev.scale, s)) fail(`${where}: graph input '${x.name}' is quantized with two different scales`);
          if (!prev) {
            const name = this.fresh(x.name);
            this.irInputs.push({ name, shape: x.shape, dtype: 'int8' });
            this.types.set(name, { shape: x.shape, dtype: 'int8' });
            this.inputs[x.name] = { tensor: name, scale: s, dtype: 'int8', float: true };
          }
          return { kind: 'tensor', ir: this.inputs[x.name]!.tensor, scale: 1, dtype: 'int8', shape: x.shape };
        }
        if (x?.kind === 'const' && x.elem === E.float) {
          const data = x.data.map((v) => Math.max(-128, Math.min(127, roundHalfEven(v / s))));
          return { kind: 'const', elem: E.int8, dims: x.dims, data };
        }
        return { ...this.requantize(this.tensor(x, where, 'input'), s, where, base), scale: 1 };
      }
      case 'DequantizeLinear': {
        if (a.has('axis') && ins[1]?.kind === 'const' && ins[1].data.length > 1) fail(`${where}: per-axis scales are not supported (use per-tensor quantization)`);
        const s = this.positiveScale(ins[1], where, 'scale');
        this.checkZeroPoint(ins[2], where, [E.int8, E.int32], false);
        if (x?.kind === 'const') {
          if (x.elem !== E.int8 && x.elem !== E.int32) fail(`${where}: cannot dequantize a ${ELEM_NAME[x.elem] ?? x.elem} constant (int8 or int32 only)`);
          return { kind: 'qconst', dtype: x.elem === E.int8 ? 'int8' : 'int32', dims: x.dims, data: x.data, scale: s };
        }
        const t = this.tensor(x, where, 'input');
        return { ...t, scale: t.scale * s };
      }
      case 'Conv':
        return this.conv(node, where, this.int8(x, where, 'input'), this.weights(y, where, 'weight'), ins[2]);
      case 'ConvInteger':
        this.checkZeroPoint(ins[2], where, [E.int8], false);
        this.checkZeroPoint(ins[3], where, [E.int8], false);
        return this.conv(node, where, this.int8(x, where, 'input'), this.weights(y, where, 'weight'), undefined);
      case 'QLinearConv': {
        const xs = this.positiveScale(ins[1], where, 'x_scale');
        this.checkZeroPoint(ins[2], where, [E.int8], true);
        const w = { ...this.weights(ins[3], where, 'weight'), scale: this.positiveScale(ins[4], where, 'w_scale') };
        this.checkZeroPoint(ins[5], where, [E.int8], true);
        const ys = this.positiveScale(ins[6], where, 'y_scale');
        this.checkZeroPoint(ins[7], where, [E.int8], true);
        const xin = this.int8(x, where, 'input');
        const bias = ins[8]?.kind === 'const' ? { kind: 'qconst' as const, dtype: 'int32' as const, dims: ins[8].dims, data: ins[8].data, scale: xs * w.scale } : ins[8];
        const acc = this.conv(node, where, { ...xin, scale: xs }, w, bias);
        return { ...this.requantize(acc, ys, where, base), scale: 1 };
      }
      case 'MatMul':
        return this.dense(node, where, this.int8(x, where, 'input'), this.weights(y, where, 'weight'), false);
      case 'MatMulInteger':
        this.checkZeroPoint(ins[2], where, [E.int8], false);
        this.checkZeroPoint(ins[3], where, [E.int8], false);
        return this.dense(node, where, this.int8(x, where, 'input'), this.weights(y, where, 'weight'), false);
      case 'QLinearMatMul': {
        const as = this.positiveScale(ins[1], where, 'a_scale');
        this.checkZeroPoint(ins[2], where, [E.int8], true);
        const w = { ...this.weights(ins[3], where, 'weight'), scale: this.positiveScale(ins[4], where, 'b_scale') };
        this.checkZeroPoint(ins[5], where, [E.int8], true);
        const ys = this.positiveScale(ins[6], where, 'y_scale');
        this.checkZeroPoint(ins[7], where, [E.int8], true);
        const acc = this.dense(node, where, { ...this.int8(x, where, 'input'), scale: as }, w, false);
        return { ...this.requantize(acc, ys, where, base), scale: 1 };
      }
      case 'Gemm': {
        if (this.intAttr(a, 'transA', 0) !== 0) fail(`${where}: transA=1 is not supported`);
        for (const k of ['alpha', 'beta']) if (a.has(k) && a.get(k)!.f !== 1) fail(`${where}: ${k} must be 1`);
        const w = this.weights(y, where, 'weight');
        let out = this.dense(node, where, this.int8(x, where, 'input'), w, this.intAttr(a, 'transB', 0) === 1);
        if (ins[2]) out = this.emit('bias_add', [out.ir, this.bias(ins[2], out.scale, out.shape[1]!, where, base).ir], `${base}.add_bias`, {}, out.scale);
        return out;
      }
      case 'Add': {
        const [p, q] = [x, y];
        const constSide = q && q.kind !== 'tensor' ? q : p && p.kind !== 'tensor' ? p : undefined;
        if (constSide) {
          const t = this.tensor(constSide === q ? p : q, where, 'input');
          const channels = t.shape[1];
          const dims = constSide.kind === 'floatInput' ? [] : constSide.dims;
          // A constant that varies only along axis 1 is a bias.
          if (channels !== undefined && count(dims) === channels && dims.every((d, k) => d === 1 || k === dims.length - (t.shape.length - 1))) {
            return this.emit('bias_add', [t.ir, this.bias(constSide, t.scale, channels, where, base).ir], base, {}, t.scale);
          }
        }
        const ta = this.tensor(p, where, 'input A');
        const tb = this.tensor(q, where, 'input B');
        if (!sameScale(ta.scale, tb.scale)) fail(`${where}: inputs have different scales ${ta.scale} and ${tb.scale}: requantize one of them to the other's scale`);
        return this.emit('add', [ta.ir, tb.ir], base, {}, ta.scale);
      }
      case 'Mul': {
        const [t, c] = x?.kind === 'tensor' ? [x, y] : [y, x];
        const factor = this.scalar(c, where, 'factor');
        if (!(factor > 0)) fail(`${where}: only multiplication by a positive scalar constant (a rescale) is supported`);
        const tv = this.tensor(t, where, 'input');
        return { ...tv, scale: tv.scale * factor };
      }
      case 'Cast': {
        const to = this.intAttr(a, 'to', 0);
        if (to !== E.float) fail(`${where}: only casts to float (of integer results) are supported`);
        return this.tensor(x, where, 'input');
      }
      case 'Relu': {
        const t = this.tensor(x, where, 'input');
        return this.emit('relu', [t.ir], base, {}, t.scale);
      }
      case 'Clip': {
        const t = this.tensor(x, where, 'input');
        const lo = this.opset >= 11 ? (ins[1] ? this.scalar(ins[1], where, 'min') : -Infinity) : (a.get('min')?.f ?? -Infinity);
        const hi = this.opset >= 11 ? (ins[2] ? this.scalar(ins[2], where, 'max') : Infinity) : (a.get('max')?.f ?? Infinity);
        const [dmin, dmax] = t.dtype === 'int8' ? [-128, 127] : [-2147483648, 2147483647];
        const min = Math.max(dmin, Math.min(dmax, Math.ceil(lo / t.scale)));
        const max = Math.min(dmax, Math.max(dmin, Math.floor(hi / t.scale)));
        if (min > max) fail(`${where}: clip range [${lo}, ${hi}] is empty at scale ${t.scale}`);
        return this.emit('clip', [t.ir], base, { min, max }, t.scale);
      }
      case 'Flatten': {
        const t = this.tensor(x, where, 'input');
        let axis = this.intAttr(a, 'axis', 1);
        if (axis < 0) axis += t.shape.length;
        return this.emit('flatten', [t.ir], base, { axis }, t.scale);
      }
      case 'Reshape': {
        const t = this.tensor(x, where, 'input');
        if (y?.kind !== 'const') fail(`${where}: the target shape must be a constant (dynamic shapes are not supported)`);
        const allowZero = this.intAttr(a, 'allowzero', 0) === 1;
        const shape = y.data.map((d, k) => (d === 0 && !allowZero ? t.shape[k] ?? fail(`${where}: shape[${k}] = 0 has no input dimension to copy`) : d));
        return this.emit('reshape', [t.ir], base, { shape }, t.scale);
      }
      case 'MaxPool':
      case 'AveragePool': {
        if (node.output && node.output.length > 1 && node.output[1]) fail(`${where}: the Indices output is not supported`);
        const t = this.tensor(x, where, 'input');
        const kernel = this.intsAttr(a, 'kernel_shape', []);
        const w = this.window(a, where, kernel);
        if (op === 'AveragePool' && this.intAttr(a, 'count_include_pad', 0) === 1 && w.pad.some((p) => p !== 0)) {
          fail(`${where}: count_include_pad=1 with padding is not supported`);
        }
        return this.emit(op === 'MaxPool' ? 'max_pool' : 'avg_pool', [t.ir], base, { kernel, ...w }, t.scale);
      }
      case 'GlobalAveragePool': {
        const t = this.tensor(x, where, 'input');
        return this.emit('global_avg_pool', [t.ir], base, {}, t.scale);
      }
      case 'Identity':
      case 'Dropout':
        if (!x) fail(`${where}: input is missing`);
        return x;
      default:
        fail(`${where}: operator ${op} is not supported (supported: QuantizeLinear, DequantizeLinear, QLinearConv, QLinearMatMul, ` +
          'MatMulInteger, ConvInteger, Conv, MatMul, Gemm, Add, Mul, Cast, Relu, Clip, Flatten, Reshape, MaxPool, AveragePool, GlobalAveragePool, Identity, Dropout)');
    }
  }

  run(model: OnnxNs.ModelProto, label: string): ImportResult {
    const g = model.graph!;
    const name = g.name || label;
    const opsets = model.opsetImport ?? [];
    const main = opsets.find((o) => !o.domain || o.domain === 'ai.onnx');
    this.opset = main ? num(main.version) : 0;
    if (this.opset < MIN_OPSET || this.opset > MAX_OPSET) fail(`${label}: opset ${this.opset} is not supported (supported: ${MIN_OPSET}..${MAX_OPSET})`);
    const nodes = g.node ?? [];
    nodes.forEach((n, k) => {
      if (!n.name) n.name = `${(n.opType ?? 'node').toLowerCase()}_${k}`;
    });
    if (!nodes.some((n) => QUANT_OPS.has(n.opType ?? ''))) fail(`model ${name} is not quantized: quantize it first (QDQ or QLinear* form)`);

    for (const init of g.initializer ?? []) this.values.set(init.name ?? '', { kind: 'const', ...tensorData(init, `initializer '${init.name}'`) });
    for (const input of g.input ?? []) {
      const iname = input.name ?? '';
      if (this.values.has(iname)) continue; // an initializer listed as an input (old exporters)
      const tt = input.type?.tensorType;
      if (!tt) fail(`input '${iname}': only tensor inputs are supported`);
      const dims = tt.shape?.dim ?? [];
      const shape = dims.map((d, k) => {
        if (d.dimParam || d.dimValue == null || num(d.dimValue) < 1) fail(`input '${iname}': dimension ${k} is dynamic${d.dimParam ? ` ('${d.dimParam}')` : ''}: give it a fixed size`);
        return num(d.dimValue);
      });
      const elem = tt.elemType ?? 0;
      if (elem === E.float) this.values.set(iname, { kind: 'floatInput', name: iname, shape });
      else if (elem === E.int8) {
        const irName = this.fresh(iname);
        this.irInputs.push({ name: irName, shape, dtype: 'int8' });
        this.types.set(irName, { shape, dtype: 'int8' });
        this.inputs[iname] = { tensor: irName, scale: 1, dtype: 'int8', float: false };
        this.values.set(iname, { kind: 'tensor', ir: irName, scale: 1, dtype: 'int8', shape });
      } else fail(`input '${iname}': element type ${ELEM_NAME[elem] ?? elem} is not supported (float or int8)`);
    }

    for (const node of nodes) {
      const where = `node ${node.name} (${node.opType})`;
      if (node.domain && node.domain !== 'ai.onnx') fail(`${where}: operator domain '${node.domain}' is not supported`);
      const ins = (node.input ?? []).map((n) => {
        if (n === '') return undefined;
        const v = this.values.get(n);
        if (!v) fail(`${where}: input '${n}' is not produced by an earlier node`);
        return v;
      });
      let out: Value;
      if (node.opType === 'Constant') {
        const t = this.attrs(node).get('value')?.t;
        if (!t) fail(`${where}: only the 'value' form of Constant is supported`);
        out = { kind: 'const', ...tensorData(t, where) };
      } else out = this.translate(node, ins);
      this.values.set(node.output?.[0] ?? '', out);
    }

    const outputs: Record<string, ScaledTensor> = {};
    for (const o of g.output ?? []) {
      const v = this.values.get(o.name ?? '');
      if (!v || v.kind !== 'tensor') fail(`output '${o.name}': is not computed from the model inputs`);
      outputs[o.name ?? ''] = { tensor: v.ir, scale: v.scale, dtype: v.dtype };
    }
    for (const [iname, v] of this.values) {
      if (v.kind === 'floatInput' && !this.inputs[iname]) fail(`input '${iname}': is float and never quantized by a QuantizeLinear`);
    }
    const graph = validateGraph({
      format: 'vta-graph/1',
      name,
      inputs: this.irInputs,
      outputs: [...new Set(Object.values(outputs).map((o) => o.tensor))],
      tensors: this.tensors,
      nodes: this.nodes,
    });
    return { graph, inputs: this.inputs, outputs, notes: this.notes, approximations: this.approximations };
  }
}

/**
 * Import a quantized ONNX model (path or bytes). Throws a one-line VtaError (E_ONNX, E_MODEL or
 * E_READ) naming the file or node at fault.
 */
export function importOnnx(source: string | Uint8Array, opts: ImportOptions = {}): ImportResult {
  let bytes: Uint8Array;
  const label = typeof source === 'string' ? source : 'ONNX model';
  if (typeof source === 'string') {
    try {
      bytes = readFileCapped(source);
    } catch (e) {
      throw new VtaError('E_READ', `cannot read ${source}: ${fileErrorReason(e)}`);
    }
  } else bytes = source;
  const model = decodeModel(bytes, label);
  try {
    return new Importer(opts).run(model, label.replace(/^.*\//, '').replace(/\.onnx$/, ''));
  } catch (e) {
    if (e instanceof VtaError && typeof source === 'string' && !e.message.startsWith(source)) throw new VtaError(e.code, `${source}: ${e.message}`);
    throw e;
  }
}

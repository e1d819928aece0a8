/**
 * One small translator per supported ONNX operator: ONNX node → IR nodes (or a change of scale).
 * The keys of TRANSLATORS are the supported-operator list; an operator not in it is refused with
 * that list. Constant is not here: it is a value, read by the importer before any operator runs.
 *
 * Integer forms (what VTA runs): Conv / Gemm / MatMul on an int8 activation and dequantized
 * weights, requantized by the QuantizeLinear that follows; Add of two quantized tensors (rescaled
 * on the ALU); MaxPool, Relu, Clip and layout ops on quantized tensors. Everything else runs in
 * float on the host: its quantized inputs are dequantized, its output quantized again by the
 * model's next QuantizeLinear.
 */
import type { OpName } from '../../graph/ir.ts';
import type { Attributes, OnnxNode } from './read.ts';
import { ELEM, count, elemName, fail, fmt } from './read.ts';
import type { Emitted, GraphBuilder } from './builder.ts';
import { rowSums } from '../../lib/array-loops.ts';
import {
  constant, positiveScales, realValues, roundHalfEven, sameScale, scalar, zeroPoints,
  type FloatTensor, type IntTensor, type QConst, type QTensor, type Quantization, type Value,
} from './quant.ts';

/** What a translator works with: the graph being built, the quantization state and the node. */
export interface Translation {
  b: GraphBuilder;
  q: Quantization;
  opset: number;
  node: OnnxNode;
  ins: (Value | undefined)[];
  attrs: Attributes;
  /** "node NAME (OP)", the prefix of every refusal. */
  where: string;
  /** Base name of the IR nodes made for this node. */
  base: string;
}

type Translator = (t: Translation) => Value;

const floatValue = (e: Emitted): FloatTensor => ({ kind: 'float', ...e });

/**
 * stride / pad for conv and pools (`kernel`: the weight's spatial dims, or the pool's kernel_shape),
 * refusing attributes that do not fit the kernel as onnxruntime does, and what the IR cannot express.
 */
function window(a: Attributes, where: string, kernel: number[]): { stride: number[]; pad: number[] } {
  const autoPad = a.string('auto_pad');
  if (autoPad && autoPad !== 'NOTSET' && autoPad !== 'VALID') fail(`${where}: auto_pad ${autoPad} is not supported: export with explicit pads`);
  const given = a.ints('kernel_shape', kernel);
  if (fmt(given) !== fmt(kernel)) fail(`${where}: kernel_shape ${fmt(given)} does not match the weight's kernel ${fmt(kernel)}`);
  const rank = kernel.length;
  const stride = a.ints('strides', kernel.map(() => 1));
  const pad = a.ints('pads', [...kernel, ...kernel].map(() => 0));
  const dilations = a.ints('dilations', kernel.map(() => 1));
  for (const [name, v, n] of [['strides', stride, rank], ['pads', pad, 2 * rank], ['dilations', dilations, rank]] as const) {
    if (v.length !== n) fail(`${where}: ${name} ${fmt(v)} has ${v.length} values but the ${rank}-D kernel needs ${n}`);
  }
  if (stride.some((s) => s < 1)) fail(`${where}: strides ${fmt(stride)} must be positive`);
  if (dilations.some((d) => d < 1)) fail(`${where}: dilations ${fmt(dilations)} must be positive`);
  if (pad.some((p) => p < 0)) fail(`${where}: pads ${fmt(pad)} must not be negative`);
  if (kernel.some((k) => k < 1)) fail(`${where}: kernel_shape ${fmt(kernel)} must be positive`);
  if (rank !== 2) fail(`${where}: only 2-D kernels are supported, got ${fmt(kernel)}`);
  if (dilations.some((d) => d !== 1)) fail(`${where}: dilations are not supported`);
  if (a.int('ceil_mode', 0) !== 0) fail(`${where}: ceil_mode=1 is not supported`);
  return { stride, pad };
}

/** Conv's group against its input [N, C, …] and weight [M, C / group, …], checked as onnxruntime does. */
function checkGroups(t: Translation, x: number[], w: number[]): number {
  const group = t.attrs.int('group', 1);
  if (group < 1) fail(`${t.where}: group ${group} must be positive`);
  if (w[0]! % group !== 0) fail(`${t.where}: the weight's ${w[0]} output channels are not divisible by group ${group}`);
  if (x[1] !== w[1]! * group) fail(`${t.where}: the input has ${x[1]} channels but the weight ${fmt(w)} with group ${group} takes ${w[1]! * group}`);
  return group;
}

/** A pool's kernel_shape, which ONNX requires. */
function poolKernel(t: Translation): number[] {
  if (!t.attrs.has('kernel_shape')) fail(`${t.where}: kernel_shape is missing (required)`);
  return t.attrs.ints('kernel_shape', []);
}

// --- weights ----------------------------------------------------------------------------------------

/** Weights as integers (w − zw) laid out [out, rest…], with one scale per output channel (or one). */
interface IntWeights { dims: number[]; data: Int8Array | Int32Array; scale: number[]; dtype: 'int8' | 'int32' }

/** A weight operand for an integer GEMM whose output channels run along `outAxis`, or undefined (float path). */
function intWeights(v: Value | undefined, outAxis: number): QConst | undefined {
  if (v?.kind === 'qconst') {
    if (v.scale.length > 1 && v.axis !== outAxis) return undefined;
    if (v.zp.length > 1 && v.axis !== outAxis) return undefined;
    return v;
  }
  if (v?.kind === 'const' && (v.elem === ELEM.int8 || v.elem === ELEM.uint8 || v.elem === ELEM.int32)) {
    return { kind: 'qconst', elem: v.elem, dims: v.dims, data: v.data, scale: [1], zp: [0], axis: outAxis };
  }
  return undefined;
}

/** Subtract the weight zero points; [K, M] weights (outAxis 1) are transposed to [M, K]. */
function weightMatrix(w: QConst, outAxis: number): IntWeights {
  const dims = w.dims;
  const channels = dims[outAxis]!;
  const zpOf = (c: number) => w.zp[w.zp.length === 1 ? 0 : c]!;
  const scale = w.scale.length === 1 ? [w.scale[0]!] : [...w.scale];
  // int8 weights without zero points (the usual export) are the matrix already: no copy.
  if (outAxis === 0 && w.data instanceof Int8Array && w.zp.every((z) => z === 0)) return { dims: [...dims], data: w.data, dtype: 'int8', scale };
  let data: Int32Array;
  let outDims: number[];
  if (outAxis === 0) {
    const per = count(dims) / channels;
    data = new Int32Array(w.data.length);
    for (let c = 0; c < channels; c++) {
      const zp = zpOf(c);
      for (let i = c * per; i < (c + 1) * per; i++) data[i] = w.data[i]! - zp;
    }
    outDims = [...dims];
  } else {
    const [k, m] = dims as [number, number];
    data = new Int32Array(k * m);
    for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) data[j * k + i] = w.data[i * m + j]! - zpOf(j);
    outDims = [m, k];
  }
  // new Int8Array(typed) copies natively; Int8Array.from walks an iterator per element.
  return fitsInt8(data) ? { dims: outDims, data: new Int8Array(data), dtype: 'int8', scale } : { dims: outDims, data, dtype: 'int32', scale };
}

function fitsInt8(data: Int32Array): boolean {
  for (let i = 0; i < data.length; i++) if (data[i]! < -128 || data[i]! > 127) return false;
  return true;
}

/** Σ_k w[oc][k] per output channel. */

/**
 * The int32 bias of an accumulator of scale sx·sw[c], with the activation zero point folded in:
 * bias[c] − zx·Σw[c] (the GEMM runs on x's int8 values, which are the real ones plus zx).
 */
function accumulatorBias(t: Translation, bias: Value | undefined, accScale: number[], w: IntWeights, zx: number): Emitted | undefined {
  const channels = w.dims[0]!;
  let data: number[] = new Array<number>(channels).fill(0);
  if (bias) {
    const scaleOf = (c: number) => accScale[accScale.length === 1 ? 0 : c]!;
    if (bias.kind === 'qconst' && bias.elem === ELEM.int32 && bias.zp.every((z) => z === 0) &&
      bias.data.every((_, c) => sameScale(bias.scale[bias.scale.length === 1 ? 0 : c]!, scaleOf(c)))) {
      data = Array.from(bias.data);
    } else if (bias.kind === 'qconst' || (bias.kind === 'const' && bias.elem === ELEM.float)) {
      const real = bias.kind === 'qconst' ? realValues(bias) : bias.data;
      data = Array.from(real, (r, c) => roundHalfEven(r / scaleOf(c)));
      t.q.notes.push(`${t.where}: bias rounded to multiples of the accumulator scale`);
    } else if (bias.kind === 'const' && bias.elem === ELEM.int32) data = Array.from(bias.data);
    else fail(`${t.where}: bias must be a constant`);
    if (data.length !== channels) fail(`${t.where}: bias has ${data.length} values but there are ${channels} channels`);
  }
  if (zx !== 0) {
    const sums = rowSums(w.data, w.dims[0]!);
    data = data.map((v, c) => v - zx * sums[c]!);
  }
  if (!bias && zx === 0) return undefined;
  return t.q.intConst(data, [channels], `${t.base}.bias`);
}

/** The accumulator of an integer GEMM: int32, zero point 0, scale sx·sw per output channel. */
function accumulator(e: Emitted, sx: number, w: IntWeights): QTensor {
  return { kind: 'q', ...e, scale: w.scale.map((s) => sx * s), zp: 0 };
}

function withBias(t: Translation, acc: QTensor, bias: Emitted | undefined): QTensor {
  if (!bias) return acc;
  return { ...acc, ...t.b.emit('bias_add', [acc.ir, bias.ir], `${t.base}.add_bias`, {}) };
}

function conv(t: Translation, x: QTensor, wq: QConst, bias: Value | undefined): QTensor {
  const { b, where, base } = t;
  const w = weightMatrix(wq, 0);
  const { stride, pad } = window(t.attrs, where, w.dims.slice(2));
  let input: Emitted = x;
  let convPad = pad;
  if (x.zp !== 0 && pad.some((p) => p !== 0)) {
    // Pad with the zero point (a real 0), exactly at every border; the conv itself pads nothing.
    input = b.emit('pad', [x.ir], `${base}.pad`, { pads: [0, 0, pad[0]!, pad[1]!, 0, 0, pad[2]!, pad[3]!], value: x.zp });
    convPad = [0, 0, 0, 0];
  }
  const groups = checkGroups(t, x.shape, w.dims);
  const wt = b.constant(w, `${base}.weight`);
  const out = b.emit('conv2d', [input.ir, wt.ir], base, { stride, pad: convPad, groups });
  const acc = accumulator(out, x.scale[0]!, w);
  return withBias(t, acc, accumulatorBias(t, bias, acc.scale, w, x.zp));
}

/** dense with weights given as [K, M] (MatMul) or [M, K] (Gemm transB). */
function dense(t: Translation, x: QTensor, wq: QConst, transposed: boolean, bias: Value | undefined): QTensor {
  const w = weightMatrix(wq, transposed ? 0 : 1);
  const wt = t.b.constant(w, `${t.base}.weight`);
  const out = t.b.emit('dense', [x.ir, wt.ir], t.base, {});
  const acc = accumulator(out, x.scale[0]!, w);
  return withBias(t, acc, accumulatorBias(t, bias, acc.scale, w, x.zp));
}

/** Batched / 3-D integer MatMul (host): matmul, minus zx·Σ_k b[…, k, n]. */
function batchedMatmul(t: Translation, x: QTensor, wq: QConst): QTensor {
  if (wq.scale.length > 1) return floatFallback(t) as never;
  const zpb = wq.zp[0]!;
  const data = Int32Array.from(wq.data, (v) => v - zpb);
  const wt = t.b.constant(fitsInt8(data) ? { dtype: 'int8', dims: wq.dims, data: new Int8Array(data) } : { dtype: 'int32', dims: wq.dims, data }, `${t.base}.weight`);
  let out = t.b.emit('matmul', [x.ir, wt.ir], t.base, {});
  if (x.zp !== 0) {
    const [kk, n] = wq.dims.slice(-2) as [number, number];
    const lead = wq.dims.slice(0, -2);
    const batches = count(lead);
    const corr: number[] = [];
    for (let bi = 0; bi < batches; bi++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < kk; k++) s += data[bi * kk * n + k * n + j]!;
        corr.push(-x.zp * s);
      }
    }
    const c = t.q.intConst(corr, [...lead, 1, n], `${t.base}.zero_point_terms`);
    out = t.b.emit('add', [out.ir, c.ir], `${t.base}.sub_zero_point_terms`, {});
  }
  return { kind: 'q', ...out, scale: [x.scale[0]! * wq.scale[0]!], zp: 0 };
}

// --- float fallback -----------------------------------------------------------------------------------

/** The ONNX node run in float on the host: its tensor inputs dequantized, its float ops emitted. */
function floatFallback(t: Translation): Value {
  const f = FLOAT_OPS.get(t.node.opType);
  if (!f) fail(`${t.where}: operator ${t.node.opType} has no float form`);
  return f(t);
}

const fl = (t: Translation, k: number, role = `input${k}`): FloatTensor => t.q.toFloat(t.ins[k], t.where, role, t.base);

const unary = (op: OpName, attrs: (t: Translation) => Record<string, unknown> = () => ({})): Translator => (t) =>
  floatValue(t.b.emit(op, [fl(t, 0).ir], t.base, attrs(t)));

const binary = (op: OpName): Translator => (t) => floatValue(t.b.emit(op, [fl(t, 0).ir, fl(t, 1).ir], t.base, {}));

function floatConv(t: Translation): Value {
  const x = fl(t, 0);
  const w = fl(t, 1, 'weight');
  const { stride, pad } = window(t.attrs, t.where, w.shape.slice(2));
  let out = t.b.emit('conv2d', [x.ir, w.ir], t.base, { stride, pad, groups: checkGroups(t, x.shape, w.shape) });
  if (t.ins[2]) out = t.b.emit('bias_add', [out.ir, fl(t, 2, 'bias').ir], `${t.base}.add_bias`, {});
  return floatValue(out);
}

function floatGemm(t: Translation): Value {
  const { attrs, b, base } = t;
  let a = fl(t, 0);
  let w = fl(t, 1, 'weight');
  if (attrs.int('transA', 0) === 1) a = floatValue(b.emit('transpose', [a.ir], `${base}.transpose_a`, { perm: [1, 0] }));
  if (attrs.int('transB', 0) === 0) w = floatValue(b.emit('transpose', [w.ir], `${base}.transpose_b`, { perm: [1, 0] }));
  let out = b.emit('dense', [a.ir, w.ir], base, {});
  const alpha = attrs.float('alpha') ?? 1;
  if (alpha !== 1) out = b.emit('mul', [out.ir, fl({ ...t, ins: [{ kind: 'const', elem: ELEM.float, dims: [], data: Float32Array.of(alpha) }] }, 0, 'alpha').ir], `${base}.alpha`, {});
  if (t.ins[2]) {
    const beta = attrs.float('beta') ?? 1;
    let c: Emitted = fl(t, 2, 'bias');
    if (beta !== 1) c = b.emit('mul', [c.ir, fl({ ...t, ins: [{ kind: 'const', elem: ELEM.float, dims: [], data: Float32Array.of(beta) }] }, 0, 'beta').ir], `${base}.beta`, {});
    out = b.emit('add', [out.ir, c.ir], `${base}.add_bias`, {});
  }
  return floatValue(out);
}

function floatPool(op: 'max_pool' | 'avg_pool'): Translator {
  return (t) => {
    const kernel = poolKernel(t);
    const w = window(t.attrs, t.where, kernel);
    if (op === 'avg_pool' && t.attrs.int('count_include_pad', 0) === 1 && w.pad.some((p) => p !== 0)) fail(`${t.where}: count_include_pad=1 with padding is not supported`);
    return floatValue(t.b.emit(op, [fl(t, 0).ir], t.base, { kernel, ...w }));
  };
}

function floatBatchNorm(t: Translation): Value {
  const x = fl(t, 0);
  const eps = t.attrs.float('epsilon') ?? 1e-5;
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((k) => constant(t.ins[k], t.where, ['scale', 'B', 'mean', 'var'][k - 1]!).data);
  const c = scale!.length;
  const mul = Array.from(scale!, (s, k) => Math.fround(s / Math.sqrt(variance![k]! + eps)));
  const add = Array.from(bias!, (bb, k) => Math.fround(bb - mean![k]! * mul[k]!));
  const dims = [c, ...x.shape.slice(2).map(() => 1)];
  const m = t.b.constant({ dtype: 'float32', dims, data: mul }, `${t.base}.scale`);
  const a = t.b.constant({ dtype: 'float32', dims, data: add }, `${t.base}.shift`);
  const y = t.b.emit('mul', [x.ir, m.ir], `${t.base}.mul`, {});
  return floatValue(t.b.emit('add', [y.ir, a.ir], t.base, {}));
}

function floatClip(t: Translation): Value {
  const [lo, hi] = clipBounds(t);
  const x = fl(t, 0);
  return floatValue(t.b.emit('clip', [x.ir], t.base, { min: Math.max(lo, -3.4e38), max: Math.min(hi, 3.4e38) }));
}

function clipBounds({ ins, where, attrs, opset }: Translation): [number, number] {
  const lo = opset >= 11 ? (ins[1] ? scalar(ins[1], where, 'min') : -Infinity) : (attrs.float('min') ?? -Infinity);
  const hi = opset >= 11 ? (ins[2] ? scalar(ins[2], where, 'max') : Infinity) : (attrs.float('max') ?? Infinity);
  return [lo, hi];
}

function axesOf(t: Translation, inputIndex: number): number[] | undefined {
  if (t.attrs.has('axes')) return t.attrs.ints('axes', []);
  const v = t.ins[inputIndex];
  return v ? Array.from(constant(v, t.where, 'axes').data) : undefined;
}

/** Squeeze / Unsqueeze / Flatten / Reshape target shapes (pure layout). */
function layoutShape(t: Translation, shape: number[]): number[] {
  const r = shape.length;
  switch (t.node.opType) {
    case 'Flatten': {
      let axis = t.attrs.int('axis', 1);
      if (axis < 0) axis += r;
      return [count(shape.slice(0, axis)), count(shape.slice(axis))];
    }
    case 'Squeeze': {
      const axes = (axesOf(t, 1) ?? shape.flatMap((d, k) => (d === 1 ? [k] : []))).map((a) => (a < 0 ? a + r : a));
      const out = shape.filter((_, k) => !axes.includes(k));
      return out.length ? out : [1];
    }
    case 'Unsqueeze': {
      const axes = axesOf(t, 1) ?? fail(`${t.where}: axes are missing`);
      const out = [...shape];
      const n = r + axes.length;
      for (const a of axes.map((x) => (x < 0 ? x + n : x)).sort((p, q) => p - q)) out.splice(a, 0, 1);
      return out;
    }
    default: {
      const y = t.opset < 5 ? t.attrs.ints('shape', []) : constant(t.ins[1], t.where, 'shape').data;
      const allowZero = t.attrs.int('allowzero', 0) === 1;
      return Array.from(y, (d, k) => (d === 0 && !allowZero ? shape[k] ?? fail(`${t.where}: shape[${k}] = 0 has no input dimension to copy`) : d));
    }
  }
}

/** Layout ops keep a tensor's quantization; on a float value they run in float. */
const layout: Translator = (t) => {
  const v = t.ins[0];
  if (!v) fail(`${t.where}: input is missing`);
  if (v.kind === 'const' || v.kind === 'qconst') {
    const dims = layoutShape(t, v.dims);
    return { ...v, dims } as Value;
  }
  const x = v.kind === 'add' ? t.q.toFloat(v, t.where, 'input', t.base) : v;
  const shape = layoutShape(t, x.shape);
  const axis = t.attrs.int('axis', 1);
  const e = t.node.opType === 'Flatten'
    ? t.b.emit('flatten', [x.ir], t.base, { axis: axis < 0 ? axis + x.shape.length : axis })
    : t.b.emit('reshape', [x.ir], t.base, { shape });
  return { ...x, ...e } as Value;
};

const transpose: Translator = (t) => {
  const v = t.ins[0];
  const perm = t.attrs.has('perm') ? { perm: t.attrs.ints('perm', []) } : {};
  if (v?.kind === 'q' && v.scale.length === 1) return { ...v, ...t.b.emit('transpose', [v.ir], t.base, perm) };
  return floatValue(t.b.emit('transpose', [fl(t, 0).ir], t.base, perm));
};

const FLOAT_OPS: ReadonlyMap<string, Translator> = new Map(Object.entries<Translator>({
  Conv: floatConv,
  Gemm: floatGemm,
  MatMul: binary('matmul'),
  Add: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  Div: binary('div'),
  Relu: unary('relu'),
  Clip: floatClip,
  Sigmoid: unary('sigmoid'),
  HardSigmoid: unary('hard_sigmoid', (t) => ({ alpha: t.attrs.float('alpha') ?? 0.2, beta: t.attrs.float('beta') ?? 0.5 })),
  HardSwish: unary('hard_swish'),
  Softmax: unary('softmax', (t) => ({ axis: t.attrs.int('axis', t.opset >= 13 ? -1 : 1) })),
  ReduceMean: (t) => {
    const axes = axesOf(t, 1);
    return floatValue(t.b.emit('reduce_mean', [fl(t, 0).ir], t.base, { ...(axes ? { axes } : {}), keepdims: t.attrs.int('keepdims', 1) }));
  },
  Concat: (t) => floatValue(t.b.emit('concat', t.ins.map((_, k) => fl(t, k).ir), t.base, { axis: t.attrs.int('axis', 0) })),
  Pad: (t) => {
    const pads = t.opset >= 11 ? Array.from(constant(t.ins[1], t.where, 'pads').data) : t.attrs.ints('pads', []);
    const value = t.opset >= 11 ? (t.ins[2] ? scalar(t.ins[2], t.where, 'constant_value') : 0) : (t.attrs.float('value') ?? 0);
    const mode = t.attrs.string('mode');
    if (mode && mode !== 'constant') fail(`${t.where}: pad mode ${mode} is not supported (constant only)`);
    return floatValue(t.b.emit('pad', [fl(t, 0).ir], t.base, { pads, value }));
  },
  BatchNormalization: floatBatchNorm,
  MaxPool: floatPool('max_pool'),
  AveragePool: floatPool('avg_pool'),
  GlobalAveragePool: unary('global_avg_pool'),
}));

// --- quantization operators ----------------------------------------------------------------------

/** The quantization parameters of a QuantizeLinear / DequantizeLinear node. */
function quantParams(t: Translation, scaleIdx: number, defaultElem: number): { scale: number[]; zp: number[]; elem: number; axis: number } {
  const scale = positiveScales(t.ins[scaleIdx], t.where, 'scale');
  const { elem, zp } = zeroPoints(t.ins[scaleIdx + 1], t.where, defaultElem);
  return { scale, zp, elem, axis: t.attrs.int('axis', 1) };
}

/** DequantizeLinear of any value (integer tensor or constant). */
function dequantize(t: Translation, x: Value | undefined, scale: number[], zp: number[], axis: number, zpElem?: number): Value {
  if (!x) fail(`${t.where}: input is missing`);
  // ONNX binds x and its zero point to one type T: onnxruntime refuses the model otherwise.
  if (zpElem !== undefined && (x.kind === 'const' || x.kind === 'int') && x.elem !== zpElem) {
    fail(`${t.where}: the input is ${elemName(x.elem)} but its zero point is ${elemName(zpElem)} (they must be one type)`);
  }
  if (x.kind === 'const') {
    const ax = axis < 0 ? axis + x.dims.length : axis;
    return { kind: 'qconst', elem: x.elem, dims: x.dims, data: x.data, scale, zp, axis: ax };
  }
  if (x.kind !== 'int') fail(`${t.where}: input is not an integer tensor`);
  const ax = axis < 0 ? axis + x.shape.length : axis;
  return t.q.dequantized(x, scale, zp, ax, t.where, t.base);
}

const quantizeLinear: Translator = (t) => {
  const x = t.ins[0];
  if (!x) fail(`${t.where}: input is missing`);
  const { scale, zp, elem, axis } = quantParams(t, 1, ELEM.uint8);
  const ax = axis < 0 ? axis + (x.kind === 'const' || x.kind === 'qconst' ? x.dims.length : x.shape.length) : axis;
  if (x.kind === 'int') fail(`${t.where}: input is an integer tensor (QuantizeLinear takes float)`);
  return t.q.quantize(x, scale, zp, elem, ax, t.where, t.base);
};

const dequantizeLinear: Translator = (t) => {
  const { scale, zp, elem, axis } = quantParams(t, 1, ELEM.uint8);
  return dequantize(t, t.ins[0], scale, zp, axis, t.ins[2] ? elem : undefined);
};

/** A QLinear* node as DequantizeLinear of its inputs → the float op's translator → QuantizeLinear. */
function qlinear(op: string, operands: [number, number, number][], out: number, extra: (t: Translation) => (Value | undefined)[] = () => []): Translator {
  return (t) => {
    const ins = operands.map(([x, s, axis]) => {
      const sc = positiveScales(t.ins[s], t.where, 'scale');
      const { zp, elem } = zeroPoints(t.ins[s + 1], t.where, ELEM.uint8);
      return dequantize(t, t.ins[x], sc, zp, axis, t.ins[s + 1] ? elem : undefined);
    });
    const inner = { ...t, node: { ...t.node, opType: op }, ins: [...ins, ...extra(t)] };
    const y = translate(inner);
    const scale = positiveScales(t.ins[out], t.where, 'y_scale');
    const zpv = t.ins[out + 1];
    const { elem, zp } = zeroPoints(zpv, t.where, t.ins[0]?.kind === 'int' ? t.ins[0].elem : ELEM.uint8);
    return t.q.quantize(y, scale, zp, elem, 1, t.where, `${t.base}.out`);
  };
}

/** com.microsoft QLinearConcat(y_scale, y_zero_point, (x, x_scale, x_zero_point)…): float concat on the host. */
const qlinearConcat: Translator = (t) => {
  const triples = (t.ins.length - 2) / 3;
  const ops: [number, number, number][] = Array.from({ length: triples }, (_, k) => [2 + 3 * k, 3 + 3 * k, 1]);
  const ins = ops.map(([x, s, axis]) => dequantize(t, t.ins[x], positiveScales(t.ins[s], t.where, 'scale'), zeroPoints(t.ins[s + 1], t.where, ELEM.uint8).zp, axis));
  const y = translate({ ...t, node: { ...t.node, opType: 'Concat' }, ins });
  const { elem, zp } = zeroPoints(t.ins[1], t.where, ELEM.uint8);
  return t.q.quantize(y, positiveScales(t.ins[0], t.where, 'y_scale'), zp, elem, 1, t.where, `${t.base}.out`);
};

/** ConvInteger / MatMulInteger: the int32 product of (x − zx) and (w − zw). */
function integerProduct(op: 'Conv' | 'MatMul'): Translator {
  return (t) => {
    const { zp: zx } = zeroPoints(t.ins[2], t.where, ELEM.uint8);
    const { zp: zw } = zeroPoints(t.ins[3], t.where, ELEM.uint8);
    const x = dequantize(t, t.ins[0], [1], zx, 1);
    const w = dequantize(t, t.ins[1], zw.map(() => 1), zw, op === 'Conv' ? 0 : 1);
    const y = translate({ ...t, node: { ...t.node, opType: op }, ins: [x, w] });
    if (y.kind !== 'q' || y.dtype !== 'int32') fail(`${t.where}: the integer product could not be formed`);
    return { kind: 'int', ir: y.ir, dtype: y.dtype, shape: y.shape, elem: ELEM.int32, offset: 0 } satisfies IntTensor;
  };
}

// --- quantized-or-float operators ------------------------------------------------------------------

const convOp: Translator = (t) => {
  const x = t.q.activation(t.ins[0]);
  const w = intWeights(t.ins[1], 0);
  if (!x || !w || w.dims.length !== 4) return floatFallback(t);
  return conv(t, x, w, t.ins[2]);
};

const matMulOp: Translator = (t) => {
  const x = t.q.activation(t.ins[0]);
  const w0 = t.ins[1];
  if (x && (w0?.kind === 'qconst' || w0?.kind === 'const') && (x.shape.length !== 2 || w0.dims.length !== 2)) {
    const wb = intWeights(w0, w0.dims.length - 1);
    if (wb && wb.scale.length === 1) return batchedMatmul(t, x, wb);
    return floatFallback(t);
  }
  const w = intWeights(w0, 1);
  if (!x || !w || w.dims.length !== 2) return floatFallback(t);
  return dense(t, x, w, false, undefined);
};

const gemmOp: Translator = (t) => {
  const { attrs } = t;
  const transB = attrs.int('transB', 0) === 1;
  const x = t.q.activation(t.ins[0]);
  const w = intWeights(t.ins[1], transB ? 0 : 1);
  const plain = attrs.int('transA', 0) === 0 && (attrs.float('alpha') ?? 1) === 1 && (attrs.float('beta') ?? 1) === 1;
  if (!x || !w || !plain || x.shape.length !== 2) return floatFallback(t);
  return dense(t, x, w, transB, t.ins[2]);
};

const addOp: Translator = (t) => {
  const [p, r] = t.ins;
  // An accumulator plus a constant along axis 1: a bias.
  for (const [acc, c] of [[p, r], [r, p]] as const) {
    if (acc?.kind === 'q' && acc.dtype === 'int32' && (c?.kind === 'qconst' || c?.kind === 'const')) {
      const channels = acc.shape[1];
      if (channels !== undefined && count(c.dims) === channels && c.dims.every((d, k) => d === 1 || k === c.dims.length - (acc.shape.length - 1))) {
        const flat = { ...c, dims: [channels], axis: 0 } as Value;
        const w: IntWeights = { dims: [channels, 1], data: new Int8Array(channels), scale: acc.scale, dtype: 'int8' };
        const bias = accumulatorBias(t, flat, acc.scale, w, 0)!;
        return withBias(t, acc, bias);
      }
    }
  }
  const a = t.q.activation(p);
  const b = t.q.activation(r);
  if (a && b && a.shape.join(',') === b.shape.join(',')) return { kind: 'add', a, b, shape: a.shape };
  return floatFallback(t);
};

const mulOp: Translator = (t) => {
  const [x, y] = t.ins;
  const [v, c] = x?.kind === 'q' ? [x, y] : [y, x];
  if (v?.kind === 'q' && c?.kind === 'const' && c.data.length === 1 && c.data[0]! > 0) return { ...v, scale: v.scale.map((s) => s * c.data[0]!) };
  return floatFallback(t);
};

const reluOp: Translator = (t) => {
  // Relu of an Add of equal scales (a residual block's end): relu of the int32 sum, on VTA.
  const v = t.ins[0]?.kind === 'add' ? t.q.integerSum(t.ins[0], `${t.base}.sum`) ?? t.ins[0] : t.ins[0];
  if (v?.kind === 'q' && v.dtype === 'int32' && v.zp === 0) return { ...v, ...t.b.emit('relu', [v.ir], t.base, {}) };
  if (v?.kind === 'q' && v.dtype === 'int8') return { ...v, ...t.b.emit('clip', [v.ir], t.base, { min: Math.max(-128, v.zp), max: 127 }) };
  // Relu of an Add of different scales: applied by the QuantizeLinear that follows (its lower bound).
  if (v?.kind === 'add' && !v.relu) return { ...v, relu: true };
  return floatFallback(t);
};

const clipOp: Translator = (t) => {
  const v = t.ins[0];
  if (v?.kind !== 'q' || v.scale.length !== 1) return floatFallback(t);
  const [lo, hi] = clipBounds(t);
  const s = v.scale[0]!;
  const [dmin, dmax] = v.dtype === 'int8' ? [-128, 127] : [-2147483648, 2147483647];
  const min = Math.max(dmin, Math.min(dmax, Math.ceil(lo / s) + v.zp));
  const max = Math.min(dmax, Math.max(dmin, Math.floor(hi / s) + v.zp));
  if (min > max) fail(`${t.where}: clip range [${lo}, ${hi}] is empty at scale ${s}`);
  return { ...v, ...t.b.emit('clip', [v.ir], t.base, { min, max }) };
};

const maxPoolOp: Translator = (t) => {
  const v = t.ins[0];
  if (t.node.outputs.length > 1 && t.node.outputs[1]) fail(`${t.where}: the Indices output is not supported`);
  // uint8 → int8 by − 128 keeps the order, so an integer max pool is the same in either domain.
  if ((v?.kind !== 'q' || v.scale.length !== 1) && v?.kind !== 'int') return floatFallback(t);
  const kernel = poolKernel(t);
  return { ...v, ...t.b.emit('max_pool', [v.ir], t.base, { kernel, ...window(t.attrs, t.where, kernel) }) };
};

const castOp: Translator = (t) => {
  const v = t.ins[0];
  const to = t.attrs.int('to', 0);
  if (!v) fail(`${t.where}: input is missing`);
  if (v.kind === 'const') {
    const data = to === ELEM.float ? Float32Array.from(v.data) : Float64Array.from(v.data, Math.trunc);
    return { ...v, elem: to, data };
  }
  if (v.kind === 'int') {
    if (to === v.elem) return v;
    if (to === ELEM.float) {
      if (v.elem === ELEM.int32) return { kind: 'q', ir: v.ir, dtype: v.dtype, shape: v.shape, scale: [1], zp: 0 };
      return { kind: 'q', ir: v.ir, dtype: v.dtype, shape: v.shape, scale: [1], zp: -v.offset };
    }
    fail(`${t.where}: cast of a ${v.elem} tensor to type ${to} is not supported`);
  }
  if (to === ELEM.float) return v;
  fail(`${t.where}: only casts to float of computed values are supported`);
};

const constantOfShape: Translator = (t) => {
  const shape = Array.from(constant(t.ins[0], t.where, 'shape').data);
  const value = t.attrs.tensor('value', t.where) ?? { elem: ELEM.float, dims: [1], data: Float32Array.of(0) };
  return { kind: 'const', elem: value.elem, dims: shape, data: new Float64Array(count(shape)).fill(value.data[0] ?? 0) };
};

/** Shape of a tensor whose shape is static (every shape here is): an int64 constant. */
const shapeOp: Translator = (t) => {
  const v = t.ins[0];
  if (!v) fail(`${t.where}: input is missing`);
  const dims = v.kind === 'const' || v.kind === 'qconst' ? v.dims : v.shape;
  return { kind: 'const', elem: ELEM.int64, dims: [dims.length], data: Float64Array.from(dims) };
};

/** Gather on constants (shape arithmetic, as exporters write it): folded. */
const gatherOp: Translator = (t) => {
  const data = constant(t.ins[0], t.where, 'data');
  const indices = constant(t.ins[1], t.where, 'indices');
  if (data.dims.length !== 1 || t.attrs.int('axis', 0) !== 0) fail(`${t.where}: Gather is supported on 1-D constants (shape arithmetic) only`);
  const n = data.data.length;
  const picked = Float64Array.from(indices.data, (i) => {
    const k = i < 0 ? i + n : i;
    if (k < 0 || k >= n) fail(`${t.where}: index ${i} is out of range for ${n} values`);
    return data.data[k]!;
  });
  return { kind: 'const', elem: data.elem, dims: indices.dims, data: picked };
};

/** Concat of constants (a shape being built) is folded; of tensors, it runs in float on the host. */
const concatOp: Translator = (t) => {
  if (!t.ins.every((v) => v?.kind === 'const')) return floatFallback(t);
  const parts = t.ins.map((v) => v as Extract<Value, { kind: 'const' }>);
  if (parts.some((p) => p.dims.length > 1)) return floatFallback(t);
  const data = Float64Array.from(parts.flatMap((p) => Array.from(p.data)));
  return { kind: 'const', elem: parts[0]!.elem, dims: [data.length], data };
};

function passThrough({ ins, where }: Translation): Value {
  if (!ins[0]) fail(`${where}: input is missing`);
  return ins[0];
}

/** Translators by ONNX operator; the order is that of the supported-operator list in refusals. */
export const TRANSLATORS: ReadonlyMap<string, Translator> = new Map(Object.entries<Translator>({
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
  QLinearConv: qlinear('Conv', [[0, 1, 1], [3, 4, 0]], 6, (t) => [t.ins[8] ? dequantizeBias(t) : undefined]),
  QLinearMatMul: qlinear('MatMul', [[0, 1, 1], [3, 4, -1]], 6),
  MatMulInteger: integerProduct('MatMul'),
  ConvInteger: integerProduct('Conv'),
  QLinearAdd: qlinear('Add', [[0, 1, 1], [3, 4, 1]], 6),
  QLinearMul: qlinear('Mul', [[0, 1, 1], [3, 4, 1]], 6),
  QLinearGlobalAveragePool: qlinear('GlobalAveragePool', [[0, 1, 1]], 3),
  QLinearAveragePool: qlinear('AveragePool', [[0, 1, 1]], 3),
  QLinearConcat: qlinearConcat,
  Conv: convOp,
  MatMul: matMulOp,
  Gemm: gemmOp,
  Add: addOp,
  Mul: mulOp,
  Sub: floatFallback,
  Div: floatFallback,
  Relu: reluOp,
  Clip: clipOp,
  MaxPool: maxPoolOp,
  AveragePool: floatFallback,
  GlobalAveragePool: floatFallback,
  Flatten: layout,
  Reshape: layout,
  Squeeze: layout,
  Unsqueeze: layout,
  Transpose: transpose,
  Concat: concatOp,
  Pad: floatFallback,
  Softmax: floatFallback,
  Sigmoid: floatFallback,
  HardSigmoid: floatFallback,
  HardSwish: floatFallback,
  ReduceMean: floatFallback,
  BatchNormalization: floatFallback,
  Cast: castOp,
  ConstantOfShape: constantOfShape,
  Shape: shapeOp,
  Gather: gatherOp,
  Identity: passThrough,
  Dropout: passThrough,
}));

/** QLinearConv's int32 bias B at scale x_scale · w_scale (per channel). */
function dequantizeBias(t: Translation): Value {
  const xs = positiveScales(t.ins[1], t.where, 'x_scale')[0]!;
  const ws = positiveScales(t.ins[4], t.where, 'w_scale');
  const bias = constant(t.ins[8], t.where, 'bias');
  return { kind: 'qconst', elem: ELEM.int32, dims: bias.dims, data: bias.data, scale: ws.map((s) => xs * s), zp: [0], axis: 0 };
}

/** The ONNX operators the importer translates (Constant aside), in the order refusals list them. */
export const SUPPORTED_OPS: readonly string[] = [...TRANSLATORS.keys()];

/** Translate one node, refusing an operator that has no translator. */
export function translate(t: Translation): Value {
  const translator = TRANSLATORS.get(t.node.opType);
  if (!translator) fail(`${t.where}: operator ${t.node.opType} is not supported (supported: ${SUPPORTED_OPS.join(', ')})`);
  return translator(t);
}



/**
 * One small translator per supported ONNX operator: ONNX node → IR nodes (or a change of scale).
 * The keys of TRANSLATORS are the supported-operator list; an operator not in it is refused with
 * that list. Constant is not here: it is a value, read by the importer before any operator runs.
 */
import type { Attributes, OnnxNode } from './read.ts';
import { ELEM, count, elemName, fail, fmt } from './read.ts';
import type { GraphBuilder } from './builder.ts';
import {
  checkZeroPoint, positiveScale, roundHalfEven, sameScale, scalar, weights,
  type QConst, type Quantization, type TensorValue, type Value,
} from './quant.ts';

/** An IR tensor and the real scale of its values (ONNX value ≈ scale · integer). */
export interface ScaledTensor {
  tensor: string;
  scale: number;
  dtype: TensorValue['dtype'];
}

/** A graph input as imported: float ONNX inputs are fed as round(x / scale). */
export type ImportedInput = ScaledTensor & { float: boolean };

/** What a translator works with: the graph being built, the quantization state and the node. */
export interface Translation {
  b: GraphBuilder;
  q: Quantization;
  opset: number;
  /** Per ONNX graph input, its IR input (filled as QuantizeLinear nodes quantize float inputs). */
  inputs: Record<string, ImportedInput>;
  node: OnnxNode;
  ins: (Value | undefined)[];
  attrs: Attributes;
  /** "node NAME (OP)", the prefix of every refusal. */
  where: string;
  /** Base name of the IR nodes made for this node. */
  base: string;
}

type Translator = (t: Translation) => Value;

/** stride / pad for conv and pools, refusing what the IR cannot express. */
function window(a: Attributes, where: string, kernel: number[]): { stride: number[]; pad: number[] } {
  const autoPad = a.string('auto_pad');
  if (autoPad && autoPad !== 'NOTSET' && autoPad !== 'VALID') fail(`${where}: auto_pad ${autoPad} is not supported: export with explicit pads`);
  if (kernel.length !== 2) fail(`${where}: only 2-D kernels are supported, got ${fmt(kernel)}`);
  if (a.ints('dilations', [1, 1]).some((d) => d !== 1)) fail(`${where}: dilations are not supported`);
  if (a.int('ceil_mode', 0) !== 0) fail(`${where}: ceil_mode=1 is not supported`);
  return { stride: a.ints('strides', [1, 1]), pad: a.ints('pads', [0, 0, 0, 0]) };
}

function conv(t: Translation, x: TensorValue, w: QConst, bias: Value | undefined): TensorValue {
  const { b, q, node, where } = t;
  const { stride, pad } = window(t.attrs, where, w.dims.slice(2));
  const wt = b.constant(w, `${node.name}.weight`);
  const groups = t.attrs.int('group', 1);
  let out = b.emit('conv2d', [x.ir, wt.ir], node.name, { stride, pad, groups }, x.scale * w.scale);
  if (bias) out = b.emit('bias_add', [out.ir, q.bias(bias, out.scale, w.dims[0]!, where, node.name).ir], `${node.name}.add_bias`, {}, out.scale);
  return out;
}

/** dense with weights given as [K, M] (MatMul) or [M, K] (transposed). */
function dense(t: Translation, x: TensorValue, w: QConst, transposed: boolean): TensorValue {
  const { where } = t;
  if (x.shape.length !== 2) fail(`${where}: input has shape ${fmt(x.shape)}: only 2-D matrix products are supported (flatten first)`);
  if (w.dims.length !== 2) fail(`${where}: weight has shape ${fmt(w.dims)}: must be 2-D`);
  let mk = w;
  if (!transposed) {
    const [k, m] = w.dims as [number, number];
    const data = new Array<number>(k * m);
    for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) data[j * k + i] = w.data[i * m + j]!;
    mk = { ...w, dims: [m, k], data };
  }
  const wt = t.b.constant(mk, `${t.node.name}.weight`);
  return t.b.emit('dense', [x.ir, wt.ir], t.node.name, {}, x.scale * w.scale);
}

/** QuantizeLinear of a float graph input: the input becomes an int8 IR input of that scale. */
function quantizeGraphInput(t: Translation, x: Extract<Value, { kind: 'floatInput' }>, s: number): Value {
  const prev = t.inputs[x.name];
  if (prev && !sameScale(prev.scale, s)) fail(`${t.where}: graph input '${x.name}' is quantized with two different scales`);
  if (!prev) t.inputs[x.name] = { tensor: t.b.input(x.name, x.shape), scale: s, dtype: 'int8', float: true };
  return { kind: 'tensor', ir: t.inputs[x.name]!.tensor, scale: 1, dtype: 'int8', shape: x.shape };
}

const quantizeLinear: Translator = (t) => {
  const { ins, where, q } = t;
  const x = ins[0];
  const s = positiveScale(ins[1], where, 'scale');
  checkZeroPoint(ins[2], where, [ELEM.int8], true);
  if (x?.kind === 'floatInput') return quantizeGraphInput(t, x, s);
  if (x?.kind === 'const' && x.elem === ELEM.float) {
    const data = x.data.map((v) => Math.max(-128, Math.min(127, roundHalfEven(v / s))));
    return { kind: 'const', elem: ELEM.int8, dims: x.dims, data };
  }
  return { ...q.requantize(q.tensor(x, where, 'input'), s, where, t.base), scale: 1 };
};

const dequantizeLinear: Translator = ({ ins, where, attrs, q }) => {
  const x = ins[0];
  if (attrs.has('axis') && ins[1]?.kind === 'const' && ins[1].data.length > 1) fail(`${where}: per-axis scales are not supported (use per-tensor quantization)`);
  const s = positiveScale(ins[1], where, 'scale');
  checkZeroPoint(ins[2], where, [ELEM.int8, ELEM.int32], false);
  if (x?.kind === 'const') {
    if (x.elem !== ELEM.int8 && x.elem !== ELEM.int32) fail(`${where}: cannot dequantize a ${elemName(x.elem)} constant (int8 or int32 only)`);
    return { kind: 'qconst', dtype: x.elem === ELEM.int8 ? 'int8' : 'int32', dims: x.dims, data: x.data, scale: s };
  }
  const tv = q.tensor(x, where, 'input');
  return { ...tv, scale: tv.scale * s };
};

/** The operands of QLinearConv / QLinearMatMul: input scale, weights with their scale, output scale. */
function qlinearOperands({ ins, where }: Translation, inputScale: string, weightScale: string): { xs: number; w: QConst; ys: number } {
  const xs = positiveScale(ins[1], where, inputScale);
  checkZeroPoint(ins[2], where, [ELEM.int8], true);
  const w = { ...weights(ins[3], where, 'weight'), scale: positiveScale(ins[4], where, weightScale) };
  checkZeroPoint(ins[5], where, [ELEM.int8], true);
  const ys = positiveScale(ins[6], where, 'y_scale');
  checkZeroPoint(ins[7], where, [ELEM.int8], true);
  return { xs, w, ys };
}

const qlinearConv: Translator = (t) => {
  const { ins, where, q } = t;
  const { xs, w, ys } = qlinearOperands(t, 'x_scale', 'w_scale');
  const xin = q.int8(ins[0], where, 'input');
  const b = ins[8];
  const bias = b?.kind === 'const' ? { kind: 'qconst' as const, dtype: 'int32' as const, dims: b.dims, data: b.data, scale: xs * w.scale } : b;
  const acc = conv(t, { ...xin, scale: xs }, w, bias);
  return { ...q.requantize(acc, ys, where, t.base), scale: 1 };
};

const qlinearMatMul: Translator = (t) => {
  const { xs, w, ys } = qlinearOperands(t, 'a_scale', 'b_scale');
  const acc = dense(t, { ...t.q.int8(t.ins[0], t.where, 'input'), scale: xs }, w, false);
  return { ...t.q.requantize(acc, ys, t.where, t.base), scale: 1 };
};

const integerZeroPoints = ({ ins, where }: Translation): void => {
  checkZeroPoint(ins[2], where, [ELEM.int8], false);
  checkZeroPoint(ins[3], where, [ELEM.int8], false);
};

const gemm: Translator = (t) => {
  const { ins, where, attrs, b, q, base } = t;
  if (attrs.int('transA', 0) !== 0) fail(`${where}: transA=1 is not supported`);
  for (const k of ['alpha', 'beta']) if (attrs.has(k) && attrs.float(k) !== 1) fail(`${where}: ${k} must be 1`);
  const w = weights(ins[1], where, 'weight');
  let out = dense(t, q.int8(ins[0], where, 'input'), w, attrs.int('transB', 0) === 1);
  if (ins[2]) out = b.emit('bias_add', [out.ir, q.bias(ins[2], out.scale, out.shape[1]!, where, base).ir], `${base}.add_bias`, {}, out.scale);
  return out;
};

const add: Translator = ({ ins, where, b, q, base }) => {
  const [p, r] = ins;
  const constSide = r && r.kind !== 'tensor' ? r : p && p.kind !== 'tensor' ? p : undefined;
  if (constSide) {
    const t = q.tensor(constSide === r ? p : r, where, 'input');
    const channels = t.shape[1];
    const dims = constSide.kind === 'floatInput' ? [] : constSide.dims;
    // A constant that varies only along axis 1 is a bias.
    if (channels !== undefined && count(dims) === channels && dims.every((d, k) => d === 1 || k === dims.length - (t.shape.length - 1))) {
      return b.emit('bias_add', [t.ir, q.bias(constSide, t.scale, channels, where, base).ir], base, {}, t.scale);
    }
  }
  const ta = q.tensor(p, where, 'input A');
  const tb = q.tensor(r, where, 'input B');
  if (!sameScale(ta.scale, tb.scale)) fail(`${where}: inputs have different scales ${ta.scale} and ${tb.scale}: requantize one of them to the other's scale`);
  return b.emit('add', [ta.ir, tb.ir], base, {}, ta.scale);
};

const mul: Translator = ({ ins, where, q }) => {
  const [x, y] = ins;
  const [t, c] = x?.kind === 'tensor' ? [x, y] : [y, x];
  const factor = scalar(c, where, 'factor');
  if (!(factor > 0)) fail(`${where}: only multiplication by a positive scalar constant (a rescale) is supported`);
  const tv = q.tensor(t, where, 'input');
  return { ...tv, scale: tv.scale * factor };
};

const clip: Translator = ({ ins, where, attrs, b, q, base, opset }) => {
  const t = q.tensor(ins[0], where, 'input');
  const lo = opset >= 11 ? (ins[1] ? scalar(ins[1], where, 'min') : -Infinity) : (attrs.float('min') ?? -Infinity);
  const hi = opset >= 11 ? (ins[2] ? scalar(ins[2], where, 'max') : Infinity) : (attrs.float('max') ?? Infinity);
  const [dmin, dmax] = t.dtype === 'int8' ? [-128, 127] : [-2147483648, 2147483647];
  const min = Math.max(dmin, Math.min(dmax, Math.ceil(lo / t.scale)));
  const max = Math.min(dmax, Math.max(dmin, Math.floor(hi / t.scale)));
  if (min > max) fail(`${where}: clip range [${lo}, ${hi}] is empty at scale ${t.scale}`);
  return b.emit('clip', [t.ir], base, { min, max }, t.scale);
};

const reshape: Translator = ({ ins, where, attrs, b, q, base }) => {
  const t = q.tensor(ins[0], where, 'input');
  const y = ins[1];
  if (y?.kind !== 'const') fail(`${where}: the target shape must be a constant (dynamic shapes are not supported)`);
  const allowZero = attrs.int('allowzero', 0) === 1;
  const shape = y.data.map((d, k) => (d === 0 && !allowZero ? t.shape[k] ?? fail(`${where}: shape[${k}] = 0 has no input dimension to copy`) : d));
  return b.emit('reshape', [t.ir], base, { shape }, t.scale);
};

const pool = (op: 'max_pool' | 'avg_pool'): Translator => ({ node, ins, where, attrs, b, q, base }) => {
  if (node.outputs.length > 1 && node.outputs[1]) fail(`${where}: the Indices output is not supported`);
  const t = q.tensor(ins[0], where, 'input');
  const kernel = attrs.ints('kernel_shape', []);
  const w = window(attrs, where, kernel);
  if (op === 'avg_pool' && attrs.int('count_include_pad', 0) === 1 && w.pad.some((p) => p !== 0)) {
    fail(`${where}: count_include_pad=1 with padding is not supported`);
  }
  return b.emit(op, [t.ir], base, { kernel, ...w }, t.scale);
};

/** Translators by ONNX operator; the order is that of the supported-operator list in refusals. */
export const TRANSLATORS: ReadonlyMap<string, Translator> = new Map(Object.entries<Translator>({
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
  QLinearConv: qlinearConv,
  QLinearMatMul: qlinearMatMul,
  MatMulInteger: (t) => {
    integerZeroPoints(t);
    return dense(t, t.q.int8(t.ins[0], t.where, 'input'), weights(t.ins[1], t.where, 'weight'), false);
  },
  ConvInteger: (t) => {
    integerZeroPoints(t);
    return conv(t, t.q.int8(t.ins[0], t.where, 'input'), weights(t.ins[1], t.where, 'weight'), undefined);
  },
  Conv: (t) => conv(t, t.q.int8(t.ins[0], t.where, 'input'), weights(t.ins[1], t.where, 'weight'), t.ins[2]),
  MatMul: (t) => dense(t, t.q.int8(t.ins[0], t.where, 'input'), weights(t.ins[1], t.where, 'weight'), false),
  Gemm: gemm,
  Add: add,
  Mul: mul,
  Cast: ({ ins, where, attrs, q }) => {
    if (attrs.int('to', 0) !== ELEM.float) fail(`${where}: only casts to float (of integer results) are supported`);
    return q.tensor(ins[0], where, 'input');
  },
  Relu: ({ ins, where, b, q, base }) => {
    const t = q.tensor(ins[0], where, 'input');
    return b.emit('relu', [t.ir], base, {}, t.scale);
  },
  Clip: clip,
  Flatten: ({ ins, where, attrs, b, q, base }) => {
    const t = q.tensor(ins[0], where, 'input');
    let axis = attrs.int('axis', 1);
    if (axis < 0) axis += t.shape.length;
    return b.emit('flatten', [t.ir], base, { axis }, t.scale);
  },
  Reshape: reshape,
  MaxPool: pool('max_pool'),
  AveragePool: pool('avg_pool'),
  GlobalAveragePool: ({ ins, where, b, q, base }) => {
    const t = q.tensor(ins[0], where, 'input');
    return b.emit('global_avg_pool', [t.ir], base, {}, t.scale);
  },
  Identity: passThrough,
  Dropout: passThrough,
}));

function passThrough({ ins, where }: Translation): Value {
  if (!ins[0]) fail(`${where}: input is missing`);
  return ins[0];
}

/** The ONNX operators the importer translates (Constant aside), in the order refusals list them. */
export const SUPPORTED_OPS: readonly string[] = [...TRANSLATORS.keys()];

/** Translate one node, refusing an operator that has no translator. */
export function translate(t: Translation): Value {
  const translator = TRANSLATORS.get(t.node.opType);
  if (!translator) fail(`${t.where}: operator ${t.node.opType} is not supported (supported: ${SUPPORTED_OPS.join(', ')})`);
  return translator(t);
}

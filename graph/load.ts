/**
 * Loading and validating `vta-graph/1` models (the format is documented in docs/model-format.md).
 *
 * `loadGraph` accepts a path or an already-parsed object and returns a checked copy with every
 * attribute default filled in, so later stages never see a half-formed graph. Every problem is a
 * VtaError with code E_MODEL and one line that names the node (or tensor) and the field at fault.
 * `inferShapes` gives the type of every tensor; it is the single place where shape rules live.
 */
import { DTYPE_INFO, DTYPES, fromLittleEndianBytes, holdsDType, isDType, toLittleEndianBytes, type TypedData } from '../lib/dtype.ts';
import { VtaError } from '../lib/errors.ts';
import { readTextOrFail } from '../lib/files.ts';
import { nameRecord, setName } from '../lib/named.ts';
import { describeValue } from '../lib/describe-value.ts';
import type { ConstTensor, DType, Graph, GraphNode, OpName, Tensor, TensorType, TensorTypes } from './ir.ts';
import { FILE_LIMITS, MAX_TENSOR_ELEMENTS } from '../lib/limits.ts';

export const MODEL_ERROR = 'E_MODEL';

const FORMAT = 'vta-graph/1';
const range = (d: DType): [number, number] => [DTYPE_INFO[d].min, DTYPE_INFO[d].max];
/** Guards against models whose tensors could not fit in memory anyway (and against shape typos). */

function fail(message: string): never {
  throw new VtaError(MODEL_ERROR, message);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const fmtShape = (s: readonly number[]): string => `[${s.join(',')}]`;
const product = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Number of elements of a shape. */
export function elementCount(shape: readonly number[]): number {
  return product(shape);
}

// ---------------------------------------------------------------------------------------------
// Attributes: per op, the allowed keys, their checks and their defaults.

type AttrChecker = (where: string, attrs: Record<string, unknown>) => Record<string, unknown>;

function intIn(where: string, key: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(`${where}: attribute '${key}' must be an integer, got ${describeValue(v)}`);
  if (v < min || v > max) fail(`${where}: attribute '${key}' = ${v} is out of range [${min}, ${max}]`);
  return v;
}

function intList(where: string, key: string, v: unknown, length: number, min: number): number[] {
  if (!Array.isArray(v) || v.length !== length) fail(`${where}: attribute '${key}' must be a list of ${length} integers, got ${describeValue(v)}`);
  return v.map((x, i) => intIn(where, `${key}[${i}]`, x, min, 1 << 20));
}

function finite(where: string, key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${where}: attribute '${key}' must be a finite number, got ${describeValue(v)}`);
  return v;
}

/** A list of 1..max integers (any sign) within ±2^20, e.g. axes or a permutation. */
function intListAny(where: string, key: string, v: unknown, max = 16): number[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > max) fail(`${where}: attribute '${key}' must be a list of 1 to ${max} integers, got ${describeValue(v)}`);
  return v.map((x, i) => intIn(where, `${key}[${i}]`, x, -(1 << 20), 1 << 20));
}

/** Quantization parameters: scale[] (positive, finite) and zero_point[] of the same length, axis. */
function quantParams(where: string, a: Record<string, unknown>, zeroRange: [number, number]): { scale: number[]; zero_point: number[]; axis: number } {
  const scale = required(where, a, 'scale');
  if (!Array.isArray(scale) || scale.length === 0) fail(`${where}: attribute 'scale' must be a non-empty list of positive numbers`);
  scale.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || !(v > 0)) fail(`${where}: attribute 'scale[${i}]' must be a positive finite number, got ${describeValue(v)}`);
  });
  const zp = a.zero_point === undefined ? scale.map(() => 0) : a.zero_point;
  if (!Array.isArray(zp) || zp.length !== scale.length) fail(`${where}: attribute 'zero_point' must be a list of ${scale.length} integers (one per scale)`);
  const zero_point = zp.map((v, i) => intIn(where, `zero_point[${i}]`, v, zeroRange[0], zeroRange[1]));
  const axis = a.axis === undefined ? 1 : intIn(where, 'axis', a.axis, -8, 7);
  return { scale: [...(scale as number[])], zero_point, axis };
}

function onlyKeys(where: string, attrs: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(attrs)) {
    if (!allowed.includes(k)) {
      fail(`${where}: unknown attribute '${k}'${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ' (this op takes none)'}`);
    }
  }
}

function required(where: string, attrs: Record<string, unknown>, key: string): unknown {
  if (!(key in attrs)) fail(`${where}: missing attribute '${key}'`);
  return attrs[key];
}

const noAttrs: AttrChecker = (where, a) => {
  onlyKeys(where, a, []);
  return {};
};

const poolAttrs: AttrChecker = (where, a) => {
  onlyKeys(where, a, ['kernel', 'stride', 'pad']);
  const kernel = intList(where, 'kernel', required(where, a, 'kernel'), 2, 1);
  const stride = a.stride === undefined ? [1, 1] : intList(where, 'stride', a.stride, 2, 1);
  const pad = a.pad === undefined ? [0, 0, 0, 0] : intList(where, 'pad', a.pad, 4, 0);
  // A window made only of padding has no value to take the max or average of.
  if (pad[0]! >= kernel[0]! || pad[2]! >= kernel[0]! || pad[1]! >= kernel[1]! || pad[3]! >= kernel[1]!) {
    fail(`${where}: pad ${fmtShape(pad)} must be smaller than the kernel ${fmtShape(kernel)}`);
  }
  return { kernel, stride, pad };
};

const ATTRS: Record<OpName, AttrChecker> = {
  quantize: (where, a) => {
    onlyKeys(where, a, ['scale', 'zero_point', 'axis', 'dtype']);
    const dtype = required(where, a, 'dtype');
    if (dtype !== 'int8' && dtype !== 'uint8' && dtype !== 'int32') fail(`${where}: attribute 'dtype' must be int8, uint8 or int32, got ${describeValue(dtype)}`);
    return { ...quantParams(where, a, range(dtype)), dtype };
  },
  dequantize: (where, a) => {
    onlyKeys(where, a, ['scale', 'zero_point', 'axis']);
    return quantParams(where, a, range('int32'));
  },
  dense: noAttrs,
  conv2d: (where, a) => {
    onlyKeys(where, a, ['stride', 'pad', 'groups']);
    return {
      stride: a.stride === undefined ? [1, 1] : intList(where, 'stride', a.stride, 2, 1),
      pad: a.pad === undefined ? [0, 0, 0, 0] : intList(where, 'pad', a.pad, 4, 0),
      groups: a.groups === undefined ? 1 : intIn(where, 'groups', a.groups, 1, 1 << 20),
    };
  },
  bias_add: noAttrs,
  requantize: (where, a) => {
    onlyKeys(where, a, ['shift', 'multiplier', 'rounding']);
    // VTA's SHR uses the low 5 bits of the count, so larger shifts cannot be lowered faithfully;
    // the multiplier must fit the ALU's 16-bit signed immediate.
    // Defaults (multiplier 1, rounding half_up) are left out, so older graphs normalize as before.
    const shift = intIn(where, 'shift', required(where, a, 'shift'), 0, 31);
    const multiplier = a.multiplier === undefined ? 1 : intIn(where, 'multiplier', a.multiplier, 1, 32767);
    const rounding = a.rounding ?? 'half_up';
    if (rounding !== 'half_up' && rounding !== 'half_even') fail(`${where}: attribute 'rounding' must be "half_up" or "half_even", got ${describeValue(rounding)}`);
    return { shift, ...(multiplier === 1 ? {} : { multiplier }), ...(rounding === 'half_up' ? {} : { rounding }) };
  },
  requantize_float: (where, a) => {
    onlyKeys(where, a, ['scale']);
    const scale = required(where, a, 'scale');
    if (typeof scale !== 'number' || !Number.isFinite(scale) || !(scale > 0)) fail(`${where}: attribute 'scale' must be a positive finite number, got ${describeValue(scale)}`);
    return { scale };
  },
  relu: noAttrs,
  clip: (where, a) => {
    onlyKeys(where, a, ['min', 'max']);
    // Integer bounds for integer inputs are checked against the input's range in inferNode.
    const min = finite(where, 'min', required(where, a, 'min'));
    const max = finite(where, 'max', required(where, a, 'max'));
    if (min > max) fail(`${where}: attribute 'min' = ${min} is greater than 'max' = ${max}`);
    return { min, max };
  },
  cast: (where, a) => {
    onlyKeys(where, a, ['dtype']);
    const dtype = required(where, a, 'dtype');
    if (!isDType(dtype)) fail(`${where}: attribute 'dtype' must be one of ${DTYPES.join(', ')}, got ${describeValue(dtype)}`);
    return { dtype };
  },
  add: noAttrs,
  sub: noAttrs,
  mul: noAttrs,
  div: noAttrs,
  reshape: (where, a) => {
    onlyKeys(where, a, ['shape']);
    const shape = required(where, a, 'shape');
    if (!Array.isArray(shape) || shape.length === 0) fail(`${where}: attribute 'shape' must be a non-empty list of integers`);
    const dims = shape.map((d, i) => intIn(where, `shape[${i}]`, d, -1, MAX_TENSOR_ELEMENTS));
    if (dims.includes(0)) fail(`${where}: attribute 'shape' ${fmtShape(dims)} has a zero dimension`);
    if (dims.filter((d) => d === -1).length > 1) fail(`${where}: attribute 'shape' ${fmtShape(dims)} has more than one -1`);
    return { shape: dims };
  },
  flatten: (where, a) => {
    onlyKeys(where, a, ['axis']);
    return { axis: a.axis === undefined ? 1 : intIn(where, 'axis', a.axis, 0, 16) };
  },
  max_pool: poolAttrs,
  avg_pool: poolAttrs,
  global_avg_pool: noAttrs,
  pad: (where, a) => {
    onlyKeys(where, a, ['pads', 'value']);
    const pads = required(where, a, 'pads');
    if (!Array.isArray(pads) || pads.length === 0 || pads.length % 2 !== 0) fail(`${where}: attribute 'pads' must be a list of 2·rank integers`);
    return { pads: pads.map((p, i) => intIn(where, `pads[${i}]`, p, 0, 1 << 16)), value: a.value === undefined ? 0 : finite(where, 'value', a.value) };
  },
  concat: (where, a) => {
    onlyKeys(where, a, ['axis']);
    return { axis: intIn(where, 'axis', required(where, a, 'axis'), -8, 7) };
  },
  transpose: (where, a) => {
    onlyKeys(where, a, ['perm']);
    return a.perm === undefined ? {} : { perm: intListAny(where, 'perm', a.perm, 8) };
  },
  sigmoid: noAttrs,
  hard_sigmoid: (where, a) => {
    onlyKeys(where, a, ['alpha', 'beta']);
    return { alpha: a.alpha === undefined ? 0.2 : finite(where, 'alpha', a.alpha), beta: a.beta === undefined ? 0.5 : finite(where, 'beta', a.beta) };
  },
  hard_swish: noAttrs,
  softmax: (where, a) => {
    onlyKeys(where, a, ['axis']);
    return { axis: a.axis === undefined ? -1 : intIn(where, 'axis', a.axis, -8, 7) };
  },
  reduce_mean: (where, a) => {
    onlyKeys(where, a, ['axes', 'keepdims']);
    return { ...(a.axes === undefined ? {} : { axes: intListAny(where, 'axes', a.axes, 8) }), keepdims: a.keepdims === undefined ? 1 : intIn(where, 'keepdims', a.keepdims, 0, 1) };
  },
  matmul: noAttrs,
};

export const OP_NAMES = Object.keys(ATTRS) as OpName[];

/** Inputs each op takes: [fewest, most]. */
const ARITY: Record<OpName, [number, number]> = {
  quantize: [1, 1], dequantize: [1, 1],
  dense: [2, 2], conv2d: [2, 2], bias_add: [2, 2], requantize: [1, 2], requantize_float: [1, 1], relu: [1, 1], clip: [1, 1],
  cast: [1, 1], add: [2, 2], sub: [2, 2], mul: [2, 2], div: [2, 2],
  reshape: [1, 1], flatten: [1, 1], max_pool: [1, 1], avg_pool: [1, 1], global_avg_pool: [1, 1],
  pad: [1, 1], concat: [1, 64], transpose: [1, 1], sigmoid: [1, 1], hard_sigmoid: [1, 1], hard_swish: [1, 1],
  softmax: [1, 1], reduce_mean: [1, 1], matmul: [2, 2],
};

// ---------------------------------------------------------------------------------------------
// Shape inference: one rule per op. Inputs are already known to exist; attrs are normalized.

function pooledExtent(where: string, axis: string, size: number, kernel: number, stride: number, padA: number, padB: number): number {
  const span = size + padA + padB - kernel;
  if (span < 0) fail(`${where}: kernel ${axis} ${kernel} is larger than the padded input ${axis} ${size + padA + padB}`);
  return Math.floor(span / stride) + 1;
}

function needRank(where: string, role: string, name: string, t: TensorType, rank: number, layout: string): void {
  if (t.shape.length !== rank) fail(`${where}: ${role} '${name}' has shape ${fmtShape(t.shape)} but must be ${rank}-D (${layout})`);
}

function needFloat(where: string, role: string, name: string, t: TensorType, op: string): void {
  if (t.dtype !== 'float32') fail(`${where}: ${role} '${name}' is ${t.dtype} but ${op} takes float32 (dequantize it first)`);
}

/**
 * dense / conv2d / matmul operands: integer × integer → int32 (int8 × int8 is what VTA's GEMM
 * runs; other integer types, e.g. weights with their zero point removed, run on the host), or
 * float32 × float32 → float32 (host).
 */
function productType(where: string, op: string, xn: string, x: TensorType, wn: string, w: TensorType): DType {
  if (x.dtype === 'float32' && w.dtype === 'float32') return 'float32';
  if (x.dtype === 'float32' || w.dtype === 'float32') {
    fail(`${where}: input '${xn}' is ${x.dtype} and weight '${wn}' is ${w.dtype}: ${op} takes two integer or two float32 operands`);
  }
  return 'int32';
}

/** Element-wise result dtype: int32 for integer operands (wrapping), float32 for float32 ones. */
function elementwiseType(where: string, xn: string, x: TensorType, yn: string, y: TensorType): DType {
  const xf = x.dtype === 'float32';
  if (xf !== (y.dtype === 'float32')) fail(`${where}: inputs '${xn}' (${x.dtype}) and '${yn}' (${y.dtype}) must both be integer or both float32`);
  return xf ? 'float32' : 'int32';
}

/** NumPy broadcasting of two shapes. */
function broadcastShapes(where: string, xn: string, x: readonly number[], yn: string, y: readonly number[]): number[] {
  const rank = Math.max(x.length, y.length);
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    const a = x[x.length - rank + k] ?? 1;
    const b = y[y.length - rank + k] ?? 1;
    if (a !== b && a !== 1 && b !== 1) fail(`${where}: inputs '${xn}' ${fmtShape(x)} and '${yn}' ${fmtShape(y)} do not broadcast`);
    out.push(Math.max(a, b));
  }
  return out;
}

/** An axis in [-rank, rank) as a non-negative index. */
export function normalizeAxis(where: string, axis: number, rank: number): number {
  if (axis < -rank || axis >= rank) fail(`${where}: axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

function inferNode(node: GraphNode, types: ReadonlyMap<string, TensorType>): TensorType {
  const where = `node ${node.name} (${node.op})`;
  const ins = node.inputs.map((n) => types.get(n)!);
  const a = (node.attrs ?? {}) as Record<string, unknown>;
  const [x, y] = ins as [TensorType, TensorType | undefined];
  const [xn, yn] = node.inputs as [string, string | undefined];
  switch (node.op) {
    case 'dense': {
      const w = y!;
      needRank(where, 'input', xn, x, 2, 'N,K');
      needRank(where, 'weight', yn!, w, 2, 'M,K');
      const dtype = productType(where, 'dense', xn, x, yn!, w);
      if (x.shape[1] !== w.shape[1]) {
        fail(`${where}: input '${xn}' has shape ${fmtShape(x.shape)} but weight '${yn}' ${fmtShape(w.shape)} expects K=${w.shape[1]}`);
      }
      return { shape: [x.shape[0]!, w.shape[0]!], dtype };
    }
    case 'conv2d': {
      const w = y!;
      needRank(where, 'input', xn, x, 4, 'N,C,H,W');
      needRank(where, 'weight', yn!, w, 4, 'O,I,KH,KW');
      const dtype = productType(where, 'conv2d', xn, x, yn!, w);
      const [n, c, h, wd] = x.shape as [number, number, number, number];
      const [o, i, kh, kw] = w.shape as [number, number, number, number];
      const stride = a.stride as number[];
      const pad = a.pad as number[];
      const groups = a.groups as number;
      if (c % groups !== 0) fail(`${where}: input '${xn}' has ${c} channels, not a multiple of groups=${groups}`);
      if (o % groups !== 0) fail(`${where}: weight '${yn}' has ${o} output channels, not a multiple of groups=${groups}`);
      if (i !== c / groups) {
        fail(`${where}: input '${xn}' has shape ${fmtShape(x.shape)} but weight '${yn}' ${fmtShape(w.shape)} expects ${i * groups} input channels (I=${i}, groups=${groups})`);
      }
      const oh = pooledExtent(where, 'height', h, kh, stride[0]!, pad[0]!, pad[2]!);
      const ow = pooledExtent(where, 'width', wd, kw, stride[1]!, pad[1]!, pad[3]!);
      return { shape: [n, o, oh, ow], dtype };
    }
    case 'bias_add': {
      const b = y!;
      if (x.shape.length < 2) fail(`${where}: input '${xn}' has shape ${fmtShape(x.shape)} but needs a channel axis 1`);
      if (b.shape.length !== 1 || b.shape[0] !== x.shape[1]) {
        fail(`${where}: bias '${yn}' has shape ${fmtShape(b.shape)} but input '${xn}' ${fmtShape(x.shape)} needs [${x.shape[1]}]`);
      }
      return { shape: [...x.shape], dtype: elementwiseType(where, xn, x, yn!, b) };
    }
    case 'add':
    case 'sub':
    case 'mul':
    case 'div': {
      const dtype = elementwiseType(where, xn, x, yn!, y!);
      if (node.op === 'div' && dtype !== 'float32') fail(`${where}: div takes float32 operands`);
      return { shape: broadcastShapes(where, xn, x.shape, yn!, y!.shape), dtype };
    }
    case 'requantize': {
      if (x.dtype === 'float32') fail(`${where}: input '${xn}' is float32: requantize takes integers (use quantize)`);
      if (y) {
        if (a.multiplier !== undefined) fail(`${where}: give the multiplier either as attribute 'multiplier' or as the second input, not both`);
        if (y.dtype !== 'int32' || y.shape.length !== 1 || x.shape.length < 2 || y.shape[0] !== x.shape[1]) {
          fail(`${where}: multiplier '${yn}' must be int32 [${x.shape[1] ?? '?'}] (one per channel of axis 1), got ${y.dtype} ${fmtShape(y.shape)}`);
        }
      }
      return { shape: [...x.shape], dtype: 'int32' };
    }
    case 'requantize_float':
      if (x.dtype === 'float32') fail(`${where}: input '${xn}' is float32: requantize_float takes integers (use quantize)`);
      return { shape: [...x.shape], dtype: 'int32' };
    case 'quantize': {
      needFloat(where, 'input', xn, x, 'quantize');
      checkQuantAxis(where, a, x);
      return { shape: [...x.shape], dtype: a.dtype as DType };
    }
    case 'dequantize': {
      if (x.dtype === 'float32') fail(`${where}: input '${xn}' is already float32`);
      checkQuantAxis(where, a, x);
      return { shape: [...x.shape], dtype: 'float32' };
    }
    case 'relu':
      return { shape: [...x.shape], dtype: x.dtype };
    case 'clip': {
      const [lo, hi] = range(x.dtype);
      if ((a.min as number) < lo || (a.max as number) > hi) {
        fail(`${where}: bounds [${a.min}, ${a.max}] exceed the range of ${x.dtype} input '${xn}'`);
      }
      if (DTYPE_INFO[x.dtype].integer && !(Number.isInteger(a.min) && Number.isInteger(a.max))) {
        fail(`${where}: bounds [${a.min}, ${a.max}] must be integers for ${x.dtype} input '${xn}'`);
      }
      return { shape: [...x.shape], dtype: x.dtype };
    }
    case 'cast':
      return { shape: [...x.shape], dtype: a.dtype as DType };
    case 'reshape': {
      const dims = a.shape as number[];
      const total = product(x.shape);
      const known = product(dims.filter((d) => d !== -1));
      const out = dims.includes(-1) && total % known === 0 ? dims.map((d) => (d === -1 ? total / known : d)) : dims;
      if (product(out) !== total) fail(`${where}: cannot reshape '${xn}' ${fmtShape(x.shape)} (${total} elements) to ${fmtShape(dims)}`);
      return { shape: out, dtype: x.dtype };
    }
    case 'flatten': {
      const axis = a.axis as number;
      if (axis > x.shape.length) fail(`${where}: attribute 'axis' = ${axis} exceeds the rank ${x.shape.length} of '${xn}'`);
      return { shape: [product(x.shape.slice(0, axis)), product(x.shape.slice(axis))], dtype: x.dtype };
    }
    case 'max_pool':
    case 'avg_pool': {
      needRank(where, 'input', xn, x, 4, 'N,C,H,W');
      const [n, c, h, w] = x.shape as [number, number, number, number];
      const kernel = a.kernel as number[];
      const stride = a.stride as number[];
      const pad = a.pad as number[];
      const oh = pooledExtent(where, 'height', h, kernel[0]!, stride[0]!, pad[0]!, pad[2]!);
      const ow = pooledExtent(where, 'width', w, kernel[1]!, stride[1]!, pad[1]!, pad[3]!);
      return { shape: [n, c, oh, ow], dtype: x.dtype };
    }
    case 'global_avg_pool':
      needRank(where, 'input', xn, x, 4, 'N,C,H,W');
      return { shape: [x.shape[0]!, x.shape[1]!, 1, 1], dtype: x.dtype };
    case 'pad': {
      const pads = a.pads as number[];
      const r = x.shape.length;
      if (pads.length !== 2 * r) fail(`${where}: attribute 'pads' has ${pads.length} values but input '${xn}' of rank ${r} needs ${2 * r}`);
      const [lo, hi] = range(x.dtype);
      const v = a.value as number;
      if (v < lo || v > hi || (DTYPE_INFO[x.dtype].integer && !Number.isInteger(v))) fail(`${where}: pad value ${v} is not a ${x.dtype} value`);
      return { shape: x.shape.map((d, k) => d + pads[k]! + pads[k + r]!), dtype: x.dtype };
    }
    case 'concat': {
      const axis = normalizeAxis(where, a.axis as number, x.shape.length);
      const shape = [...x.shape];
      ins.slice(1).forEach((t, k) => {
        const name = node.inputs[k + 1]!;
        if (t.dtype !== x.dtype) fail(`${where}: input '${name}' is ${t.dtype} but '${xn}' is ${x.dtype}`);
        if (t.shape.length !== x.shape.length || t.shape.some((d, j) => j !== axis && d !== x.shape[j])) {
          fail(`${where}: input '${name}' ${fmtShape(t.shape)} does not match '${xn}' ${fmtShape(x.shape)} outside axis ${axis}`);
        }
        shape[axis]! += t.shape[axis]!;
      });
      return { shape, dtype: x.dtype };
    }
    case 'transpose': {
      const r = x.shape.length;
      const perm = (a.perm as number[] | undefined) ?? x.shape.map((_, k) => r - 1 - k);
      if (perm.length !== r || [...perm].sort((p, q) => p - q).some((p, k) => p !== k)) fail(`${where}: perm ${fmtShape(perm)} is not a permutation of ${r} axes`);
      return { shape: perm.map((p) => x.shape[p]!), dtype: x.dtype };
    }
    case 'sigmoid':
    case 'hard_sigmoid':
    case 'hard_swish':
      needFloat(where, 'input', xn, x, node.op);
      return { shape: [...x.shape], dtype: 'float32' };
    case 'softmax':
      needFloat(where, 'input', xn, x, 'softmax');
      normalizeAxis(where, a.axis as number, x.shape.length);
      return { shape: [...x.shape], dtype: 'float32' };
    case 'reduce_mean': {
      needFloat(where, 'input', xn, x, 'reduce_mean');
      const axes = ((a.axes as number[] | undefined) ?? x.shape.map((_, k) => k)).map((ax) => normalizeAxis(where, ax, x.shape.length));
      const keep = a.keepdims === 1;
      const shape = x.shape.flatMap((d, k) => (axes.includes(k) ? (keep ? [1] : []) : [d]));
      return { shape: shape.length ? shape : [1], dtype: 'float32' };
    }
    case 'matmul': {
      const w = y!;
      if (x.shape.length < 2 || w.shape.length < 2) fail(`${where}: inputs '${xn}' ${fmtShape(x.shape)} and '${yn}' ${fmtShape(w.shape)} must be at least 2-D`);
      const dtype = productType(where, 'matmul', xn, x, yn!, w);
      const [m, k] = x.shape.slice(-2) as [number, number];
      const [k2, n] = w.shape.slice(-2) as [number, number];
      if (k !== k2) fail(`${where}: inputs '${xn}' ${fmtShape(x.shape)} and '${yn}' ${fmtShape(w.shape)} do not agree on the inner dimension`);
      return { shape: [...broadcastShapes(where, xn, x.shape.slice(0, -2), yn!, w.shape.slice(0, -2)), m, n], dtype };
    }
  }
}

/** quantize / dequantize: one scale, or one per index of the axis. */
function checkQuantAxis(where: string, a: Record<string, unknown>, x: TensorType): void {
  const n = (a.scale as number[]).length;
  if (n === 1) return;
  const axis = normalizeAxis(where, a.axis as number, x.shape.length);
  if (x.shape[axis] !== n) fail(`${where}: ${n} scales but axis ${axis} of the input has ${x.shape[axis]} elements`);
}

/**
 * The type of every tensor in the graph (inputs, constants and node outputs), checking every
 * node's shapes and attributes on the way. Throws E_MODEL naming the first node that is wrong.
 */
export function inferShapes(graph: Graph): TensorTypes {
  const types: TensorTypes = new Map();
  for (const i of graph.inputs) types.set(i.name, { shape: [...i.shape], dtype: i.dtype });
  for (const [name, t] of Object.entries(graph.tensors)) types.set(name, { shape: [...t.shape], dtype: t.dtype });
  for (const node of graph.nodes) types.set(node.output, inferNodeType(node, types));
  return types;
}

/**
 * The output type of one node given the types of the tensors defined so far (checks its op,
 * arity, attributes and input shapes). Used by inferShapes and by graph builders such as the
 * ONNX frontend, which check each node as they emit it.
 */
export function inferNodeType(node: GraphNode, types: ReadonlyMap<string, TensorType>): TensorType {
  const where = `node ${node.name} (${node.op})`;
  const check = ATTRS[node.op];
  if (!check) fail(`${where}: unknown op '${node.op}' (known: ${OP_NAMES.join(', ')})`);
  const [fewest, most] = ARITY[node.op];
  if (node.inputs.length < fewest || node.inputs.length > most) {
    fail(`${where}: takes ${fewest === most ? fewest : `${fewest} to ${most}`} input(s), got ${node.inputs.length}`);
  }
  for (const n of node.inputs) if (!types.has(n)) fail(`${where}: input '${n}' is not defined before this node`);
  const normalized = { ...node, attrs: check(where, (node.attrs ?? {}) as Record<string, unknown>) } as GraphNode;
  const out = inferNode(normalized, types);
  const count = product(out.shape);
  if (count < 1 || count > MAX_TENSOR_ELEMENTS) fail(`${where}: output '${node.output}' would have ${count} elements`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Constant data: base64 of little-endian bytes, or a plain list of integers.

/**
 * Base64 constants decoded, by the tensor object holding them: a model's weights are decoded once
 * (by the loader's check), not again by every compiler pass and every run. Only base64 is kept: a
 * string cannot change under the cache, a number list could. The typed arrays are shared: callers
 * read them and never write (every op writes a fresh output).
 */
const decoded = new WeakMap<ConstTensor, { from: string; dtype: DType; values: TypedData }>();

/** The values of a constant as a typed array (checks length and range; `name` is used in errors). */
export function decodeConst(name: string, t: ConstTensor): TypedData {
  if (ArrayBuffer.isView(t.data)) return checkedTyped(name, t, t.data);
  const known = decoded.get(t);
  if (known && known.from === t.data && known.dtype === t.dtype && known.values.length === product(t.shape)) return known.values;
  const values = decodeConstData(name, t);
  if (typeof t.data === 'string') decoded.set(t, { from: t.data, dtype: t.dtype, values });
  return values;
}

/** Typed data held in memory (the importer's, a package's): its class and length must fit. */
function checkedTyped(name: string, t: ConstTensor, data: TypedData): TypedData {
  if (!holdsDType(data, t.dtype)) fail(`tensor '${name}': data is a ${data.constructor.name}, not ${t.dtype}`);
  if (data.length !== product(t.shape)) fail(`tensor '${name}': data has ${data.length} values but ${fmtShape(t.shape)} needs ${product(t.shape)}`);
  return data;
}

/** A copy of `from`'s data with its decoded values (when known), for a checked copy of a constant. */
function copyConst(from: object, to: ConstTensor): ConstTensor {
  const known = decoded.get(from as ConstTensor);
  if (known && known.from === to.data) decoded.set(to, known);
  return to;
}

function decodeConstData(name: string, t: ConstTensor): TypedData {
  const where = `tensor '${name}'`;
  const count = product(t.shape);
  const info = DTYPE_INFO[t.dtype];
  if (typeof t.data === 'string') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t.data) || t.data.length % 4 !== 0) fail(`${where}: 'data' is not valid base64`);
    const bytes = Buffer.from(t.data, 'base64');
    if (bytes.length !== count * info.bytes) {
      fail(`${where}: 'data' holds ${bytes.length} bytes but ${t.dtype} ${fmtShape(t.shape)} needs ${count * info.bytes}`);
    }
    return fromLittleEndianBytes(bytes, t.dtype, count);
  }
  if (!Array.isArray(t.data)) fail(`${where}: 'data' must be a base64 string or a list of numbers`);
  if (t.data.length !== count) fail(`${where}: 'data' has ${t.data.length} values but ${fmtShape(t.shape)} needs ${count}`);
  const out = info.alloc(count);
  const { integer, min, max } = info;
  const values = t.data;
  // A plain loop with the checks hoisted: weights given as JSON lists can hold millions of values.
  for (let k = 0; k < count; k++) {
    const v = values[k];
    const ok = typeof v === 'number' && (integer ? Number.isInteger(v) && v >= min && v <= max : Number.isFinite(v));
    if (!ok) fail(`${where}: data[${k}] = ${describeValue(v)} is not ${integer ? `an ${t.dtype} integer` : 'a finite float32 number'}`);
    out[k] = v;
  }
  return out;
}

/** A constant as a runtime tensor. */
export function constTensor(name: string, t: ConstTensor): Tensor {
  return { shape: [...t.shape], dtype: t.dtype, data: decodeConst(name, t) };
}

/**
 * A constant holding `values` themselves (binary from the importer to the package); JSON.stringify
 * writes them as base64, the file format's compact form, through the array's own toJSON.
 */
export function makeConst(shape: number[], dtype: DType, values: TypedData): ConstTensor {
  if (!Object.hasOwn(values, 'toJSON')) Object.defineProperty(values, 'toJSON', { value: () => encodeConstData(values) });
  return { shape, dtype, data: values };
}

/** Base64 of the little-endian bytes of `data` (the compact form writers should use). */
export function encodeConstData(data: TypedData): string {
  return Buffer.from(toLittleEndianBytes(data)).toString('base64');
}

// ---------------------------------------------------------------------------------------------
// Structure.

function checkName(where: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) fail(`${where} must be a non-empty string, got ${describeValue(v)}`);
  return v;
}

function checkType(where: string, shape: unknown, dtype: unknown): TensorType {
  if (!Array.isArray(shape) || shape.length === 0 || shape.length > 8) fail(`${where}: 'shape' must be a list of 1 to 8 dimensions, got ${describeValue(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) {
      fail(`${where}: 'shape' ${describeValue(shape)} must hold positive integers (dynamic shapes are not supported)`);
    }
  }
  if (product(shape) > MAX_TENSOR_ELEMENTS) fail(`${where}: shape ${fmtShape(shape)} has more than ${MAX_TENSOR_ELEMENTS} elements`);
  if (!isDType(dtype)) fail(`${where}: 'dtype' must be one of ${DTYPES.join(', ')}, got ${describeValue(dtype)}`);
  return { shape: [...shape], dtype };
}

function checkKeys(where: string, obj: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(`${where}: unknown field '${k}' (allowed: ${allowed.join(', ')})`);
}

/** Validate a parsed model object and return a normalized copy (attribute defaults filled in). */
export function validateGraph(raw: unknown): Graph {
  if (!isObject(raw)) fail('model must be a JSON object');
  checkKeys('model', raw, ['format', 'name', 'inputs', 'outputs', 'tensors', 'nodes']);
  if (raw.format !== FORMAT) fail(`model: 'format' must be "${FORMAT}", got ${describeValue(raw.format)}`);
  const name = checkName("model: 'name'", raw.name);
  const defined = new Map<string, string>(); // tensor name -> what defines it, for duplicate messages
  const define = (tensor: string, by: string): void => {
    const prev = defined.get(tensor);
    if (prev) fail(`${by}: tensor name '${tensor}' is already defined by ${prev}`);
    defined.set(tensor, by);
  };

  if (!Array.isArray(raw.inputs) || raw.inputs.length === 0) fail("model: 'inputs' must be a non-empty list");
  const inputs = raw.inputs.map((i, k) => {
    if (!isObject(i)) fail(`model: inputs[${k}] must be an object`);
    const n = checkName(`model: inputs[${k}].name`, i.name);
    checkKeys(`input '${n}'`, i, ['name', 'shape', 'dtype']);
    define(n, `input '${n}'`);
    return { name: n, ...checkType(`input '${n}'`, i.shape, i.dtype) };
  });

  const rawTensors = raw.tensors ?? {};
  if (!isObject(rawTensors)) fail("model: 'tensors' must be an object of named constants");
  const tensors = nameRecord<ConstTensor>();
  for (const [n, t] of Object.entries(rawTensors)) {
    const where = `tensor '${n}'`;
    if (!isObject(t)) fail(`${where} must be an object with shape, dtype and data`);
    checkKeys(where, t, ['shape', 'dtype', 'data']);
    define(n, `constant '${n}'`);
    const type = checkType(where, t.shape, t.dtype);
    if (!('data' in t)) fail(`${where}: missing 'data'`);
    const c = copyConst(t, { ...type, data: Array.isArray(t.data) ? [...(t.data as number[])] : (t.data as string | TypedData) });
    decodeConst(n, c);
    setName(tensors, n, c);
  }

  if (!Array.isArray(raw.nodes)) fail("model: 'nodes' must be a list");
  const nodeNames = new Set<string>();
  const nodes: GraphNode[] = raw.nodes.map((nd, k) => {
    if (!isObject(nd)) fail(`model: nodes[${k}] must be an object`);
    const n = checkName(`model: nodes[${k}].name`, nd.name);
    const where = `node ${n}`;
    if (nodeNames.has(n)) fail(`${where}: node name is used twice`);
    nodeNames.add(n);
    checkKeys(where, nd, ['name', 'op', 'inputs', 'output', 'attrs']);
    if (typeof nd.op !== 'string' || !Object.hasOwn(ATTRS, nd.op)) fail(`${where}: unknown op ${describeValue(nd.op)} (known: ${OP_NAMES.join(', ')})`);
    if (!Array.isArray(nd.inputs)) fail(`${where} (${nd.op}): 'inputs' must be a list of tensor names`);
    const ins = nd.inputs.map((v, j) => checkName(`${where} (${nd.op}): inputs[${j}]`, v));
    const output = checkName(`${where} (${nd.op}): 'output'`, nd.output);
    if (nd.attrs !== undefined && !isObject(nd.attrs)) fail(`${where} (${nd.op}): 'attrs' must be an object`);
    for (const v of ins) if (!defined.has(v)) fail(`${where} (${nd.op}): input '${v}' is not defined before this node`);
    define(output, `node ${n}`);
    return { name: n, op: nd.op as OpName, inputs: ins, output, attrs: { ...((nd.attrs as object) ?? {}) } } as GraphNode;
  });

  if (!Array.isArray(raw.outputs) || raw.outputs.length === 0) fail("model: 'outputs' must be a non-empty list of tensor names");
  const outputs = raw.outputs.map((o, k) => {
    const n = checkName(`model: outputs[${k}]`, o);
    if (!defined.has(n)) fail(`model: output '${n}' is not a tensor of the graph`);
    return n;
  });

  const graph: Graph = { format: FORMAT, name, inputs, outputs, tensors, nodes };
  // Shape inference checks every attribute; keep its normalized attributes (defaults filled in).
  inferShapes(graph);
  for (const node of graph.nodes) {
    node.attrs = ATTRS[node.op](`node ${node.name} (${node.op})`, (node.attrs ?? {}) as Record<string, unknown>) as GraphNode['attrs'];
  }
  return graph;
}

/**
 * Load a model: a path to a `vta-graph/1` JSON file, or an already-parsed object. Returns a
 * validated, normalized copy; throws E_MODEL (or E_READ) with one line naming what is wrong.
 */
export function loadGraph(source: string | object): Graph {
  if (typeof source !== 'string') return validateGraph(source);
  // Capped: an endless device such as /dev/zero is refused instead of read forever.
  const text = readTextOrFail(source, FILE_LIMITS.model);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    fail(`${source}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  try {
    return validateGraph(raw);
  } catch (e) {
    if (e instanceof VtaError) throw new VtaError(e.code, `${source}: ${e.message}`);
    throw e;
  }
}

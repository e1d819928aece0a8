/**
 * Loading and validating `vta-graph/1` models (the format is documented in docs/model-format.md).
 *
 * `loadGraph` accepts a path or an already-parsed object and returns a checked copy with every
 * attribute default filled in, so later stages never see a half-formed graph. Every problem is a
 * VtaError with code E_MODEL and one line that names the node (or tensor) and the field at fault.
 * `inferShapes` gives the type of every tensor; it is the single place where shape rules live.
 */
import { VtaError } from '../lib/errors.ts';
import { readTextOrFail } from '../lib/files.ts';
import type { ConstTensor, DType, Graph, GraphNode, OpName, Tensor, TensorType, TensorTypes } from './ir.ts';

export const MODEL_ERROR = 'E_MODEL';

const FORMAT = 'vta-graph/1';
const DTYPES: readonly DType[] = ['int8', 'int32'];
const RANGE: Record<DType, [number, number]> = { int8: [-128, 127], int32: [-2147483648, 2147483647] };
/** Guards against models whose tensors could not fit in memory anyway (and against shape typos). */
const MAX_ELEMENTS = 2 ** 28;

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
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(`${where}: attribute '${key}' must be an integer, got ${JSON.stringify(v)}`);
  if (v < min || v > max) fail(`${where}: attribute '${key}' = ${v} is out of range [${min}, ${max}]`);
  return v;
}

function intList(where: string, key: string, v: unknown, length: number, min: number): number[] {
  if (!Array.isArray(v) || v.length !== length) fail(`${where}: attribute '${key}' must be a list of ${length} integers, got ${JSON.stringify(v)}`);
  return v.map((x, i) => intIn(where, `${key}[${i}]`, x, min, 1 << 20));
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
    onlyKeys(where, a, ['shift', 'multiplier']);
    // VTA's SHR uses the low 5 bits of the count, so larger shifts cannot be lowered faithfully;
    // the multiplier must fit the ALU's 16-bit signed immediate.
    // multiplier 1 (the default) is left out, so graphs written before it existed normalize as before.
    const shift = intIn(where, 'shift', required(where, a, 'shift'), 0, 31);
    const multiplier = a.multiplier === undefined ? 1 : intIn(where, 'multiplier', a.multiplier, 1, 32767);
    return multiplier === 1 ? { shift } : { shift, multiplier };
  },
  requantize_float: (where, a) => {
    onlyKeys(where, a, ['scale']);
    const scale = required(where, a, 'scale');
    if (typeof scale !== 'number' || !Number.isFinite(scale) || !(scale > 0)) fail(`${where}: attribute 'scale' must be a positive finite number, got ${JSON.stringify(scale)}`);
    return { scale };
  },
  relu: noAttrs,
  clip: (where, a) => {
    onlyKeys(where, a, ['min', 'max']);
    const [lo, hi] = RANGE.int32;
    const min = intIn(where, 'min', required(where, a, 'min'), lo, hi);
    const max = intIn(where, 'max', required(where, a, 'max'), lo, hi);
    if (min > max) fail(`${where}: attribute 'min' = ${min} is greater than 'max' = ${max}`);
    return { min, max };
  },
  cast: (where, a) => {
    onlyKeys(where, a, ['dtype']);
    const dtype = required(where, a, 'dtype');
    if (!DTYPES.includes(dtype as DType)) fail(`${where}: attribute 'dtype' must be one of ${DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`);
    return { dtype };
  },
  add: noAttrs,
  reshape: (where, a) => {
    onlyKeys(where, a, ['shape']);
    const shape = required(where, a, 'shape');
    if (!Array.isArray(shape) || shape.length === 0) fail(`${where}: attribute 'shape' must be a non-empty list of integers`);
    const dims = shape.map((d, i) => intIn(where, `shape[${i}]`, d, -1, MAX_ELEMENTS));
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
};

export const OP_NAMES = Object.keys(ATTRS) as OpName[];

const ARITY: Record<OpName, number> = {
  dense: 2, conv2d: 2, bias_add: 2, requantize: 1, requantize_float: 1, relu: 1, clip: 1, cast: 1, add: 2,
  reshape: 1, flatten: 1, max_pool: 1, avg_pool: 1, global_avg_pool: 1,
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

function needInt8(where: string, role: string, name: string, t: TensorType, op: string): void {
  if (t.dtype !== 'int8') fail(`${where}: ${role} '${name}' is ${t.dtype} but ${op} takes int8 (requantize, clip and cast it first)`);
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
      needInt8(where, 'input', xn, x, 'dense');
      needInt8(where, 'weight', yn!, w, 'dense');
      if (x.shape[1] !== w.shape[1]) {
        fail(`${where}: input '${xn}' has shape ${fmtShape(x.shape)} but weight '${yn}' ${fmtShape(w.shape)} expects K=${w.shape[1]}`);
      }
      return { shape: [x.shape[0]!, w.shape[0]!], dtype: 'int32' };
    }
    case 'conv2d': {
      const w = y!;
      needRank(where, 'input', xn, x, 4, 'N,C,H,W');
      needRank(where, 'weight', yn!, w, 4, 'O,I,KH,KW');
      needInt8(where, 'input', xn, x, 'conv2d');
      needInt8(where, 'weight', yn!, w, 'conv2d');
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
      return { shape: [n, o, oh, ow], dtype: 'int32' };
    }
    case 'bias_add': {
      const b = y!;
      if (x.shape.length < 2) fail(`${where}: input '${xn}' has shape ${fmtShape(x.shape)} but needs a channel axis 1`);
      if (b.shape.length !== 1 || b.shape[0] !== x.shape[1]) {
        fail(`${where}: bias '${yn}' has shape ${fmtShape(b.shape)} but input '${xn}' ${fmtShape(x.shape)} needs [${x.shape[1]}]`);
      }
      return { shape: [...x.shape], dtype: 'int32' };
    }
    case 'add':
      if (x.shape.length !== y!.shape.length || x.shape.some((d, k) => d !== y!.shape[k])) {
        fail(`${where}: inputs '${xn}' ${fmtShape(x.shape)} and '${yn}' ${fmtShape(y!.shape)} must have identical shapes`);
      }
      return { shape: [...x.shape], dtype: 'int32' };
    case 'requantize':
    case 'requantize_float':
      return { shape: [...x.shape], dtype: 'int32' };
    case 'relu':
      return { shape: [...x.shape], dtype: x.dtype };
    case 'clip': {
      const [lo, hi] = RANGE[x.dtype];
      if ((a.min as number) < lo || (a.max as number) > hi) {
        fail(`${where}: bounds [${a.min}, ${a.max}] exceed the range of ${x.dtype} input '${xn}'`);
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
  }
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
  if (node.inputs.length !== ARITY[node.op]) fail(`${where}: takes ${ARITY[node.op]} input(s), got ${node.inputs.length}`);
  for (const n of node.inputs) if (!types.has(n)) fail(`${where}: input '${n}' is not defined before this node`);
  const normalized = { ...node, attrs: check(where, (node.attrs ?? {}) as Record<string, unknown>) } as GraphNode;
  const out = inferNode(normalized, types);
  const count = product(out.shape);
  if (count < 1 || count > MAX_ELEMENTS) fail(`${where}: output '${node.output}' would have ${count} elements`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Constant data: base64 of little-endian bytes, or a plain list of integers.

/** The values of a constant as a typed array (checks length and range; `name` is used in errors). */
export function decodeConst(name: string, t: ConstTensor): Int8Array | Int32Array {
  const where = `tensor '${name}'`;
  const count = product(t.shape);
  const out = t.dtype === 'int8' ? new Int8Array(count) : new Int32Array(count);
  if (typeof t.data === 'string') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t.data) || t.data.length % 4 !== 0) fail(`${where}: 'data' is not valid base64`);
    const bytes = Buffer.from(t.data, 'base64');
    if (bytes.length !== count * out.BYTES_PER_ELEMENT) {
      fail(`${where}: 'data' holds ${bytes.length} bytes but ${t.dtype} ${fmtShape(t.shape)} needs ${count * out.BYTES_PER_ELEMENT}`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let k = 0; k < count; k++) out[k] = t.dtype === 'int8' ? view.getInt8(k) : view.getInt32(4 * k, true);
    return out;
  }
  if (!Array.isArray(t.data)) fail(`${where}: 'data' must be a base64 string or a list of integers`);
  if (t.data.length !== count) fail(`${where}: 'data' has ${t.data.length} values but ${fmtShape(t.shape)} needs ${count}`);
  const [lo, hi] = RANGE[t.dtype];
  t.data.forEach((v, k) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      fail(`${where}: data[${k}] = ${JSON.stringify(v)} is not an ${t.dtype} integer`);
    }
    out[k] = v;
  });
  return out;
}

/** A constant as a runtime tensor. */
export function constTensor(name: string, t: ConstTensor): Tensor {
  return { shape: [...t.shape], dtype: t.dtype, data: decodeConst(name, t) };
}

/** Base64 of the little-endian bytes of `data` (the compact form writers should use). */
export function encodeConstData(data: Int8Array | Int32Array): string {
  if (data instanceof Int8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  const bytes = Buffer.alloc(data.length * 4);
  data.forEach((v, k) => bytes.writeInt32LE(v, 4 * k));
  return bytes.toString('base64');
}

// ---------------------------------------------------------------------------------------------
// Structure.

function checkName(where: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) fail(`${where} must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function checkType(where: string, shape: unknown, dtype: unknown): TensorType {
  if (!Array.isArray(shape) || shape.length === 0 || shape.length > 8) fail(`${where}: 'shape' must be a list of 1 to 8 dimensions, got ${JSON.stringify(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) {
      fail(`${where}: 'shape' ${JSON.stringify(shape)} must hold positive integers (dynamic shapes are not supported)`);
    }
  }
  if (product(shape) > MAX_ELEMENTS) fail(`${where}: shape ${fmtShape(shape)} has more than ${MAX_ELEMENTS} elements`);
  if (!DTYPES.includes(dtype as DType)) fail(`${where}: 'dtype' must be one of ${DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`);
  return { shape: [...shape], dtype: dtype as DType };
}

function checkKeys(where: string, obj: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(`${where}: unknown field '${k}' (allowed: ${allowed.join(', ')})`);
}

/** Validate a parsed model object and return a normalized copy (attribute defaults filled in). */
export function validateGraph(raw: unknown): Graph {
  if (!isObject(raw)) fail('model must be a JSON object');
  checkKeys('model', raw, ['format', 'name', 'inputs', 'outputs', 'tensors', 'nodes']);
  if (raw.format !== FORMAT) fail(`model: 'format' must be "${FORMAT}", got ${JSON.stringify(raw.format)}`);
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
  const tensors: Record<string, ConstTensor> = {};
  for (const [n, t] of Object.entries(rawTensors)) {
    const where = `tensor '${n}'`;
    if (!isObject(t)) fail(`${where} must be an object with shape, dtype and data`);
    checkKeys(where, t, ['shape', 'dtype', 'data']);
    define(n, `constant '${n}'`);
    const type = checkType(where, t.shape, t.dtype);
    if (!('data' in t)) fail(`${where}: missing 'data'`);
    const c: ConstTensor = { ...type, data: Array.isArray(t.data) ? [...(t.data as number[])] : (t.data as string) };
    decodeConst(n, c);
    tensors[n] = c;
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
    if (typeof nd.op !== 'string' || !(nd.op in ATTRS)) fail(`${where}: unknown op ${JSON.stringify(nd.op)} (known: ${OP_NAMES.join(', ')})`);
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
  const text = readTextOrFail(source);
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

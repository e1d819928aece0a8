/**
 * Reading an ONNX protobuf into plain typed data: the graph's name and opset, its nodes (with
 * their attributes), initializers and inputs as numbers and shapes. Nothing here knows about
 * quantization or the IR; refusals are of what cannot be read (external data, dynamic shapes,
 * element types this toolchain has no use for).
 */
import { unpackSigned } from '../../isa/elements.ts';
import { VtaError } from '../../lib/errors.ts';
import { onnx } from '../onnx-builder.ts';
import { checkModelWire } from './wire.ts';
import type { onnx as OnnxNs } from 'onnx-proto';

export const ONNX_ERROR = 'E_ONNX';

/** ONNX TensorProto.DataType codes the importer reads. */
export const ELEM = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, double: 11, uint4: 21, int4: 22 } as const;
const ELEM_NAMES = new Map<number, string>([[1, 'float'], [2, 'uint8'], [3, 'int8'], [4, 'uint16'], [5, 'int16'], [6, 'int32'], [7, 'int64'], [10, 'float16'], [11, 'double'], [16, 'bfloat16'], [21, 'uint4'], [22, 'int4']]);
const ELEM_BYTES = new Map<number, number>([[ELEM.float, 4], [ELEM.uint8, 1], [ELEM.int8, 1], [ELEM.int32, 4], [ELEM.int64, 8], [ELEM.double, 8]]);

/** An element type's ONNX name, or its code when it has none here. */
export const elemName = (elem: number): string | number => ELEM_NAMES.get(elem) ?? elem;

export function fail(message: string): never {
  throw new VtaError(ONNX_ERROR, message);
}

interface Long { toNumber(): number }
export const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());
export const fmt = (s: number[]): string => `[${s.join(',')}]`;
export const count = (s: number[]): number => s.reduce((a, b) => a * b, 1);

/**
 * A constant's values: the typed array of its element type, read straight from the protobuf's bytes
 * (int8 and uint8 as themselves; int64 and double as Float64Array, int4 / uint4 as Int32Array).
 */
export type Numbers = Int8Array | Uint8Array | Int32Array | Float32Array | Float64Array;

/** An initializer or Constant tensor: its element type, dimensions and values. */
export interface OnnxConst {
  elem: number;
  dims: number[];
  data: Numbers;
}

/** ONNX AttributeProto.AttributeType codes of the kinds the importer reads. */
const ATTR_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, INTS: 7 } as const;
type AttrKind = keyof typeof ATTR_TYPE;
const ATTR_TYPE_NAMES = new Map<number, string>([[1, 'FLOAT'], [2, 'INT'], [3, 'STRING'], [4, 'TENSOR'], [5, 'GRAPH'], [6, 'FLOATS'], [7, 'INTS'], [8, 'STRINGS'], [9, 'TENSORS'], [10, 'GRAPHS']]);

/**
 * A node's attributes by name, read on demand (a Constant's tensor is decoded when asked for). Each
 * read checks the attribute's declared type (onnxruntime refuses a type that does not match its data).
 */
export class Attributes {
  private readonly byName: Map<string, OnnxNs.IAttributeProto>;
  constructor(attrs: OnnxNs.IAttributeProto[], private readonly where: string) {
    this.byName = new Map();
    for (const a of attrs) {
      const name = a.name ?? '';
      if (!a.type) fail(`${where}: attribute '${name}' has no type`);
      if (this.byName.has(name)) fail(`${where}: attribute '${name}' is given twice`);
      this.byName.set(name, a);
    }
  }

  /** The attribute `key` if present, checked to be of `kind`. */
  private get(key: string, kind: AttrKind): OnnxNs.IAttributeProto | undefined {
    const v = this.byName.get(key);
    if (v && v.type !== ATTR_TYPE[kind]) fail(`${this.where}: attribute '${key}' is ${ATTR_TYPE_NAMES.get(v.type ?? 0) ?? `type ${v.type}`}, not ${kind}`);
    return v;
  }

  has(key: string): boolean {
    return this.byName.has(key);
  }

  /** The attribute names given. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  int(key: string, dflt: number): number {
    const v = this.get(key, 'INT');
    return v ? num(v.i) : dflt;
  }

  ints(key: string, dflt: number[]): number[] {
    const v = this.get(key, 'INTS');
    return v ? (v.ints ?? []).map(num) : dflt;
  }

  /** The FLOAT value as stored (null or undefined when the attribute is absent or unset). */
  float(key: string): number | null | undefined {
    return this.get(key, 'FLOAT')?.f;
  }

  string(key: string): string {
    return new TextDecoder().decode(this.get(key, 'STRING')?.s ?? new Uint8Array());
  }

  /** A TENSOR attribute's values, or undefined when there is none. */
  tensor(key: string, where: string): OnnxConst | undefined {
    const t = this.get(key, 'TENSOR')?.t;
    return t ? tensorData(t, where) : undefined;
  }
}

export interface OnnxNode {
  /** The node's name, or opType_index when the model leaves it empty. */
  name: string;
  opType: string;
  domain: string;
  /** Input value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Attributes;
}

/** A graph input that is not an initializer, with its element type and fixed shape. */
export interface OnnxInput {
  name: string;
  shape: number[];
  elem: number;
}

export interface OnnxModel {
  /** The graph's name, or `label` when it has none. */
  name: string;
  /** Version of the default (ai.onnx) operator set, 0 when none is imported. */
  opset: number;
  nodes: OnnxNode[];
  outputs: string[];
  graph: OnnxNs.IGraphProto;
}

/** The values of an initializer or Constant tensor. */
export function tensorData(t: OnnxNs.ITensorProto, where: string): OnnxConst {
  const elem = t.dataType ?? 0;
  const dims = (t.dims ?? []).map(num);
  const n = count(dims);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) fail(`${where}: external tensor data is not supported (save the model with data inline)`);
  let data: Numbers;
  const raw = t.rawData;
  if (elem === ELEM.int4 || elem === ELEM.uint4) return { elem, dims, data: nibbles(t, elem, n, where) };
  if (raw && raw.length > 0) {
    const size = ELEM_BYTES.get(elem);
    if (!size) fail(`${where}: element type ${elemName(elem)} is not supported`);
    if (raw.length !== n * size) fail(`${where}: holds ${raw.length} bytes but ${elemName(elem)} ${fmt(dims)} needs ${n * size}`);
    data = rawValues(raw, elem);
  } else if (elem === ELEM.float) data = Float32Array.from(t.floatData ?? []);
  else if (elem === ELEM.double) data = Float64Array.from(t.doubleData ?? []);
  else if (elem === ELEM.int64) data = Float64Array.from(t.int64Data ?? [], num);
  // int32_data holds int8 / uint8 values unchecked: kept as int32 so that none wraps.
  else if (elem === ELEM.int8 || elem === ELEM.uint8 || elem === ELEM.int32) data = Int32Array.from(t.int32Data ?? []);
  else fail(`${where}: element type ${elemName(elem)} is not supported`);
  if (data.length !== n) fail(`${where}: holds ${data.length} values but ${fmt(dims)} needs ${n}`);
  return { elem, dims, data };
}

/**
 * The values of little-endian raw_data as a typed array: a view of the file's bytes when they are
 * aligned for the element type (always for bytes: weights are not copied), else over an aligned
 * copy (the protobuf's bytes are a view into the file, at any offset).
 */
function rawValues(raw: Uint8Array, elem: number): Numbers {
  const size = ELEM_BYTES.get(elem)!;
  if (LITTLE_ENDIAN && elem !== ELEM.int64 && raw.byteOffset % size === 0) {
    const n = raw.byteLength / size;
    return elem === ELEM.float ? new Float32Array(raw.buffer, raw.byteOffset, n)
      : elem === ELEM.uint8 ? new Uint8Array(raw.buffer, raw.byteOffset, n)
      : elem === ELEM.int8 ? new Int8Array(raw.buffer, raw.byteOffset, n)
      : elem === ELEM.int32 ? new Int32Array(raw.buffer, raw.byteOffset, n)
      : new Float64Array(raw.buffer, raw.byteOffset, n);
  }
  const bytes = new Uint8Array(raw).buffer;
  if (!LITTLE_ENDIAN) {
    const v = new DataView(bytes);
    const get = (k: number): number =>
      elem === ELEM.float ? v.getFloat32(size * k, true)
      : elem === ELEM.uint8 ? v.getUint8(k)
      : elem === ELEM.int8 ? v.getInt8(k)
      : elem === ELEM.int32 ? v.getInt32(size * k, true)
      : elem === ELEM.double ? v.getFloat64(size * k, true)
      : Number(v.getBigInt64(size * k, true));
    const out = elem === ELEM.float ? new Float32Array(bytes.byteLength / size) : new Float64Array(bytes.byteLength / size);
    for (let k = 0; k < out.length; k++) out[k] = get(k);
    return out;
  }
  if (elem === ELEM.int64) return Float64Array.from(new BigInt64Array(bytes), Number);
  return elem === ELEM.float ? new Float32Array(bytes)
    : elem === ELEM.uint8 ? new Uint8Array(bytes)
    : elem === ELEM.int8 ? new Int8Array(bytes)
    : elem === ELEM.int32 ? new Int32Array(bytes)
    : new Float64Array(bytes);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * INT4 / UINT4 (opset 21): two values per byte, the first in the low nibble, in raw_data or one
 * byte per int32_data entry. INT4 is the 4-bit case of isa/elements.ts's layout.
 */
function nibbles(t: OnnxNs.ITensorProto, elem: number, n: number, where: string): Int32Array {
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : Uint8Array.from(t.int32Data ?? [], (v) => v & 0xff);
  const need = Math.ceil(n / 2);
  if (raw.length !== need) fail(`${where}: holds ${raw.length} bytes but ${elemName(elem)} ${fmt((t.dims ?? []).map(num))} needs ${need}`);
  const values = new Int32Array(n);
  unpackSigned(raw, 4, n, values);
  if (elem === ELEM.uint4) for (let k = 0; k < n; k++) values[k] = values[k]! & 0xf;
  return values;
}

/** The protobuf decoded, refusing bytes that are not a model with a graph of at least one node. */
export function decodeModelProto(bytes: Uint8Array, label: string): OnnxNs.ModelProto & { graph: OnnxNs.GraphProto } {
  checkModelWire(bytes, (why) => fail(`${label}: not a valid ONNX model (${why})`));
  let model: OnnxNs.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    fail(`${label}: not a valid ONNX model (${(e as Error).message.split('\n')[0]})`);
  }
  const g = model.graph;
  if (!g || (g.node ?? []).length === 0) fail(`${label}: not a valid ONNX model (no graph or no nodes)`);
  // Absent from the wire (not an own field of the decoded message): onnxruntime refuses the model.
  if (!Object.hasOwn(model, 'irVersion')) fail(`${label}: not a valid ONNX model (no ir_version)`);
  for (const o of g.output ?? []) {
    const tt = o.type?.tensorType;
    if (tt && !tt.elemType) fail(`${label}: output '${o.name}' has a tensor type without an element type`);
  }
  return model as OnnxNs.ModelProto & { graph: OnnxNs.GraphProto };
}

/** The version of the default (ai.onnx) operator set, 0 when none is imported. */
export function defaultOpset(model: OnnxNs.IModelProto): number {
  const main = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return main ? num(main.version) : 0;
}

/** How errors name a node. */
export const nodeWhere = (name: string, opType: string): string => `node ${name} (${opType})`;

/** Decode the protobuf: the graph's nodes as plain data (initializers and inputs are read apart). */
export function readOnnxModel(bytes: Uint8Array, label: string, name: string): OnnxModel {
  const model = decodeModelProto(bytes, label);
  const g = model.graph;
  const nodes = (g.node ?? []).map((n, k) => {
    const nodeName = n.name || `${(n.opType ?? 'node').toLowerCase()}_${k}`;
    return {
      name: nodeName,
      opType: n.opType ?? '',
      domain: n.domain ?? '',
      inputs: n.input ?? [],
      outputs: n.output ?? [],
      attrs: new Attributes(n.attribute ?? [], nodeWhere(nodeName, n.opType ?? '')),
    };
  });
  return { name: g.name || name, opset: defaultOpset(model), nodes, outputs: (g.output ?? []).map((o) => o.name ?? ''), graph: g };
}

/** The initializers by name. */
export function readInitializers(m: OnnxModel): Map<string, OnnxConst> {
  const out = new Map<string, OnnxConst>();
  for (const init of m.graph.initializer ?? []) out.set(init.name ?? '', tensorData(init, `initializer '${init.name}'`));
  return out;
}

/** The graph inputs that are not initializers (old exporters list initializers as inputs too). */
export function readInputs(m: OnnxModel, initializers: Map<string, OnnxConst>): OnnxInput[] {
  const out: OnnxInput[] = [];
  const seen = new Set(initializers.keys());
  const listed = new Set<string>();
  for (const input of m.graph.input ?? []) {
    const iname = input.name ?? '';
    if (listed.has(iname)) fail(`input '${iname}' is listed twice`);
    listed.add(iname);
    if (seen.has(iname)) continue;
    seen.add(iname);
    const tt = input.type?.tensorType;
    if (!tt) fail(`input '${iname}': only tensor inputs are supported`);
    const dims = tt.shape?.dim ?? [];
    const shape = dims.map((d, k) => {
      // A dim_value given (an own field of the decoded message) must be a size; onnxruntime feeds it as one.
      if (!d.dimParam && Object.hasOwn(d, 'dimValue') && num(d.dimValue) < 1) fail(`input '${iname}': dimension ${k} is ${num(d.dimValue)}: sizes must be positive`);
      const fixed = !d.dimParam && d.dimValue != null && num(d.dimValue) >= 1;
      // A symbolic batch (the first dimension) runs one sample per batch: k samples are k batches.
      if (!fixed && k === 0 && dims.length > 1) return 1;
      if (!fixed) fail(`input '${iname}': dimension ${k} is dynamic${d.dimParam ? ` ('${d.dimParam}')` : ''}: give it a fixed size`);
      return num(d.dimValue);
    });
    const elem = tt.elemType ?? 0;
    if (![ELEM.float, ELEM.int8, ELEM.uint8, ELEM.int32].includes(elem as 1)) fail(`input '${iname}': element type ${elemName(elem)} is not supported (float, uint8, int8 or int32)`);
    out.push({ name: iname, shape, elem });
  }
  return out;
}

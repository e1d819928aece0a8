/**
 * A small writer of ONNX models, used to make the example models (models/make-models.ts) and the
 * hand-built graphs of the frontend tests. It covers what those need: fixed-shape inputs and
 * outputs, initializers of the usual element types, nodes with int/float/ints/string attributes.
 */
import { createRequire } from 'node:module';
import type { onnx as OnnxNs } from 'onnx-proto';

const require = createRequire(import.meta.url);
// Loaded on first use: protobufjs and the ONNX schema cost start-up time every `vta` command would pay.
let loaded: typeof OnnxNs | undefined;
export const onnx: typeof OnnxNs = new Proxy({} as typeof OnnxNs, {
  get: (_, key) => (loaded ??= (require('onnx-proto') as { onnx: typeof OnnxNs }).onnx)[key as keyof typeof OnnxNs],
});

/** ONNX TensorProto.DataType codes used here. */
export const ELEM = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7 } as const;
export type ElemName = keyof typeof ELEM;

/** A float attribute whose value happens to be an integer (plain integers become INT attributes). */
export class FloatAttr {
  constructor(readonly value: number) {}
}
export type AttrValue = number | number[] | string | FloatAttr;

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

export interface InitSpec {
  name: string;
  type: ElemName;
  dims: number[];
  values: ArrayLike<number>;
}

export interface ModelSpec {
  name: string;
  inputs: { name: string; type: ElemName; shape: (number | string)[] }[];
  outputs: { name: string; type: ElemName; shape: (number | string)[] }[];
  initializers: InitSpec[];
  nodes: NodeSpec[];
  opset?: number;
}

function rawBytes(type: ElemName, values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  const size = { float: 4, uint8: 1, int8: 1, int32: 4, int64: 8 }[type];
  const view = new DataView(new ArrayBuffer(n * size));
  for (let k = 0; k < n; k++) {
    const v = values[k]!;
    if (type === 'float') view.setFloat32(4 * k, v, true);
    else if (type === 'uint8') view.setUint8(k, v);
    else if (type === 'int8') view.setInt8(k, v);
    else if (type === 'int32') view.setInt32(4 * k, v, true);
    else view.setBigInt64(8 * k, BigInt(v), true);
  }
  return new Uint8Array(view.buffer);
}

export function tensorProto(t: InitSpec): OnnxNs.ITensorProto {
  return { name: t.name, dataType: ELEM[t.type], dims: t.dims, rawData: rawBytes(t.type, t.values) };
}

function attribute(name: string, v: AttrValue): OnnxNs.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (v instanceof FloatAttr) return { name, type: T.FLOAT, f: v.value };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
}

function valueInfo(v: { name: string; type: ElemName; shape: (number | string)[] }): OnnxNs.IValueInfoProto {
  const dim = v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name: v.name, type: { tensorType: { elemType: ELEM[v.type], shape: { dim } } } };
}

/** Encode a model as ONNX protobuf bytes. */
export function buildOnnxModel(spec: ModelSpec): Uint8Array {
  const model: OnnxNs.IModelProto = {
    irVersion: 8,
    producerName: 'vta-toolchain',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    graph: {
      name: spec.name,
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      initializer: spec.initializers.map(tensorProto),
      node: spec.nodes.map((n, k) => ({
        name: n.name ?? `${n.op.toLowerCase()}_${k}`,
        opType: n.op,
        domain: n.domain ?? '',
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([key, v]) => attribute(key, v)),
      })),
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

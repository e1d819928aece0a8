/**
 * A float ONNX model opened for rewriting: its nodes as an editable list, its initializers by name
 * (float ones decoded on demand into Float32Arrays), its graph inputs and outputs, and the way back
 * to protobuf bytes. The quantizer's passes edit this; nothing here knows about quantization.
 */
import type { onnx as OnnxNs } from 'onnx-proto';
import { VtaError } from '../../lib/errors.ts';
import { onnx } from '../onnx-builder.ts';
import { decodeModelProto, defaultOpset, ELEM, num } from '../onnx/read.ts';
import { appendAll } from '../../lib/array-loops.ts';

export function quantizeError(message: string): never {
  throw new VtaError('E_QUANTIZE', message);
}

/** A node as the passes edit it: names are data, attributes stay protobuf records. */
export interface EditNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: OnnxNs.IAttributeProto[];
}

export interface FloatTensorValue {
  dims: number[];
  data: Float32Array;
}

/** A graph input: its name, element type and dimensions (a string for a symbolic one). */
export interface GraphInput {
  name: string;
  elem: number;
  dims: (number | string)[];
}

export class FloatModel {
  readonly proto: OnnxNs.ModelProto;
  nodes: EditNode[];
  readonly initializers = new Map<string, OnnxNs.ITensorProto>();
  private readonly decoded = new Map<string, FloatTensorValue>();
  readonly inputs: GraphInput[];
  readonly outputs: string[];
  readonly opset: number;
  /** The default opset the encoded model declares at least (INT4 needs 21). */
  private minOpset = 0;

  constructor(bytes: Uint8Array, readonly label: string) {
    const proto = decodeModelProto(bytes, label);
    const g = proto.graph;
    this.proto = proto;
    this.opset = defaultOpset(proto);
    for (const t of g.initializer ?? []) {
      if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) quantizeError(`${label}: initializer '${t.name}' keeps its data outside the model (save the model with data inline)`);
      this.initializers.set(t.name ?? '', t);
    }
    // Node names key the quantization plan: an unnamed or repeated one gets a unique name.
    const names = new Set<string>();
    this.nodes = (g.node ?? []).map((n, k) => ({
      name: freshName(names, n.name || `${(n.opType ?? 'node').toLowerCase()}_${k}`),
      opType: n.opType ?? '',
      domain: n.domain ?? '',
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attributes: [...(n.attribute ?? [])],
    }));
    this.inputs = (g.input ?? []).filter((i) => !this.initializers.has(i.name ?? '')).map((i) => ({
      name: i.name ?? '',
      elem: i.type?.tensorType?.elemType ?? 0,
      dims: (i.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue != null && num(d.dimValue) > 0 ? num(d.dimValue) : d.dimParam || '?')),
    }));
    this.outputs = (g.output ?? []).map((o) => o.name ?? '');
  }

  /** An independent copy to rewrite (initializer records are shared until replaced). */
  clone(): FloatModel {
    const copy = Object.create(FloatModel.prototype) as FloatModel;
    Object.assign(copy, this, {
      nodes: this.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attributes: [...n.attributes] })),
      initializers: new Map(this.initializers),
      decoded: new Map(this.decoded),
    });
    return copy;
  }

  isInitializer(name: string): boolean {
    return this.initializers.has(name);
  }

  /** A float initializer's values (decoded once), or undefined when `name` is not one. */
  floatInitializer(name: string): FloatTensorValue | undefined {
    const cached = this.decoded.get(name);
    if (cached) return cached;
    const t = this.initializers.get(name);
    if (!t || t.dataType !== ELEM.float) return undefined;
    const dims = (t.dims ?? []).map(num);
    const n = dims.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (t.rawData && t.rawData.length > 0) {
      if (t.rawData.length !== 4 * n) quantizeError(`${this.label}: initializer '${name}' holds ${t.rawData.length} bytes, its shape needs ${4 * n}`);
      data = new Float32Array(n);
      new Uint8Array(data.buffer).set(t.rawData);
    } else {
      data = Float32Array.from(t.floatData ?? []);
      if (data.length !== n) quantizeError(`${this.label}: initializer '${name}' holds ${data.length} values, its shape needs ${n}`);
    }
    const value = { dims, data };
    this.decoded.set(name, value);
    return value;
  }

  /** An integer initializer's values (int64 / int32), for shapes and axes. */
  intInitializer(name: string): number[] | undefined {
    const t = this.initializers.get(name);
    if (!t) return undefined;
    if (t.rawData && t.rawData.length > 0) {
      const v = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
      if (t.dataType === ELEM.int64) return Array.from({ length: t.rawData.length / 8 }, (_, k) => Number(v.getBigInt64(8 * k, true)));
      if (t.dataType === ELEM.int32) return Array.from({ length: t.rawData.length / 4 }, (_, k) => v.getInt32(4 * k, true));
      return undefined;
    }
    if (t.dataType === ELEM.int64) return (t.int64Data ?? []).map(num);
    if (t.dataType === ELEM.int32) return [...(t.int32Data ?? [])];
    return undefined;
  }

  /** Declare at least this default opset when encoding (and the IR version it needs: 10 for opset 21). */
  requireOpset(version: number): void {
    this.minOpset = Math.max(this.minOpset, version);
  }

  private opsetFields(): Pick<OnnxNs.IModelProto, 'opsetImport' | 'irVersion'> {
    if (this.minOpset <= this.opset) return {};
    const others = (this.proto.opsetImport ?? []).filter((o) => o.domain && o.domain !== 'ai.onnx');
    return { opsetImport: [{ domain: '', version: this.minOpset }, ...others], irVersion: Math.max(num(this.proto.irVersion), 10) };
  }

  setInitializer(name: string, elem: number, dims: number[], bytes: Uint8Array): void {
    this.initializers.set(name, { name, dataType: elem, dims, rawData: bytes });
    this.decoded.delete(name);
  }

  setFloatInitializer(name: string, dims: number[], data: Float32Array): void {
    this.setInitializer(name, ELEM.float, dims, new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
    this.decoded.set(name, { dims, data });
  }

  /** Nodes that read each value, by value name. */
  consumers(): Map<string, EditNode[]> {
    const out = new Map<string, EditNode[]>();
    for (const n of this.nodes) for (const i of n.inputs) if (i) out.set(i, appendAll(out.get(i) ?? [], [n]));
    return out;
  }

  /** The node that writes each value, by value name. */
  producers(): Map<string, EditNode> {
    return new Map(this.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  }

  /** Every value name in use (inputs, outputs, initializers, node outputs), for fresh names. */
  usedNames(): Set<string> {
    return new Set([...this.initializers.keys(), ...this.inputs.map((i) => i.name), ...this.outputs, ...this.nodes.flatMap((n) => [n.name, ...n.outputs])]);
  }

  /** Drop initializers no node reads any more. */
  pruneInitializers(): void {
    const read = new Set(this.nodes.flatMap((n) => n.inputs));
    for (const name of [...this.initializers.keys()]) if (!read.has(name)) {
      this.initializers.delete(name);
      this.decoded.delete(name);
    }
  }

  /** The model as protobuf bytes; `extraOutputs` become graph outputs (name only: onnxruntime infers the rest). */
  encode(extraOutputs: readonly string[] = [], producerName?: string): Uint8Array {
    const g = this.proto.graph!;
    const graph: OnnxNs.IGraphProto = {
      ...g,
      node: this.nodes.map((n) => ({ name: n.name, opType: n.opType, domain: n.domain, input: n.inputs, output: n.outputs, attribute: n.attributes })),
      initializer: [...this.initializers.values()],
      input: (g.input ?? []).filter((i) => this.inputs.some((x) => x.name === i.name)),
      output: [...(g.output ?? []), ...extraOutputs.map((name) => ({ name }))],
      valueInfo: [],
    };
    const model: OnnxNs.IModelProto = { ...this.proto, graph, ...this.opsetFields(), ...(producerName ? { producerName } : {}) };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }
}

/** `base`, or `base_1`, `base_2`, … : the first not in `used`, which it joins. */
export function freshName(used: Set<string>, base: string): string {
  let name = base;
  for (let k = 1; used.has(name); k++) name = `${base}_${k}`;
  used.add(name);
  return name;
}

/** A node's attribute by name. */
export function attribute(n: EditNode, key: string): OnnxNs.IAttributeProto | undefined {
  return n.attributes.find((a) => a.name === key);
}

export function intAttribute(n: EditNode, key: string, dflt: number): number {
  const a = attribute(n, key);
  return a ? num(a.i) : dflt;
}

export function floatAttribute(n: EditNode, key: string, dflt: number): number {
  const a = attribute(n, key);
  return a?.f != null ? a.f : dflt;
}

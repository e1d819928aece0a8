/**
 * The vta-graph/1 model being built by the importer: fresh node names, nodes with their inferred
 * types, int8/int32 constants, graph inputs, and a static bound of |value| for every tensor (the
 * fixed-point requantization derives its overflow and error bounds from it).
 */
import type { DType, Graph, GraphNode, OpName, TensorType } from '../../graph/ir.ts';
import { decodeConst, inferNodeType, makeConst, validateGraph } from '../../graph/load.ts';
import { nameRecord, setName } from '../../lib/named.ts';
import { maxOf, rowSums } from '../../lib/array-loops.ts';

/** An IR tensor as the builder made it. */
export interface Emitted {
  ir: string;
  dtype: DType;
  shape: number[];
}

/** Constant data for the graph: the dtype's typed array is kept as is, other values converted. */
export interface ConstData {
  dtype: DType;
  dims: number[];
  data: ArrayLike<number>;
}

export class GraphBuilder {
  private used = new Set<string>();
  private nodes: GraphNode[] = [];
  private types = new Map<string, TensorType>();
  private tensors: Graph['tensors'] = nameRecord();
  private inputs: Graph['inputs'] = [];
  /** Static bound of |value| per IR tensor, per channel (axis 1) or one value for all. */
  private bounds = new Map<string, number[]>();
  /** Node outputs renamed to graph output names (later nodes may still refer to the old name). */
  private renamed = new Map<string, string>();

  fresh(base: string): string {
    const clean = base.replace(/\s+/g, '_') || 'node';
    let name = clean;
    for (let k = 1; this.used.has(name); k++) name = `${clean}.${k}`;
    this.used.add(name);
    return name;
  }

  /** Keep names (the ONNX graph's inputs and outputs) for the nodes that must carry them. */
  reserve(names: string[]): void {
    for (const n of names) this.used.add(n);
  }

  /** A graph input under its ONNX name (reserved beforehand). */
  input(name: string, shape: number[], dtype: DType): Emitted {
    this.inputs.push({ name, shape, dtype });
    this.types.set(name, { shape, dtype });
    return { ir: name, dtype, shape };
  }

  emit(op: OpName, inputs: string[], base: string, attrs: Record<string, unknown>): Emitted {
    return this.emitAs(this.fresh(base), op, inputs, attrs);
  }

  /** A node whose output has exactly this (reserved) name: a graph output. */
  emitAs(name: string, op: OpName, inputs: string[], attrs: Record<string, unknown>): Emitted {
    const node = { name, op, inputs: inputs.map((i) => this.renamed.get(i) ?? i), output: name, attrs } as GraphNode;
    const type = inferNodeType(node, this.types);
    this.types.set(name, type);
    this.nodes.push(node);
    const limit = type.dtype === 'int8' ? 128 : type.dtype === 'uint8' ? 255 : Infinity;
    this.bounds.set(name, this.boundOfNode(node).map((v) => Math.min(v, limit)));
    return { ir: name, dtype: type.dtype, shape: type.shape };
  }

  /**
   * Give the node that produces `ir` the (reserved) name `name`, updating its consumers: a graph
   * output named as in ONNX without an extra copy step. False when `ir` is not a node's output.
   */
  rename(ir: string, name: string): boolean {
    const node = this.nodes.find((n) => n.output === (this.renamed.get(ir) ?? ir));
    if (node && node.output !== ir) return false;
    if (!node || this.nodes.some((n) => n.inputs.includes(name))) return false;
    node.name = name;
    node.output = name;
    this.renamed.set(ir, name);
    for (const n of this.nodes) n.inputs = n.inputs.map((i) => (i === ir ? name : i));
    this.types.set(name, this.types.get(ir)!);
    this.bounds.set(name, this.bounds.get(ir) ?? []);
    return true;
  }

  constant(c: ConstData, base: string): Emitted {
    const name = this.fresh(base);
    // Other data is converted by the constructor (natively; TypedArray.from walks an iterator).
    const data = c.dtype === 'int8' ? (c.data instanceof Int8Array ? c.data : new Int8Array(c.data))
      : c.dtype === 'uint8' ? (c.data instanceof Uint8Array ? c.data : new Uint8Array(c.data))
      : c.dtype === 'float32' ? (c.data instanceof Float32Array ? c.data : new Float32Array(c.data))
      : (c.data instanceof Int32Array ? c.data : new Int32Array(c.data));
    const shape = c.dims.length ? [...c.dims] : [1];
    setName(this.tensors, name, makeConst(shape, c.dtype, data));
    this.types.set(name, { shape, dtype: c.dtype });
    return { ir: name, dtype: c.dtype, shape };
  }

  /** Per-channel (axis 1) bounds of |value|, or one for all channels. */
  channelBounds(ir: string): number[] {
    return this.bounds.get(ir) ?? [this.boundOf(ir)];
  }

  /** The finished, validated graph. */
  build(name: string, outputs: string[]): Graph {
    return validateGraph({ format: 'vta-graph/1', name, inputs: this.inputs, outputs, tensors: this.tensors, nodes: this.nodes });
  }

  // --- static value bounds ------------------------------------------------------------------------

  boundOf(ir: string): number {
    const b = this.bounds.get(ir);
    if (b) return maxOf(b);
    const c = this.tensors[ir];
    if (c) {
      let m = 0;
      for (const v of decodeConst(ir, c)) m = Math.max(m, Math.abs(Number(v)));
      return m;
    }
    const dtype = this.types.get(ir)?.dtype;
    return dtype === 'int8' ? 128 : dtype === 'uint8' ? 255 : 2 ** 31;
  }

  private boundOfNode(n: GraphNode): number[] {
    const x = n.inputs[0]!;
    const a = (n.attrs ?? {}) as Record<string, number>;
    switch (n.op) {
      case 'dense':
      case 'conv2d': {
        if (!this.tensors[n.inputs[1]!]) return [2 ** 31];
        // Per output channel: Σ|w| times the largest |input|.
        const w = decodeConst(n.inputs[1]!, this.tensors[n.inputs[1]!]!);
        const channels = this.tensors[n.inputs[1]!]!.shape[0]!;
        const xb = this.boundOf(x);
        return rowSums(w, channels, true).map((s) => s * xb);
      }
      case 'bias_add': {
        const b = decodeConst(n.inputs[1]!, this.tensors[n.inputs[1]!]!);
        const xb = this.bounds.get(x) ?? [this.boundOf(x)];
        return Array.from(b, (v, c) => (xb.length === b.length ? xb[c]! : maxOf(xb)) + Math.abs(v));
      }
      case 'add':
      case 'sub':
        return [this.boundOf(x) + this.boundOf(n.inputs[1]!)];
      case 'mul':
        return [this.boundOf(x) * this.boundOf(n.inputs[1]!)];
      case 'matmul': {
        const k = this.types.get(x)!.shape.at(-1)!;
        return [k * this.boundOf(x) * this.boundOf(n.inputs[1]!)];
      }
      case 'pad':
        return [Math.max(this.boundOf(x), Math.abs((a as { value?: number }).value ?? 0))];
      case 'relu':
        return this.bounds.get(x) ?? [this.boundOf(x)];
      case 'clip':
        return (this.bounds.get(x) ?? [this.boundOf(x)]).map((v) => Math.min(v, Math.max(Math.abs(a.min!), Math.abs(a.max!))));
      case 'requantize': {
        const m = n.inputs[1] ? this.boundOf(n.inputs[1]) : (a.multiplier ?? 1);
        return [Math.ceil((this.boundOf(x) * m) / 2 ** a.shift!) + 1];
      }
      case 'requantize_float':
        return [Math.ceil(this.boundOf(x) * a.scale!) + 1];
      case 'cast':
        return [Math.min(this.boundOf(x), a.dtype as unknown as string === 'uint8' ? 255 : a.dtype as unknown as string === 'int8' ? 128 : Infinity)];
      default:
        return [this.boundOf(x)];
    }
  }
}

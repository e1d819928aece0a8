/**
 * The vta-graph/1 model being built by the importer: fresh node names, nodes with their inferred
 * types, int8/int32 constants, graph inputs, and a static bound of |value| for every tensor (the
 * fixed-point requantization derives its overflow and error bounds from it).
 */
import type { DType, Graph, GraphNode, OpName, TensorType } from '../../graph/ir.ts';
import { decodeConst, encodeConstData, inferNodeType, validateGraph } from '../../graph/load.ts';

/** An IR tensor and the real scale of its values (ONNX value ≈ scale · integer). */
export interface TensorValue {
  kind: 'tensor';
  ir: string;
  scale: number;
  dtype: DType;
  shape: number[];
}

/** Integer constant data with its scale (dequantized weights or biases). */
export interface QConst {
  kind: 'qconst';
  dtype: DType;
  dims: number[];
  data: number[];
  scale: number;
}

export class GraphBuilder {
  private used = new Set<string>();
  private nodes: GraphNode[] = [];
  private types = new Map<string, TensorType>();
  private tensors: Graph['tensors'] = {};
  private inputs: Graph['inputs'] = [];
  /** Static bound of |value| per IR tensor, per channel (axis 1) or one value for all. */
  private bounds = new Map<string, number[]>();

  fresh(base: string): string {
    const clean = base.replace(/\s+/g, '_') || 'node';
    let name = clean;
    for (let k = 1; this.used.has(name); k++) name = `${clean}.${k}`;
    this.used.add(name);
    return name;
  }

  /** A new int8 graph input named after `base`; returns its IR name. */
  input(base: string, shape: number[]): string {
    const name = this.fresh(base);
    this.inputs.push({ name, shape, dtype: 'int8' });
    this.types.set(name, { shape, dtype: 'int8' });
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
    const shape = q.dims.length ? [...q.dims] : [1];
    this.tensors[name] = { shape, dtype: q.dtype, data: encodeConstData(data) };
    this.types.set(name, { shape, dtype: q.dtype });
    return { kind: 'tensor', ir: name, scale: q.scale, dtype: q.dtype, shape };
  }

  /** The finished, validated graph. */
  build(name: string, outputs: string[]): Graph {
    return validateGraph({ format: 'vta-graph/1', name, inputs: this.inputs, outputs, tensors: this.tensors, nodes: this.nodes });
  }

  // --- static value bounds ------------------------------------------------------------------------

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
}

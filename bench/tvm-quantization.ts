/**
 * A QDQ model (onnxruntime quantize_static conventions) requantized the way TVM's VTA flow
 * quantizes: every scale a power of two, symmetric int8 with zero point 0, per tensor. The
 * Chisel anchor (7,729,601 tsim cycles) was measured on such a network, whose epilogues are a
 * shift and a clip. Rewritten in place of the original's parameters:
 * - each activation: the smallest 2^-n scale whose int8 grid covers the original uint8 range; a
 *   range that was [0, max] (zero point 0: the ReLU folded into the quantization) gets an explicit
 *   Relu after its Conv or Add, since int8 keeps negative values;
 * - each weight: its dequantized values requantized per tensor to the smallest 2^-n that covers
 *   them (±127);
 * - each bias: its dequantized values requantized to input scale × weight scale (int32).
 */
import type { onnx as OnnxNs } from 'onnx-proto';
import { onnx, tensorProto } from '../frontend/onnx-builder.ts';
import { decodeModelProto, tensorData } from '../frontend/onnx/read.ts';
import { VtaError } from '../lib/errors.ts';

type Node = OnnxNs.INodeProto;

/** The smallest power of two at or above x (as a float32: every 2^-n in range is exact). */
function pow2AtLeast(x: number): number {
  if (!(x > 0)) return 1;
  let s = 2 ** Math.ceil(Math.log2(x));
  while (s < x) s *= 2;
  while (s / 2 >= x) s /= 2;
  return s;
}

/** The initializers by name, and a way to replace one. */
class Initializers {
  private readonly byName = new Map<string, OnnxNs.ITensorProto>();
  constructor(private readonly graph: OnnxNs.IGraphProto) {
    for (const t of graph.initializer ?? []) this.byName.set(t.name!, t);
  }
  has(name: string): boolean {
    return this.byName.has(name);
  }
  values(name: string): number[] {
    const t = this.byName.get(name);
    if (!t) throw new VtaError('E_ONNX', `tvm-quantization: initializer ${name} not found`);
    return Array.from(tensorData(t, name).data);
  }
  dims(name: string): number[] {
    return tensorData(this.byName.get(name)!, name).dims;
  }
  set(name: string, type: 'float' | 'int8' | 'int32', dims: number[], values: ArrayLike<number>): void {
    const t = tensorProto({ name, type, dims, values });
    this.byName.set(name, t);
    this.graph.initializer = (this.graph.initializer ?? []).map((old) => (old.name === name ? t : old));
  }
}

/** Dequantized values of a (per-axis or per-tensor) quantized initializer read by a DequantizeLinear. */
function dequantized(init: Initializers, dq: Node): number[] {
  const [q, s, z] = dq.input!;
  const values = init.values(q!);
  const scales = init.values(s!);
  const zeros = z && init.has(z) ? init.values(z) : scales.map(() => 0);
  const per = values.length / scales.length;
  return values.map((v, k) => (v - zeros[Math.floor(k / per)]!) * scales[Math.floor(k / per)]!);
}

/** Activations: power-of-two symmetric int8 scales; returns the new scale of each scale initializer. */
function requantizeActivations(graph: OnnxNs.IGraphProto, init: Initializers): Map<string, number> {
  const scales = new Map<string, number>();
  const producers = new Map<string, Node>();
  for (const n of graph.node!) for (const o of n.output ?? []) producers.set(o, n);
  const relus: { before: Node; relu: Node }[] = [];
  for (const q of graph.node!.filter((n) => n.opType === 'QuantizeLinear')) {
    const [x, s, z] = q.input!;
    if (scales.has(s!)) continue;
    const scale = init.values(s!)[0]!;
    const zero = init.values(z!)[0]!;
    const absMax = Math.max(zero * scale, (255 - zero) * scale);
    scales.set(s!, pow2AtLeast(absMax / 127));
    init.set(s!, 'float', [], [scales.get(s!)!]);
    init.set(z!, 'int8', [], [0]);
    const producer = producers.get(x!);
    if (zero === 0 && producer && (producer.opType === 'Conv' || producer.opType === 'Add')) {
      const relu: Node = { name: `${x}_Relu`, opType: 'Relu', input: [x!], output: [`${x}_relu`] };
      q.input = [`${x}_relu`, s!, z!];
      relus.push({ before: q, relu });
    }
  }
  for (const { before, relu } of relus) graph.node!.splice(graph.node!.indexOf(before), 0, relu);
  return scales;
}

/** Weights per tensor at 2^-n, biases at input scale × weight scale, for every Conv and Gemm. */
function requantizeWeightedNodes(graph: OnnxNs.IGraphProto, init: Initializers, activationScales: Map<string, number>): void {
  const dqOf = new Map<string, Node>();
  for (const n of graph.node!) if (n.opType === 'DequantizeLinear') dqOf.set(n.output![0]!, n);
  for (const node of graph.node!.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm')) {
    const [x, w, b] = node.input!.map((i) => dqOf.get(i));
    if (!x || !w) throw new VtaError('E_ONNX', `tvm-quantization: ${node.name} does not read dequantized input and weight`);
    const inputScale = activationScales.get(x.input![1]!)!;
    const weights = dequantized(init, w);
    const weightScale = pow2AtLeast(weights.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127);
    init.set(w.input![0]!, 'int8', init.dims(w.input![0]!), weights.map((v) => Math.max(-127, Math.min(127, Math.round(v / weightScale)))));
    setPerTensor(init, w, weightScale, 'int8');
    if (!b) continue;
    const biases = dequantized(init, b);
    const biasScale = inputScale * weightScale;
    init.set(b.input![0]!, 'int32', init.dims(b.input![0]!), biases.map((v) => Math.round(v / biasScale)));
    setPerTensor(init, b, biasScale, 'int32');
  }
}

/** A DequantizeLinear made per tensor: scalar scale, zero point 0, no axis. */
function setPerTensor(init: Initializers, dq: Node, scale: number, zeroType: 'int8' | 'int32'): void {
  init.set(dq.input![1]!, 'float', [], [scale]);
  if (dq.input![2]) init.set(dq.input![2], zeroType, [], [0]);
  dq.attribute = (dq.attribute ?? []).filter((a) => a.name !== 'axis');
}

/** `bytes` (a QDQ ONNX model) with TVM-style power-of-two symmetric per-tensor quantization. */
export function tvmStyleQuantization(bytes: Uint8Array, label: string): Uint8Array {
  const model = decodeModelProto(bytes, label);
  const init = new Initializers(model.graph);
  const scales = requantizeActivations(model.graph, init);
  requantizeWeightedNodes(model.graph, init, scales);
  return onnx.ModelProto.encode(model).finish();
}

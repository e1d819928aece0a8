/**
 * A float ResNet-18-shaped ONNX model with seeded random weights, built in memory: the material of
 * the quantizer's speed benchmark (issue 10: calibrating a ResNet-18-sized float model). It is not
 * trained and not committed; only its shapes, op mix and value ranges matter.
 *
 * input [1, 3, 224, 224] → conv 7×7/2 (64) + BatchNormalization + Relu → MaxPool 3×3/2 pad 1 →
 * 4 stages × 2 basic blocks (64, 128, 256, 512 channels; the first block of stages 2–4 has stride 2
 * and a 1×1/2 conv + BN shortcut) with residual Add + Relu → GlobalAveragePool → Flatten →
 * Gemm 512→1000 = logits [1, 1000].
 *
 * Weights: He-normal convs; BN gamma in [0.5, 1], beta and running mean within ±0.05, running
 * variance in [0.9, 1.1] — so activations stay O(1) through the eight blocks without training.
 */
import { buildOnnxModel, FloatAttr, type InitSpec, type NodeSpec } from '../frontend/onnx-builder.ts';
import type { NpyArray } from '../lib/npy.ts';
import { mulberry32 } from '../lib/random.ts';

const STAGES = [64, 128, 256, 512] as const;
const CLASSES = 1000;
export const RESNET18_INPUT_SHAPE = [1, 3, 224, 224] as const;

/** A seeded standard-normal generator (Box–Muller over mulberry32). */
function normalGenerator(seed: number): () => number {
  const uniform = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Collects the nodes and initializers of the graph as it is built, layer by layer. */
class ResnetBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly inits: InitSpec[] = [];
  private readonly normal: () => number;
  private readonly uniform: () => number;

  constructor(seed: number) {
    this.normal = normalGenerator(seed);
    this.uniform = mulberry32(seed ^ 0x9e3779b9);
  }

  private init(name: string, dims: number[], value: () => number): string {
    const n = dims.reduce((a, b) => a * b, 1);
    this.inits.push({ name, type: 'float', dims, values: Float32Array.from({ length: n }, value) });
    return name;
  }

  private between(lo: number, hi: number): () => number {
    return () => lo + (hi - lo) * this.uniform();
  }

  /** Conv (He-normal, no bias) + BatchNormalization, optionally + Relu. */
  convBn(name: string, x: string, cin: number, cout: number, kernel: number, stride: number, relu: boolean): string {
    const std = Math.sqrt(2 / (cin * kernel * kernel));
    const w = this.init(`${name}.weight`, [cout, cin, kernel, kernel], () => std * this.normal());
    const pad = (kernel - 1) >> 1;
    const attrs = { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [pad, pad, pad, pad] };
    this.nodes.push({ op: 'Conv', name: `${name}.conv`, inputs: [x, w], outputs: [`${name}.conv_out`], attrs });
    const bn = ['gamma', 'beta', 'mean', 'var'].map((p, k) =>
      this.init(`${name}.bn.${p}`, [cout], [this.between(0.5, 1), this.between(-0.05, 0.05), this.between(-0.05, 0.05), this.between(0.9, 1.1)][k]!));
    this.nodes.push({ op: 'BatchNormalization', name: `${name}.bn`, inputs: [`${name}.conv_out`, ...bn], outputs: [`${name}.bn_out`], attrs: { epsilon: new FloatAttr(1e-5) } });
    return relu ? this.relu(`${name}.bn_out`, `${name}.relu_out`) : `${name}.bn_out`;
  }

  relu(x: string, out: string): string {
    this.nodes.push({ op: 'Relu', name: out.replace(/_out$/, ''), inputs: [x], outputs: [out] });
    return out;
  }

  /** conv-bn-relu, conv-bn, plus the shortcut (identity, or 1×1/stride conv + BN), then Relu. */
  basicBlock(name: string, x: string, cin: number, cout: number, stride: number): string {
    const a = this.convBn(`${name}.a`, x, cin, cout, 3, stride, true);
    const b = this.convBn(`${name}.b`, a, cout, cout, 3, 1, false);
    const shortcut = stride === 1 && cin === cout ? x : this.convBn(`${name}.down`, x, cin, cout, 1, stride, false);
    this.nodes.push({ op: 'Add', name: `${name}.add`, inputs: [b, shortcut], outputs: [`${name}.add_out`] });
    return this.relu(`${name}.add_out`, `${name}.out`);
  }

  head(x: string, channels: number): string {
    this.nodes.push({ op: 'GlobalAveragePool', name: 'pool', inputs: [x], outputs: ['pooled'] });
    this.nodes.push({ op: 'Flatten', name: 'flatten', inputs: ['pooled'], outputs: ['features'], attrs: { axis: 1 } });
    const std = Math.sqrt(1 / channels);
    const w = this.init('fc.weight', [CLASSES, channels], () => std * this.normal());
    const b = this.init('fc.bias', [CLASSES], this.between(-0.01, 0.01));
    this.nodes.push({ op: 'Gemm', name: 'fc', inputs: ['features', w, b], outputs: ['logits'], attrs: { transB: 1 } });
    return 'logits';
  }
}

/** The model's ONNX bytes (opset 13); the same seed gives the same bytes. */
export function buildResnet18Float(seed = 1): Uint8Array {
  const g = new ResnetBuilder(seed);
  let x = g.convBn('conv1', 'input', 3, 64, 7, 2, true);
  g.nodes.push({ op: 'MaxPool', name: 'maxpool', inputs: [x], outputs: ['maxpool_out'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } });
  x = 'maxpool_out';
  let channels = 64;
  STAGES.forEach((width, s) => {
    for (let k = 0; k < 2; k++) {
      x = g.basicBlock(`layer${s + 1}.${k}`, x, channels, width, s > 0 && k === 0 ? 2 : 1);
      channels = width;
    }
  });
  const logits = g.head(x, channels);
  return buildOnnxModel({
    name: 'resnet18-float',
    inputs: [{ name: 'input', type: 'float', shape: [...RESNET18_INPUT_SHAPE] }],
    outputs: [{ name: logits, type: 'float', shape: [1, CLASSES] }],
    initializers: g.inits,
    nodes: g.nodes,
  });
}

/** `n` seeded images, float32 [n, 3, 224, 224], each value standard normal (a normalized image's range). */
export function randomImages(n: number, seed: number): NpyArray {
  const normal = normalGenerator(seed);
  const [, c, h, w] = RESNET18_INPUT_SHAPE;
  return { shape: [n, c, h, w], dtype: 'float32', data: Float32Array.from({ length: n * c * h * w }, normal) };
}

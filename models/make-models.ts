/**
 * Makes the example models: quantized ONNX files in QDQ form (what onnxruntime's quantizer emits)
 * with seeded int8 weights and power-of-two scales, plus one float32 example input each (.npy).
 *
 *   npx tsx models/make-models.ts [outDir]     (default: models/)
 *
 * mlp.onnx: 784-256-128-10 (MatMul+Add, MatMul+Add, Gemm), relu between layers.
 * cnn.onnx: 3x32x32 → conv3x3(16)+relu+maxpool2 → conv3x3(32)+relu+maxpool2 → residual
 *           [conv3x3(32)+relu] + add → flatten → Gemm(10).
 * requant.onnx: 3x12x12 → conv3x3(8)+relu+maxpool2 → flatten → Gemm(10), with scales that are
 *           NOT powers of two (import it with --scales vta or host).
 * Output files are deterministic: running this twice gives identical bytes.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/files.ts';
import { buildOnnxModel, type InitSpec, type ModelSpec, type NodeSpec } from '../frontend/onnx-builder.ts';
import { writeNpy } from '../lib/npy.ts';
import { mulberry32 as rng } from '../lib/random.ts';


function randomInts(rand: () => number, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + Math.floor(rand() * (hi - lo + 1)));
}

/** Builds a QDQ graph: every activation between layers is int8 with a power-of-two scale. */
class QdqGraph {
  nodes: NodeSpec[] = [];
  inits: InitSpec[] = [];
  private scales = new Map<number, string>();
  private count = 0;
  constructor(private rand: () => number) {
    this.inits.push({ name: 'zp_i8', type: 'int8', dims: [], values: [0] });
    this.inits.push({ name: 'zp_i32', type: 'int32', dims: [], values: [0] });
  }

  /** A scale that need not be a power of two (stored as float32, as ONNX does). */
  scaleOf(value: number): string {
    const name = `scale_${value}`;
    if (!this.inits.some((i) => i.name === name)) this.inits.push({ name, type: 'float', dims: [], values: [value] });
    return name;
  }

  /** Q then DQ at any scale (see qdq). */
  qdqAt(x: string, value: number, name: string, output = `${name}_dq`): string {
    const q = `${name}_q`;
    this.nodes.push({ op: 'QuantizeLinear', inputs: [x, this.scaleOf(value), 'zp_i8'], outputs: [q], name: `${name}_quant` });
    this.nodes.push({ op: 'DequantizeLinear', inputs: [q, this.scaleOf(value), 'zp_i8'], outputs: [output], name: `${name}_dequant` });
    return output;
  }

  private scale(log2: number): string {
    let name = this.scales.get(log2);
    if (!name) {
      name = `scale_2^${log2}`;
      this.scales.set(log2, name);
      this.inits.push({ name, type: 'float', dims: [], values: [2 ** log2] });
    }
    return name;
  }

  private fresh(base: string): string {
    return `${base}_${this.count++}`;
  }

  /** Q then DQ at scale 2^log2: the float tensor `x` becomes an int8-representable one. */
  qdq(x: string, log2: number, name: string, output = `${name}_dq`): string {
    const q = `${name}_q`;
    this.nodes.push({ op: 'QuantizeLinear', inputs: [x, this.scale(log2), 'zp_i8'], outputs: [q], name: `${name}_quant` });
    this.nodes.push({ op: 'DequantizeLinear', inputs: [q, this.scale(log2), 'zp_i8'], outputs: [output], name: `${name}_dequant` });
    return output;
  }

  /** An int8 weight (or int32 bias) initializer behind a DequantizeLinear. */
  constant(name: string, type: 'int8' | 'int32', dims: number[], values: number[], log2: number): string {
    this.inits.push({ name, type, dims, values });
    this.nodes.push({ op: 'DequantizeLinear', inputs: [name, this.scale(log2), type === 'int8' ? 'zp_i8' : 'zp_i32'], outputs: [`${name}_dq`], name: `${name}_dequant` });
    return `${name}_dq`;
  }

  weights(name: string, dims: number[], log2: number): string {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.constant(name, 'int8', dims, randomInts(this.rand, n, -40, 40), log2);
  }

  /** Weights or bias behind a DequantizeLinear at any scale. */
  constantAt(name: string, type: 'int8' | 'int32', dims: number[], scale: number): string {
    const n = dims.reduce((a, b) => a * b, 1);
    this.inits.push({ name, type, dims, values: type === 'int8' ? randomInts(this.rand, n, -40, 40) : randomInts(this.rand, n, -2000, 2000) });
    this.nodes.push({ op: 'DequantizeLinear', inputs: [name, this.scaleOf(scale), type === 'int8' ? 'zp_i8' : 'zp_i32'], outputs: [`${name}_dq`], name: `${name}_dequant` });
    return `${name}_dq`;
  }

  bias(name: string, n: number, log2: number): string {
    return this.constant(name, 'int32', [n], randomInts(this.rand, n, -2000, 2000), log2);
  }

  op(op: string, inputs: string[], name: string, attrs?: NodeSpec['attrs']): string {
    const out = this.fresh(name);
    this.nodes.push({ op, inputs, outputs: [out], name, attrs });
    return out;
  }
}

// Scales (log2): input 2^-7 (values in [-1, 1)), weights 2^-8. Activation scales were picked so
// that the int8 activations of the example inputs use a good part of the range without saturating.
const IN = -7;
const W = -8;

function makeMlp(): { spec: ModelSpec; /** The scale of the input's QuantizeLinear. */ inputScale: number } {
  const g = new QdqGraph(rng(784));
  const x = g.qdq('input', IN, 'input');
  let h = x;
  let scale = IN;
  const layers: [number, number, number][] = [[784, 256, -3], [256, 128, -3]];
  layers.forEach(([k, m, outScale], i) => {
    const w = g.weights(`fc${i + 1}.weight`, [k, m], W);
    const b = g.bias(`fc${i + 1}.bias`, m, scale + W);
    const mm = g.op('MatMul', [h, w], `fc${i + 1}`);
    const a = g.op('Add', [mm, b], `fc${i + 1}.add_bias`);
    const r = g.op('Relu', [a], `relu${i + 1}`);
    h = g.qdq(r, outScale, `act${i + 1}`);
    scale = outScale;
  });
  // The head is a Gemm with transposed weights [10,128], as PyTorch exports nn.Linear.
  const w3 = g.weights('fc3.weight', [10, 128], W);
  const b3 = g.bias('fc3.bias', 10, scale + W);
  const logits = g.op('Gemm', [h, w3, b3], 'fc3', { transB: 1 });
  g.qdq(logits, -2, 'logits', 'logits');
  return {
    spec: {
      name: 'mlp',
      inputs: [{ name: 'input', type: 'float', shape: [1, 784] }],
      outputs: [{ name: 'logits', type: 'float', shape: [1, 10] }],
      initializers: g.inits,
      nodes: g.nodes,
    },
    inputScale: 2 ** IN,
  };
}

function makeCnn(): { spec: ModelSpec; inputScale: number } {
  const g = new QdqGraph(rng(3232));
  const x = g.qdq('input', IN, 'input');
  const pads = [1, 1, 1, 1];
  const convBlock = (inp: string, inScale: number, cin: number, cout: number, outScale: number, name: string): string => {
    const w = g.weights(`${name}.weight`, [cout, cin, 3, 3], W);
    const b = g.bias(`${name}.bias`, cout, inScale + W);
    const c = g.op('Conv', [inp, w, b], name, { kernel_shape: [3, 3], pads, strides: [1, 1] });
    const r = g.op('Relu', [c], `${name}.relu`);
    return g.qdq(r, outScale, `${name}.act`);
  };
  const c1 = convBlock(x, IN, 3, 16, -3, 'conv1');
  const p1 = g.qdq(g.op('MaxPool', [c1], 'pool1', { kernel_shape: [2, 2], strides: [2, 2] }), -3, 'pool1.out');
  const c2 = convBlock(p1, -3, 16, 32, -2, 'conv2');
  const p2 = g.qdq(g.op('MaxPool', [c2], 'pool2', { kernel_shape: [2, 2], strides: [2, 2] }), -2, 'pool2.out');
  // Residual: both branches and the sum at scale 2^-2, so the Add is an exact integer add that
  // saturates to int8 (no requantize shift, hence no rounding ties against ONNX's half-to-even).
  const c3 = convBlock(p2, -2, 32, 32, -2, 'conv3');
  const sum = g.qdq(g.op('Add', [p2, c3], 'residual'), -2, 'residual.out');
  const flat = g.op('Flatten', [sum], 'flatten', { axis: 1 });
  const w = g.weights('fc.weight', [10, 32 * 8 * 8], W);
  const b = g.bias('fc.bias', 10, -2 + W);
  const logits = g.op('Gemm', [flat, w, b], 'fc', { transB: 1 });
  g.qdq(logits, 0, 'logits', 'logits');
  return {
    spec: {
      name: 'cnn',
      inputs: [{ name: 'input', type: 'float', shape: [1, 3, 32, 32] }],
      outputs: [{ name: 'logits', type: 'float', shape: [1, 10] }],
      initializers: g.inits,
      nodes: g.nodes,
    },
    inputScale: 2 ** IN,
  };
}

/**
 * Non-power-of-two scales: every requantization ratio (0.0079·0.0117/0.0093 and so on) needs a
 * multiplier. Bias scales are the float32 products of input and weight scales, as quantizers
 * emit them.
 */
function makeRequant(): { spec: ModelSpec; inputScale: number } {
  const g = new QdqGraph(rng(1212));
  const [inS, wS, actS, poolS, outS] = [0.0079, 0.0117, 0.0093, 0.0093, 0.037];
  const f32 = Math.fround;
  const x = g.qdqAt('input', inS, 'input');
  const w1 = g.constantAt('conv.weight', 'int8', [8, 3, 3, 3], wS);
  const b1 = g.constantAt('conv.bias', 'int32', [8], f32(f32(inS) * f32(wS)));
  const c = g.op('Conv', [x, w1, b1], 'conv', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] });
  const a = g.qdqAt(g.op('Relu', [c], 'conv.relu'), actS, 'conv.act');
  const p = g.qdqAt(g.op('MaxPool', [a], 'pool', { kernel_shape: [2, 2], strides: [2, 2] }), poolS, 'pool.out');
  const flat = g.op('Flatten', [p], 'flatten', { axis: 1 });
  const w2 = g.constantAt('fc.weight', 'int8', [10, 8 * 6 * 6], wS);
  const b2 = g.constantAt('fc.bias', 'int32', [10], f32(f32(poolS) * f32(wS)));
  const logits = g.op('Gemm', [flat, w2, b2], 'fc', { transB: 1 });
  g.qdqAt(logits, outS, 'logits', 'logits');
  return {
    spec: {
      name: 'requant',
      inputs: [{ name: 'input', type: 'float', shape: [1, 3, 12, 12] }],
      outputs: [{ name: 'logits', type: 'float', shape: [1, 10] }],
      initializers: g.inits,
      nodes: g.nodes,
    },
    inputScale: f32(inS),
  };
}

/** An int8 example pattern: smooth and seeded (more image-like than noise). */
function exampleInput(shape: number[], seed: number): Int8Array {
  const rand = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Int8Array(n);
  let v = 0;
  for (let k = 0; k < n; k++) {
    v = Math.max(-128, Math.min(127, Math.round(0.8 * v + 60 * (rand() - 0.5))));
    out[k] = v;
  }
  return out;
}

export const EXAMPLE_MODELS = { mlp: makeMlp, cnn: makeCnn, requant: makeRequant };

export function writeExampleModels(outDir: string): string[] {
  const written: string[] = [];
  for (const [name, make] of Object.entries(EXAMPLE_MODELS)) {
    const { spec, inputScale } = make();
    const onnxPath = join(outDir, `${name}.onnx`);
    writeFileAtomic(onnxPath, buildOnnxModel(spec));
    const shape = spec.inputs[0]!.shape as number[];
    const npyPath = join(outDir, `${name}.input.npy`);
    // The model's own interface is float32: the example is the int8 pattern times the input scale
    // (a power of two, so the float values are exact and quantize back to the same integers).
    const data = Float32Array.from(exampleInput(shape, name.length * 7919), (v) => v * inputScale);
    writeFileAtomic(npyPath, writeNpy({ shape, dtype: 'float32', data }));
    written.push(onnxPath, npyPath);
  }
  return written;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const outDir = process.argv[2] ?? import.meta.dirname;
  for (const f of writeExampleModels(outDir)) console.log(f);
}

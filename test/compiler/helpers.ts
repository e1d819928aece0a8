/** Graph builders, a seeded RNG and the compile call of the compiler tests. */
import { compileGraph, type CompileOptions, type CompiledModel } from '../../compiler/compile.ts';
import type { ConstTensor, DType, Graph, GraphNode, Tensor } from '../../graph/ir.ts';
import { mulberry32 } from '../../lib/random.ts';

/** compileGraph with the IR check between passes on: every compiler test compiles this way. */
export const compile = (g: Graph, options: CompileOptions = {}): CompiledModel => compileGraph(g, { verify: true, ...options });

/** Seeded test data: the project's one generator (lib/random.ts). */
export { mulberry32 as rng } from '../../lib/random.ts';

export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function randomTensor(r: () => number, shape: number[], dtype: DType, lo = -128, hi = 127): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'int8' ? new Int8Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) data[i] = randInt(r, lo, hi);
  return { shape, dtype, data };
}

export function constOf(t: Tensor): ConstTensor {
  return { shape: t.shape, dtype: t.dtype, data: Array.from(t.data) };
}

/** A small graph builder: `b.node(op, inputs, attrs)` returns the output tensor name. */
export class GraphBuilder {
  readonly graph: Graph;
  private n = 0;
  constructor(name: string, inputs: { name: string; shape: number[]; dtype: DType }[]) {
    this.graph = { format: 'vta-graph/1', name, inputs, outputs: [], tensors: {}, nodes: [] };
  }
  constant(name: string, t: Tensor): string {
    this.graph.tensors[name] = constOf(t);
    return name;
  }
  node(op: GraphNode['op'], inputs: string[], attrs?: object, name?: string): string {
    const nodeName = name ?? `${op}${this.n++}`;
    const output = `${nodeName}_out`;
    this.graph.nodes.push({ name: nodeName, op, inputs, output, ...(attrs ? { attrs: attrs as never } : {}) });
    return output;
  }
  output(t: string): Graph {
    this.graph.outputs.push(t);
    return this.graph;
  }
}

export interface EpilogueSpec {
  bias?: boolean;
  shift?: number;
  /** requantize multiplier (with shift). */
  multiplier?: number;
  relu?: boolean;
  clip?: [number, number];
  /** TVM's benchmark order: shift, then bias, then clip. Default: bias first. */
  shiftFirst?: boolean;
}

/** x -> op -> [bias] -> [requantize] -> [relu] -> [clip] -> cast int8. */
export function epilogue(b: GraphBuilder, r: () => number, t: string, channels: number, e: EpilogueSpec, prefix: string): string {
  const bias = () => b.node('bias_add', [t, b.constant(`${prefix}_b`, randomTensor(r, [channels], 'int32', -(1 << 14), 1 << 14))]);
  if (e.bias && !e.shiftFirst) t = bias();
  if (e.shift !== undefined) t = b.node('requantize', [t], { shift: e.shift, ...(e.multiplier !== undefined ? { multiplier: e.multiplier } : {}) });
  if (e.bias && e.shiftFirst) t = bias();
  if (e.relu) t = b.node('relu', [t]);
  if (e.clip) t = b.node('clip', [t], { min: e.clip[0], max: e.clip[1] });
  return b.node('cast', [t], { dtype: 'int8' });
}

export function denseGraph(r: () => number, n: number, k: number, m: number, e: EpilogueSpec): Graph {
  const b = new GraphBuilder(`dense_${n}x${k}x${m}`, [{ name: 'x', shape: [n, k], dtype: 'int8' }]);
  const w = b.constant('w', randomTensor(r, [m, k], 'int8'));
  const y = b.node('dense', ['x', w], undefined, 'fc');
  return b.output(epilogue(b, r, y, m, e, 'fc'));
}

export interface ConvSpec {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  k: number;
  stride: number;
  pad: number;
}

export function convGraph(r: () => number, s: ConvSpec, e: EpilogueSpec): Graph {
  const b = new GraphBuilder(`conv_${s.h}x${s.w}_${s.c}to${s.o}_k${s.k}s${s.stride}p${s.pad}`, [{ name: 'x', shape: [s.n, s.c, s.h, s.w], dtype: 'int8' }]);
  const w = b.constant('w', randomTensor(r, [s.o, s.c, s.k, s.k], 'int8'));
  const y = b.node('conv2d', ['x', w], { stride: [s.stride, s.stride], pad: [s.pad, s.pad, s.pad, s.pad] }, 'conv');
  return b.output(epilogue(b, r, y, s.o, e, 'conv'));
}

/** 32->32 channels in `groups` groups, padded 3x3, requantized and clipped. */
export function groupedConvGraph(r: () => number, groups: number): Graph {
  const b = new GraphBuilder('grouped', [{ name: 'x', shape: [1, 32, 4, 4], dtype: 'int8' }]);
  let t = b.node('conv2d', ['x', b.constant('w', randomTensor(r, [32, 32 / groups, 3, 3], 'int8'))], { pad: [1, 1, 1, 1], groups }, 'gconv');
  t = b.node('requantize', [t], { shift: 8 }, 'rq');
  t = b.node('clip', [t], { min: 0, max: 127 }, 'clip');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
}

/** x + y of two int8 [1, 32, 4, 4] tensors, clipped and cast. */
export function addGraph(): Graph {
  const b = new GraphBuilder('add', [
    { name: 'x', shape: [1, 32, 4, 4], dtype: 'int8' },
    { name: 'y', shape: [1, 32, 4, 4], dtype: 'int8' },
  ]);
  let t = b.node('add', ['x', 'y'], undefined, 'add');
  t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
}

/** conv 3x3 pad 1, 32→48 channels on size×size, bias (values in [lo, hi]), [relu], >> 8, clip, cast: a foldable epilogue. */
export function foldConvGraph(relu: boolean, bias: [number, number], size = 28): Graph {
  const r = mulberry32(relu ? 7 : 8);
  const b = new GraphBuilder('fold', [{ name: 'x', shape: [1, 32, size, size], dtype: 'int8' }]);
  let t = b.node('conv2d', ['x', b.constant('w', randomTensor(r, [48, 32, 3, 3], 'int8'))], { pad: [1, 1, 1, 1] }, 'conv');
  t = b.node('bias_add', [t, b.constant('bias', randomTensor(r, [48], 'int32', bias[0], bias[1]))], undefined, 'bias');
  if (relu) t = b.node('relu', [t], undefined, 'relu');
  t = b.node('requantize', [t], { shift: 8 }, 'rq');
  t = b.node('clip', [t], { min: relu ? 0 : -128, max: 127 }, 'clip');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
}

/** (sa·a + sb·b + 2^(shift−1)) >> shift, [relu], clip, cast on [1, 48, size, size]: a residual add as TVM's quantization writes it. */
export function scaledAddGraph(sa: number, sb: number, shift: number, relu: boolean, size = 24): Graph {
  const shape = [1, 48, size, size];
  const b = new GraphBuilder('scaled-add', [{ name: 'a', shape, dtype: 'int8' }, { name: 'b', shape, dtype: 'int8' }]);
  const int32 = (v: number): Tensor => ({ shape: [1], dtype: 'int32', data: Int32Array.from([v]) });
  const ma = b.node('mul', ['a', b.constant('ca', int32(sa))], undefined, 'mul_a');
  const mb = b.node('mul', ['b', b.constant('cb', int32(sb))], undefined, 'mul_b');
  let t = b.node('add', [ma, mb], undefined, 'sum');
  t = b.node('requantize', [t], { shift }, 'rq');
  if (relu) t = b.node('relu', [t], undefined, 'relu');
  t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
}

/** A small residual network: conv -> conv -> add(skip) -> maxpool -> flatten -> dense. */
export function residualNet(seed: number): Graph {
  const r = mulberry32(seed);
  const b = new GraphBuilder('resnet_block', [{ name: 'x', shape: [1, 8, 10, 10], dtype: 'int8' }]);
  const conv = (x: string, ci: number, co: number, k: number, pad: number, name: string, relu: boolean) => {
    const w = b.constant(`${name}_w`, randomTensor(r, [co, ci, k, k], 'int8', -20, 20));
    let t = b.node('conv2d', [x, w], { stride: [1, 1], pad: [pad, pad, pad, pad] }, name);
    t = b.node('bias_add', [t, b.constant(`${name}_b`, randomTensor(r, [co], 'int32', -500, 500))]);
    t = b.node('requantize', [t], { shift: 6 });
    if (relu) t = b.node('relu', [t]);
    t = b.node('clip', [t], { min: -128, max: 127 });
    return b.node('cast', [t], { dtype: 'int8' });
  };
  const c1 = conv('x', 8, 24, 3, 1, 'conv1', true);
  const c2 = conv(c1, 24, 24, 3, 1, 'conv2', true);
  const c3 = conv(c2, 24, 24, 1, 0, 'conv3', false);
  let s = b.node('add', [c3, c2], undefined, 'skip');
  s = b.node('requantize', [s], { shift: 1 });
  s = b.node('relu', [s]);
  s = b.node('clip', [s], { min: 0, max: 127 });
  s = b.node('cast', [s], { dtype: 'int8' });
  const p = b.node('max_pool', [s], { kernel: [2, 2], stride: [2, 2] }, 'pool');
  const f = b.node('flatten', [p], { axis: 1 }, 'flat');
  const fw = b.constant('fc_w', randomTensor(r, [10, 24 * 5 * 5], 'int8', -10, 10));
  let y = b.node('dense', [f, fw], undefined, 'fc');
  y = b.node('requantize', [y], { shift: 5 });
  y = b.node('clip', [y], { min: -128, max: 127 });
  y = b.node('cast', [y], { dtype: 'int8' });
  return b.output(y);
}

/** A first convolution read as im2col, then a residual pair and a dense layer. */
export function im2colNet(): Graph {
  const r = mulberry32(3);
  const b = new GraphBuilder('im2col-net', [{ name: 'x', shape: [1, 3, 12, 12], dtype: 'int8' }]);
  let t = b.node('conv2d', ['x', b.constant('w1', randomTensor(r, [16, 3, 3, 3], 'int8', -20, 20))], { pad: [1, 1, 1, 1] }, 'conv1');
  const c1 = epilogue(b, r, t, 16, { bias: true, shift: 8, clip: [-128, 127] }, 'c1');
  t = b.node('conv2d', [c1, b.constant('w2', randomTensor(r, [16, 16, 3, 3], 'int8', -20, 20))], { pad: [1, 1, 1, 1] }, 'conv2');
  const c2 = epilogue(b, r, t, 16, { shift: 8, relu: true, clip: [-128, 127] }, 'c2');
  let s = b.node('add', [c2, c1], undefined, 'skip');
  s = epilogue(b, r, s, 16, { shift: 1, clip: [-128, 127] }, 's');
  const f = b.node('flatten', [s], { axis: 1 }, 'flat');
  const y = b.node('dense', [f, b.constant('fc', randomTensor(r, [10, 16 * 12 * 12], 'int8', -10, 10))], undefined, 'fc');
  return b.output(epilogue(b, r, y, 10, { shift: 6, clip: [-128, 127] }, 'y'));
}

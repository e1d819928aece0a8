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

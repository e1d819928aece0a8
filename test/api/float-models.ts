/**
 * Hand-written vta-graph/1 models with a float32 interface, as a QDQ import gives them:
 * quantize → VTA kernel (dense or conv2d with requantize, clip, cast) → dequantize.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph } from '../../graph/ir.ts';

/** Deterministic int8 weights in [-20, 20]. */
const weights = (n: number) => Array.from({ length: n }, (_, i) => ((i * 37) % 41) - 20);

/** How the layer around the kernel quantizes: scales, shift, rounding, weight values. */
export interface Around {
  inScale?: number;
  outScale: number;
  shift?: number;
  rounding?: 'half_up' | 'half_even';
  weights?: number[];
}

/** quantize(x) → kernel (→ acc) → requantize → clip → cast int8 → dequantize → y. */
export function floatAround(name: string, x: number[], kernel: Graph['nodes'][number], w: number[], q: Around): Graph {
  return {
    format: 'vta-graph/1',
    name,
    inputs: [{ name: 'x', shape: x, dtype: 'float32' }],
    outputs: ['y'],
    tensors: { w: { shape: w, dtype: 'int8', data: q.weights ?? weights(w.reduce((a, b) => a * b, 1)) } },
    nodes: [
      { name: 'q', op: 'quantize', inputs: ['x'], output: 'xq', attrs: { scale: [q.inScale ?? 0.02], zero_point: [0], dtype: 'int8' } },
      kernel,
      { name: 'rq', op: 'requantize', inputs: ['acc'], output: 'r', attrs: { shift: q.shift ?? 7, ...(q.rounding ? { rounding: q.rounding } : {}) } },
      { name: 'sat', op: 'clip', inputs: ['r'], output: 's', attrs: { min: -128, max: 127 } },
      { name: 'narrow', op: 'cast', inputs: ['s'], output: 'yq', attrs: { dtype: 'int8' } },
      { name: 'dq', op: 'dequantize', inputs: ['yq'], output: 'y', attrs: { scale: [q.outScale], zero_point: [0] } },
    ],
  };
}

/** A float32 [batch, 16] → float32 [batch, 16] dense layer. */
export const floatDense = (batch = 1): Graph =>
  floatAround(`float-dense-b${batch}`, [batch, 16], { name: 'fc', op: 'dense', inputs: ['xq', 'w'], output: 'acc' }, [16, 16], { outScale: 0.1 });

/** A float32 [1, 16, 4, 4] → float32 [1, 16, 4, 4] 3×3 convolution. */
export const floatConv = (): Graph =>
  floatAround('float-conv', [1, 16, 4, 4], { name: 'conv', op: 'conv2d', inputs: ['xq', 'w'], output: 'acc', attrs: { pad: [1, 1, 1, 1] } }, [16, 16, 3, 3], { outScale: 0.05 });

/** Two float32 [1, 16] inputs quantized and added on VTA, then dequantized. */
export const floatAdd = (): Graph => ({
  format: 'vta-graph/1',
  name: 'float-add',
  inputs: [{ name: 'a', shape: [1, 16], dtype: 'float32' }, { name: 'b', shape: [1, 16], dtype: 'float32' }],
  outputs: ['y'],
  tensors: {},
  nodes: [
    { name: 'qa', op: 'quantize', inputs: ['a'], output: 'aq', attrs: { scale: [0.02], zero_point: [0], dtype: 'int8' } },
    { name: 'qb', op: 'quantize', inputs: ['b'], output: 'bq', attrs: { scale: [0.02], zero_point: [0], dtype: 'int8' } },
    { name: 'sum', op: 'add', inputs: ['aq', 'bq'], output: 'acc' },
    { name: 'sat', op: 'clip', inputs: ['acc'], output: 's', attrs: { min: -128, max: 127 } },
    { name: 'narrow', op: 'cast', inputs: ['s'], output: 'yq', attrs: { dtype: 'int8' } },
    { name: 'dq', op: 'dequantize', inputs: ['yq'], output: 'y', attrs: { scale: [0.02], zero_point: [0] } },
  ],
});

/** Write `g` as DIR/NAME.json and return the path. */
export function writeModel(dir: string, g: Graph): string {
  const path = join(dir, `${g.name}.json`);
  writeFileSync(path, JSON.stringify(g));
  return path;
}

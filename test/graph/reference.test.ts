import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Graph, GraphNode, Tensor } from '../../graph/ir.ts';
import { loadGraph } from '../../graph/load.ts';
import { divRoundHalfAway, runReference } from '../../graph/reference.ts';
import { VtaError } from '../../lib/errors.ts';

const i8 = (shape: number[], v: number[]): Tensor => ({ shape, dtype: 'int8', data: Int8Array.from(v) });
const i32 = (shape: number[], v: number[]): Tensor => ({ shape, dtype: 'int32', data: Int32Array.from(v) });

/** A graph of one node over inputs `a` (and `b`), returning `y`. */
function oneNode(node: Omit<GraphNode, 'name' | 'output'>, inputs: Record<string, Tensor>, consts: Graph['tensors'] = {}): Tensor {
  const g: Graph = {
    format: 'vta-graph/1',
    name: 't',
    inputs: Object.entries(inputs).map(([name, t]) => ({ name, shape: t.shape, dtype: t.dtype })),
    outputs: ['y'],
    tensors: consts,
    nodes: [{ ...node, name: 'n', output: 'y' } as GraphNode],
  };
  return runReference(loadGraph(g), inputs).y!;
}
const values = (t: Tensor): number[] => Array.from(t.data);

describe('runReference', () => {
  it('runs the documented example to the values worked out in the doc', () => {
    const md = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'model-format.md'), 'utf8');
    const g = loadGraph(JSON.parse(/```json\n([\s\S]*?)```/.exec(md)![1]!));
    const out = runReference(g, { x: i8([1, 4], [1, 1, 1, 1]) });
    expect(values(out.acc!)).toEqual([10, -10, 127]);
    expect(values(out.biased!)).toEqual([110, -10, 27]);
    expect(values(out.scaled!)).toEqual([28, -2, 7]);
    expect(out.y!.dtype).toBe('int8');
    expect(out.y!.data).toBeInstanceOf(Int8Array);
    expect(values(out.y!)).toEqual([28, 0, 7]);
    expect(Object.keys(out).sort()).toEqual(['acc', 'activated', 'biased', 'saturated', 'scaled', 'x', 'y']);
  });

  it('dense: hand-computed 2x3 · 3x2 and int32 wraparound', () => {
    const y = oneNode({ op: 'dense', inputs: ['a', 'w'] }, { a: i8([2, 3], [1, 2, 3, -1, 0, 127]) }, {
      w: { shape: [2, 3], dtype: 'int8', data: [4, 5, 6, -128, 1, -1] },
    });
    // row0: 4+10+18=32, -128+2-3=-129; row1: -4+0+762=758, 128+0-127=1
    expect(y.shape).toEqual([2, 2]);
    expect(values(y)).toEqual([32, -129, 758, 1]);
    // K = 2^17 products of (-128)(-128) = 2^14 each: total 2^31 wraps to -2^31.
    const k = 1 << 17;
    const big = oneNode({ op: 'dense', inputs: ['a', 'w'] }, { a: i8([1, k], new Array(k).fill(-128)) }, {
      w: { shape: [1, k], dtype: 'int8', data: Buffer.from(new Int8Array(k).fill(-128).buffer).toString('base64') },
    });
    expect(values(big)).toEqual([-2147483648]);
  });

  it('conv2d: padding, stride and groups on a hand-computed case', () => {
    // 1x1x3x3 input 1..9, 2x2 kernel of ones, pad 1 all round, stride 2 -> 2x2 output.
    const x = i8([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const y = oneNode({ op: 'conv2d', inputs: ['a', 'w'], attrs: { stride: [2, 2], pad: [1, 1, 1, 1] } }, { a: x }, {
      w: { shape: [1, 1, 2, 2], dtype: 'int8', data: [1, 1, 1, 1] },
    });
    // windows (top-left at padded coords 0,0 / 0,2 / 2,0 / 2,2): {1}, {2,3}, {4,7}, {5,6,8,9}
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(values(y)).toEqual([1, 5, 11, 28]);
    // Asymmetric kernel: weight [[1,2],[3,4]] no pad: out(0,0) = 1+4+12+20 = 37
    const z = oneNode({ op: 'conv2d', inputs: ['a', 'w'] }, { a: x }, { w: { shape: [1, 1, 2, 2], dtype: 'int8', data: [1, 2, 3, 4] } });
    expect(values(z)).toEqual([37, 47, 67, 77]);
    // groups=2: channel 0 sees weight 1, channel 1 weight -1; each output channel only its own group.
    const g = oneNode({ op: 'conv2d', inputs: ['a', 'w'], attrs: { groups: 2 } }, { a: i8([1, 2, 1, 2], [3, 4, 10, 20]) }, {
      w: { shape: [2, 1, 1, 1], dtype: 'int8', data: [1, -1] },
    });
    expect(values(g)).toEqual([3, 4, -10, -20]);
  });

  it('bias_add along axis 1 and add, both wrapping', () => {
    const y = oneNode({ op: 'bias_add', inputs: ['a', 'b'] }, { a: i32([2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 2147483647]) }, {
      b: { shape: [2], dtype: 'int32', data: [100, 1] },
    });
    expect(values(y)).toEqual([100, 101, 3, 4, 104, 105, 7, -2147483648]);
    const s = oneNode({ op: 'add', inputs: ['a', 'b'] }, { a: i32([3], [1, -5, 2147483647]), b: i8([3], [2, -128, 2]) });
    expect(s.dtype).toBe('int32');
    expect(values(s)).toEqual([3, -133, -2147483647]);
  });

  it('requantize rounds by (x + 2^(n-1)) >> n, arithmetic', () => {
    const x = i32([8], [5, 6, 7, -5, -6, -7, 2147483647, -2147483648]);
    // shift 2: (5+2)>>2=1, 8>>2=2, 9>>2=2, -3>>2=-1, -4>>2=-1, -5>>2=-2; max+2 wraps negative
    expect(values(oneNode({ op: 'requantize', inputs: ['a'], attrs: { shift: 2 } }, { a: x }))).toEqual([1, 2, 2, -1, -1, -2, -536870912, -536870912]);
    expect(values(oneNode({ op: 'requantize', inputs: ['a'], attrs: { shift: 0 } }, { a: x }))).toEqual(values(x));
    expect(values(oneNode({ op: 'requantize', inputs: ['a'], attrs: { shift: 31 } }, { a: i32([4], [1073741823, 1073741824, -1073741825, 0]) }))).toEqual([0, -1, -1, 0]); // 2^30 + 2^30 wraps
  });

  it('relu, clip, cast keep or change dtype as specified', () => {
    expect(values(oneNode({ op: 'relu', inputs: ['a'] }, { a: i8([3], [-128, 0, 5]) }))).toEqual([0, 0, 5]);
    expect(values(oneNode({ op: 'clip', inputs: ['a'], attrs: { min: -3, max: 4 } }, { a: i32([4], [-100, -3, 4, 100]) }))).toEqual([-3, -3, 4, 4]);
    const c = oneNode({ op: 'cast', inputs: ['a'], attrs: { dtype: 'int8' } }, { a: i32([5], [127, 128, 255, 256, -129]) });
    expect(c.data).toBeInstanceOf(Int8Array);
    expect(values(c)).toEqual([127, -128, -1, 0, 127]);
    const w = oneNode({ op: 'cast', inputs: ['a'], attrs: { dtype: 'int32' } }, { a: i8([2], [-1, 7]) });
    expect(w.data).toBeInstanceOf(Int32Array);
    expect(values(w)).toEqual([-1, 7]);
  });

  it('reshape and flatten keep the data order', () => {
    const x = i8([1, 2, 2, 1], [1, 2, 3, 4]);
    const r = oneNode({ op: 'reshape', inputs: ['a'], attrs: { shape: [2, -1] } }, { a: x });
    expect(r.shape).toEqual([2, 2]);
    expect(values(r)).toEqual([1, 2, 3, 4]);
    expect(oneNode({ op: 'flatten', inputs: ['a'], attrs: { axis: 2 } }, { a: x }).shape).toEqual([2, 2]);
  });

  it('pools: max ignores padding, avg divides by real positions and rounds half away from zero', () => {
    const x = i8([1, 1, 2, 3], [1, -2, 3, -4, 5, -6]);
    const mp = oneNode({ op: 'max_pool', inputs: ['a'], attrs: { kernel: [2, 2], stride: [1, 2], pad: [0, 1, 0, 1] } }, { a: x });
    // padded columns: windows cols {-1,0} {1,2} -> max(1,-4)=1, max(-2,3,5,-6)=5
    expect(mp.shape).toEqual([1, 1, 1, 2]);
    expect(values(mp)).toEqual([1, 5]);
    const neg = oneNode({ op: 'max_pool', inputs: ['a'], attrs: { kernel: [1, 2], pad: [0, 1, 0, 0] } }, { a: i8([1, 1, 1, 2], [-7, -9]) });
    expect(values(neg)).toEqual([-7, -7]); // padding is not a zero
    const ap = oneNode({ op: 'avg_pool', inputs: ['a'], attrs: { kernel: [2, 2], stride: [1, 2], pad: [0, 1, 0, 1] } }, { a: x });
    // (1-4)/2 = -1.5 -> -2; (-2+3+5-6)/4 = 0
    expect(values(ap)).toEqual([-2, 0]);
    const gap = oneNode({ op: 'global_avg_pool', inputs: ['a'] }, { a: i32([1, 2, 1, 2], [1, 2, -1, -2]) });
    expect(gap.shape).toEqual([1, 2, 1, 1]);
    expect(values(gap)).toEqual([2, -2]); // 1.5 -> 2, -1.5 -> -2
    expect([divRoundHalfAway(5, 2), divRoundHalfAway(-5, 2), divRoundHalfAway(4, 3), divRoundHalfAway(-4, 3), divRoundHalfAway(0, 7)]).toEqual([3, -3, 1, -1, 0]);
  });

  it('rejects wrong inputs with one-line E_INPUT errors', () => {
    const g = loadGraph({
      format: 'vta-graph/1', name: 'm', inputs: [{ name: 'a', shape: [2], dtype: 'int8' }], outputs: ['y'],
      nodes: [{ name: 'n', op: 'relu', inputs: ['a'], output: 'y' }],
    });
    const err = (inputs: Record<string, Tensor>): string => {
      try {
        runReference(g, inputs);
      } catch (e) {
        expect((e as VtaError).code).toBe('E_INPUT');
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(err({})).toBe("input 'a' is missing");
    expect(err({ a: i8([3], [1, 2, 3]) })).toBe("input 'a' is int8 [3] but the model expects int8 [2]");
    expect(err({ a: i32([2], [1, 2]) })).toBe("input 'a' is int32 [2] but the model expects int8 [2]");
    expect(err({ a: { shape: [2], dtype: 'int8', data: new Int32Array(2) } })).toBe("input 'a': data must be an Int8Array of 2 elements");
    expect(err({ a: i8([2], [1, 2]), b: i8([2], [1, 2]) })).toBe("'b' is not an input of model m");
  });
});

/** The ops beyond the integer VTA core: hand-computed values for each, on the reference. */
import { describe, expect, it } from 'vitest';
import { compileGraph } from '../../compiler/compile.ts';
import { runCompiled } from '../../compiler/execute.ts';
import type { DType } from '../../lib/dtype.ts';
import type { Graph, GraphNode, Tensor } from '../../graph/ir.ts';
import { loadGraph } from '../../graph/load.ts';
import { roundingShift } from '../../graph/semantics/rounding.ts';
import { runReference } from '../../graph/reference.ts';

const t = (dtype: DType, shape: number[], v: number[]): Tensor => ({
  shape,
  dtype,
  data: dtype === 'int8' ? Int8Array.from(v) : dtype === 'uint8' ? Uint8Array.from(v) : dtype === 'int32' ? Int32Array.from(v) : Float32Array.from(v),
});
const f32 = (shape: number[], v: number[]) => t('float32', shape, v);

/** Run one node over named inputs (constants in `consts`) and return its output `y`. */
function run(node: Omit<GraphNode, 'name' | 'output'>, inputs: Record<string, Tensor>, consts: Graph['tensors'] = {}): Tensor {
  const g = loadGraph({
    format: 'vta-graph/1',
    name: 't',
    inputs: Object.entries(inputs).map(([name, v]) => ({ name, shape: v.shape, dtype: v.dtype })),
    outputs: ['y'],
    tensors: consts,
    nodes: [{ ...node, name: 'n', output: 'y' }],
  });
  return runReference(g, inputs).y!;
}
const values = (x: Tensor) => Array.from(x.data);

describe('quantize / dequantize (ONNX QuantizeLinear / DequantizeLinear)', () => {
  it('per tensor: halves to even, zero point added, saturated', () => {
    const y = run({ op: 'quantize', inputs: ['x'], attrs: { scale: [0.5], zero_point: [10], dtype: 'uint8' } }, { x: f32([6], [0.25, 0.75, -1, 200, -200, 1.25]) });
    // 0.5 → 0 (even), 1.5 → 2, -2, 400 → 255, -400 → 0, 2.5 → 2
    expect(y.dtype).toBe('uint8');
    expect(values(y)).toEqual([10, 12, 8, 255, 0, 12]);
  });
  it('per axis 1, int8', () => {
    const y = run({ op: 'quantize', inputs: ['x'], attrs: { scale: [1, 0.25], zero_point: [0, -3], dtype: 'int8', axis: 1 } }, { x: f32([1, 2, 2], [1, 2, 1, 2]) });
    expect(values(y)).toEqual([1, 2, 1, 5]);
  });
  it('dequantize per axis', () => {
    const y = run({ op: 'dequantize', inputs: ['x'], attrs: { scale: [0.5, 2], zero_point: [1, 0], axis: 0 } }, { x: t('uint8', [2, 2], [1, 3, 4, 255]) });
    expect(values(y)).toEqual([0, 1, 8, 510]);
  });
  it('refuses a zero point outside the target type', () => {
    expect(() => run({ op: 'quantize', inputs: ['x'], attrs: { scale: [1], zero_point: [300], dtype: 'uint8' } }, { x: f32([1], [0]) })).toThrow(
      "attribute 'zero_point[0]' = 300 is out of range [0, 255]",
    );
  });
});

describe('requantize rounding', () => {
  it('half_even ties go to the even neighbour; half_up ties go up', () => {
    const x = t('int32', [1, 6], [2, 6, 10, -2, -6, 7]); // /4: 0.5 1.5 2.5 -0.5 -1.5 1.75
    expect(values(run({ op: 'requantize', inputs: ['x'], attrs: { shift: 2, rounding: 'half_even' } }, { x }))).toEqual([0, 2, 2, 0, -2, 2]);
    expect(values(run({ op: 'requantize', inputs: ['x'], attrs: { shift: 2 } }, { x }))).toEqual([1, 2, 3, 0, -1, 2]);
  });
  it('the ALU form of half_even equals exact rounding wherever the sum does not wrap', () => {
    for (let p = -4000; p <= 4000; p++) {
      for (const s of [1, 3, 7]) {
        const exact = p / 2 ** s;
        const fl = Math.floor(exact);
        const want = exact - fl === 0.5 ? (fl % 2 === 0 ? fl : fl + 1) : Math.round(exact);
        expect(roundingShift(p, s, true)).toBe(want + 0);
      }
    }
  });
  it('per-channel multipliers along axis 1', () => {
    const y = run({ op: 'requantize', inputs: ['x', 'm'], attrs: { shift: 1 } }, { x: t('int32', [1, 2, 2], [1, 2, 3, 4]) }, { m: { shape: [2], dtype: 'int32', data: [3, 5] } });
    // (1·3+1)>>1=2, (2·3+1)>>1=3, (3·5+1)>>1=8, (4·5+1)>>1=10
    expect(values(y)).toEqual([2, 3, 8, 10]);
  });
});

describe('layout ops', () => {
  it('pad with a value (zero-point padding)', () => {
    const y = run({ op: 'pad', inputs: ['x'], attrs: { pads: [0, 1, 0, 1], value: -5 } }, { x: t('int8', [2, 1], [1, 2]) });
    expect(y.shape).toEqual([2, 3]);
    expect(values(y)).toEqual([-5, 1, -5, -5, 2, -5]);
  });
  it('concat along axis 1 and transpose', () => {
    const c = run({ op: 'concat', inputs: ['a', 'b'], attrs: { axis: 1 } }, { a: t('int8', [2, 1], [1, 2]), b: t('int8', [2, 2], [3, 4, 5, 6]) });
    expect(values(c)).toEqual([1, 3, 4, 2, 5, 6]);
    const tr = run({ op: 'transpose', inputs: ['x'], attrs: { perm: [1, 0] } }, { x: t('int8', [2, 3], [1, 2, 3, 4, 5, 6]) });
    expect(tr.shape).toEqual([3, 2]);
    expect(values(tr)).toEqual([1, 4, 2, 5, 3, 6]);
  });
});

describe('element-wise with broadcasting', () => {
  it('float mul / sub / div by a per-channel constant', () => {
    const x = f32([1, 2, 2], [1, 2, 3, 4]);
    const k = { k: { shape: [1, 2, 1], dtype: 'float32' as const, data: [2, 4] } };
    expect(values(run({ op: 'mul', inputs: ['x', 'k'] }, { x }, k))).toEqual([2, 4, 12, 16]);
    expect(values(run({ op: 'sub', inputs: ['x', 'k'] }, { x }, k))).toEqual([-1, 0, -1, 0]);
    expect(values(run({ op: 'div', inputs: ['x', 'k'] }, { x }, k))).toEqual([0.5, 1, 0.75, 1]);
  });
  it('integer add broadcasts and wraps in int32', () => {
    const y = run({ op: 'add', inputs: ['x', 'k'] }, { x: t('int32', [2, 1], [2147483647, 1]) }, { k: { shape: [3], dtype: 'int32', data: [1, 2, 3] } });
    expect(values(y)).toEqual([-2147483648, -2147483647, -2147483646, 2, 3, 4]);
  });
});

describe('float activations and reductions', () => {
  it('sigmoid, hard_sigmoid, hard_swish', () => {
    const x = f32([3], [-4, 0, 4]);
    expect(values(run({ op: 'sigmoid', inputs: ['x'] }, { x }))[1]).toBe(0.5);
    expect(values(run({ op: 'hard_sigmoid', inputs: ['x'] }, { x }))).toEqual([0, 0.5, 1]);
    expect(values(run({ op: 'hard_swish', inputs: ['x'] }, { x }))).toEqual([-0, 0, 4]);
  });
  it('softmax along the last axis sums to 1; reduce_mean over H, W', () => {
    const s = values(run({ op: 'softmax', inputs: ['x'] }, { x: f32([1, 3], [1, 2, 3]) }));
    expect(s.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(s[2]! / s[1]!).toBeCloseTo(Math.E, 5);
    const m = run({ op: 'reduce_mean', inputs: ['x'], attrs: { axes: [2, 3], keepdims: 0 } }, { x: f32([1, 2, 1, 2], [1, 3, 10, 20]) });
    expect(m.shape).toEqual([1, 2]);
    expect(values(m)).toEqual([2, 15]);
  });
  it('batched matmul broadcasts the leading axes', () => {
    const y = run({ op: 'matmul', inputs: ['a', 'b'] }, { a: f32([2, 1, 2], [1, 2, 3, 4]) }, { b: { shape: [2, 1], dtype: 'float32', data: [10, 1] } });
    expect(y.shape).toEqual([2, 1, 1]);
    expect(values(y)).toEqual([12, 34]);
  });
  it('float conv2d, dense and avg pool', () => {
    const c = run({ op: 'conv2d', inputs: ['x', 'w'], attrs: { pad: [1, 1, 1, 1] } }, { x: f32([1, 1, 1, 1], [2]) }, { w: { shape: [1, 1, 3, 3], dtype: 'float32', data: [0, 0, 0, 0, 0.5, 0, 0, 0, 0] } });
    expect(values(c)).toEqual([1]);
    const p = run({ op: 'avg_pool', inputs: ['x'], attrs: { kernel: [2, 2], stride: [2, 2], pad: [1, 1, 1, 1] } }, { x: f32([1, 1, 2, 2], [1, 2, 3, 4]) });
    expect(values(p)).toEqual([1, 2, 3, 4]);
  });
  it('cast float to int truncates toward zero', () => {
    expect(values(run({ op: 'cast', inputs: ['x'], attrs: { dtype: 'int32' } }, { x: f32([3], [-1.9, 1.9, 2.5]) }))).toEqual([-1, 1, 2]);
  });
});

describe('a model with float edges runs whole: host quantize, VTA conv, host dequantize', () => {
  it('compiled run equals the reference', async () => {
    const w = Array.from({ length: 16 * 16 }, (_, k) => ((k * 7) % 11) - 5);
    const g = loadGraph({
      format: 'vta-graph/1',
      name: 'float-edges',
      inputs: [{ name: 'x', shape: [1, 16, 4, 4], dtype: 'float32' }],
      outputs: ['y'],
      tensors: { w: { shape: [16, 16, 1, 1], dtype: 'int8', data: w } },
      nodes: [
        { name: 'q', op: 'quantize', inputs: ['x'], output: 'xq', attrs: { scale: [0.05], zero_point: [0], dtype: 'int8' } },
        { name: 'conv', op: 'conv2d', inputs: ['xq', 'w'], output: 'acc' },
        { name: 'rq', op: 'requantize', inputs: ['acc'], output: 'r', attrs: { shift: 4, rounding: 'half_even' } },
        { name: 'clip', op: 'clip', inputs: ['r'], output: 'c', attrs: { min: -128, max: 127 } },
        { name: 'cast', op: 'cast', inputs: ['c'], output: 'o', attrs: { dtype: 'int8' } },
        { name: 'dq', op: 'dequantize', inputs: ['o'], output: 'y', attrs: { scale: [0.1], zero_point: [0] } },
      ],
    });
    const x = f32([1, 16, 4, 4], Array.from({ length: 256 }, (_, k) => Math.sin(k) * 3));
    const want = runReference(g, { x }).y!;
    const model = compileGraph(g);
    const got = (await runCompiled(model, { x })).outputs.y!;
    expect(got.dtype).toBe('float32');
    expect(values(got)).toEqual(values(want));
    expect(model.steps.map((s) => s.kind)).toContain('vta');
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../graph/ir.ts';
import { runReference } from '../../graph/reference.ts';
import { VtaError } from '../../lib/errors.ts';
import { buildOnnxModel, type ModelSpec } from '../../frontend/onnx-builder.ts';
import { importOnnx } from '../../frontend/onnx/import.ts';
import { crossCheckOnnx } from '../../frontend/ort-check.ts';

const dir = mkdtempSync(join(tmpdir(), 'vta-onnx-'));
function save(name: string, spec: ModelSpec): string {
  const p = join(dir, `${name}.onnx`);
  writeFileSync(p, buildOnnxModel(spec));
  return p;
}
const i8 = (shape: number[], v: number[]): Tensor => ({ shape, dtype: 'int8', data: Int8Array.from(v) });
const zp = { name: 'zp', type: 'int8' as const, dims: [], values: [0] };
const sc = (name: string, v: number) => ({ name, type: 'float' as const, dims: [], values: [v] });

/** QDQ: float x → Q(2^-2) → DQ → MatMul(DQ(w, 2^-1)) + DQ(b) → Relu → Q(2^-1) → DQ → y. */
function qdqDense(extra: Partial<ModelSpec> = {}, yScale = 0.5): ModelSpec {
  return {
    name: 'qdq-dense',
    inputs: [{ name: 'x', type: 'float', shape: [1, 3] }],
    outputs: [{ name: 'y', type: 'float', shape: [1, 2] }],
    initializers: [
      zp, sc('sx', 0.25), sc('sw', 0.5), sc('sy', yScale),
      { name: 'w', type: 'int8', dims: [3, 2], values: [1, -2, 3, 4, -5, 6] },
      { name: 'b', type: 'int32', dims: [2], values: [3, -100] },
      { name: 'zp32', type: 'int32', dims: [], values: [0] },
      sc('sb', 0.125),
    ],
    nodes: [
      { op: 'QuantizeLinear', inputs: ['x', 'sx', 'zp'], outputs: ['xq'], name: 'qx' },
      { op: 'DequantizeLinear', inputs: ['xq', 'sx', 'zp'], outputs: ['xd'], name: 'dqx' },
      { op: 'DequantizeLinear', inputs: ['w', 'sw', 'zp'], outputs: ['wd'], name: 'dqw' },
      { op: 'DequantizeLinear', inputs: ['b', 'sb', 'zp32'], outputs: ['bd'], name: 'dqb' },
      { op: 'MatMul', inputs: ['xd', 'wd'], outputs: ['m'], name: 'fc' },
      { op: 'Add', inputs: ['m', 'bd'], outputs: ['a'], name: 'bias' },
      { op: 'Relu', inputs: ['a'], outputs: ['r'], name: 'act' },
      { op: 'QuantizeLinear', inputs: ['r', 'sy', 'zp'], outputs: ['yq'], name: 'qy' },
      { op: 'DequantizeLinear', inputs: ['yq', 'sy', 'zp'], outputs: ['y'], name: 'dqy' },
    ],
    ...extra,
  };
}

/** Operator form: int8 x [1,2,4,4] → QLinearConv(3x3 pad 1, bias) → MaxPool 2 → Flatten → QLinearMatMul → int8 y. */
function qlinear(): ModelSpec {
  const w = Array.from({ length: 3 * 2 * 9 }, (_, k) => ((k * 7) % 11) - 5);
  const m = Array.from({ length: 12 * 4 }, (_, k) => ((k * 5) % 9) - 4);
  return {
    name: 'qlinear',
    inputs: [{ name: 'x', type: 'int8', shape: [1, 2, 4, 4] }],
    outputs: [{ name: 'y', type: 'int8', shape: [1, 4] }],
    initializers: [
      zp, sc('s1', 0.5), sc('sw', 0.25), sc('s2', 1), sc('sm', 0.5), sc('s3', 2),
      { name: 'w', type: 'int8', dims: [3, 2, 3, 3], values: w },
      { name: 'b', type: 'int32', dims: [3], values: [5, -7, 1] },
      { name: 'm', type: 'int8', dims: [12, 4], values: m },
    ],
    nodes: [
      { op: 'QLinearConv', inputs: ['x', 's1', 'zp', 'w', 'sw', 'zp', 's2', 'zp', 'b'], outputs: ['c'], name: 'conv', attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
      { op: 'MaxPool', inputs: ['c'], outputs: ['p'], name: 'pool', attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'], name: 'flat' },
      { op: 'QLinearMatMul', inputs: ['f', 's2', 'zp', 'm', 'sm', 'zp', 's3', 'zp'], outputs: ['y'], name: 'fc' },
    ],
  };
}

function onnxError(source: string | Uint8Array, opts = {}): string {
  try {
    importOnnx(source, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(VtaError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('import succeeded');
}

describe('ONNX import', () => {
  it('QDQ dense: graph structure and hand-computed values', () => {
    const imp = importOnnx(save('qdq', qdqDense()));
    expect(imp.graph.nodes.map((n) => n.op)).toEqual(['dense', 'bias_add', 'relu', 'requantize', 'clip', 'cast']);
    expect(imp.inputs.x).toEqual({ tensor: 'x', scale: 0.25, dtype: 'int8', float: true });
    expect(imp.outputs.y).toMatchObject({ scale: 0.5, dtype: 'int8' });
    expect(imp.graph.nodes.find((n) => n.op === 'requantize')!.attrs).toEqual({ shift: 2 }); // 2^-3 → 2^-1
    // x = [4, 8, -12] (q) ; w^T rows [1,3,-5], [-2,4,6]: acc = 4+24+60 = 88, -8+32-72 = -48; +b: 91, -148
    const out = runReference(imp.graph, { x: i8([1, 3], [4, 8, -12]) });
    expect(Array.from(out[imp.outputs.y!.tensor]!.data)).toEqual([23, 0]); // (91+2)>>2 = 23; relu(-148) = 0
  });

  it('QDQ dense agrees exactly with onnxruntime', async () => {
    const p = save('qdq2', qdqDense());
    const r = await crossCheckOnnx(p, { x: i8([1, 3], [4, 8, -12]) });
    expect(r.outputs[0]).toMatchObject({ exact: true, exactWithOnnxRounding: true, argmaxAgrees: true });
  });

  it('QLinear form (QLinearConv, MaxPool, Flatten, QLinearMatMul) agrees with onnxruntime', async () => {
    const p = save('qlinear', qlinear());
    const imp = importOnnx(p);
    expect(imp.graph.nodes.map((n) => n.op)).toEqual(['conv2d', 'bias_add', 'requantize', 'clip', 'cast', 'max_pool', 'flatten', 'dense', 'requantize', 'clip', 'cast']);
    expect(imp.outputs.y).toMatchObject({ scale: 1, dtype: 'int8' });
    const x = i8([1, 2, 4, 4], Array.from({ length: 32 }, (_, k) => ((k * 13) % 41) - 20));
    const r = await crossCheckOnnx(p, { x });
    expect(r.outputs[0]!.exactWithOnnxRounding).toBe(true);
    expect(r.outputs[0]!.maxDiff).toBeLessThanOrEqual(1);
  });

  it('MatMulInteger + Cast + Mul (dynamic-quantization style integer path) keeps the scale', () => {
    const imp = importOnnx(save('mmi', {
      name: 'mmi',
      inputs: [{ name: 'x', type: 'int8', shape: [1, 2] }],
      outputs: [{ name: 'y', type: 'int8', shape: [1, 2] }],
      initializers: [zp, sc('s', 0.25), sc('sy', 1), { name: 'w', type: 'int8', dims: [2, 2], values: [1, 2, 3, 4] }],
      nodes: [
        { op: 'MatMulInteger', inputs: ['x', 'w'], outputs: ['acc'] },
        { op: 'Cast', inputs: ['acc'], outputs: ['f'], attrs: { to: 1 } },
        { op: 'Mul', inputs: ['f', 's'], outputs: ['scaled'] },
        { op: 'QuantizeLinear', inputs: ['scaled', 'sy', 'zp'], outputs: ['y'] },
      ],
    }));
    const out = runReference(imp.graph, { x: i8([1, 2], [10, 1]) });
    // acc = [10+3, 20+4] = [13, 24]; ×0.25 → requantize shift 2: (13+2)>>2 = 3, (24+2)>>2 = 6
    expect(Array.from(out[imp.outputs.y!.tensor]!.data)).toEqual([3, 6]);
  });

  it('AveragePool / GlobalAveragePool / Reshape / Clip import', () => {
    const imp = importOnnx(save('pools', {
      name: 'pools',
      inputs: [{ name: 'x', type: 'int8', shape: [1, 1, 4, 4] }],
      outputs: [{ name: 'y', type: 'float', shape: [1, 1] }],
      initializers: [zp, sc('s', 0.5), sc('lo', -1), sc('hi', 2), { name: 'shape', type: 'int64', dims: [2], values: [1, -1] }],
      nodes: [
        { op: 'DequantizeLinear', inputs: ['x', 's', 'zp'], outputs: ['xd'] },
        { op: 'Clip', inputs: ['xd', 'lo', 'hi'], outputs: ['c'] },
        { op: 'AveragePool', inputs: ['c'], outputs: ['a'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        { op: 'GlobalAveragePool', inputs: ['a'], outputs: ['g'] },
        { op: 'Reshape', inputs: ['g', 'shape'], outputs: ['y'] },
      ],
    }));
    expect(imp.graph.nodes.map((n) => n.op)).toEqual(['clip', 'avg_pool', 'global_avg_pool', 'reshape']);
    expect(imp.graph.nodes[0]!.attrs).toEqual({ min: -2, max: 4 }); // [-1, 2] at scale 0.5
    expect(imp.outputs.y).toMatchObject({ scale: 0.5, dtype: 'int8' });
  });

  const refusals: [string, () => string, string][] = [
    ['float-only model', () => onnxError(save('float', {
      name: 'floaty', inputs: [{ name: 'x', type: 'float', shape: [1, 2] }], outputs: [{ name: 'y', type: 'float', shape: [1, 2] }],
      initializers: [], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
    })), 'model floaty is not quantized: quantize it first (QDQ or QLinear* form)'],
    ['corrupt bytes', () => onnxError(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2])), 'ONNX model: not a valid ONNX model'],
    ['truncated file', () => {
      const bytes = buildOnnxModel(qdqDense());
      const p = join(dir, 'trunc.onnx');
      writeFileSync(p, bytes.subarray(0, bytes.length - 40));
      return onnxError(p);
    }, 'trunc.onnx: not a valid ONNX model'],
    ['opset', () => onnxError(buildOnnxModel(qdqDense({ opset: 7 }))), 'opset 7 is not supported (supported: 10..21)'],
    ['unsupported op', () => onnxError(buildOnnxModel(qdqDense({ nodes: [...qdqDense().nodes.slice(0, 6), { op: 'Softmax', inputs: ['a'], outputs: ['r'], name: 'sm' }, ...qdqDense().nodes.slice(7)] }))),
      'node sm (Softmax): operator Softmax is not supported'],
    ['dynamic shape', () => onnxError(buildOnnxModel(qdqDense({ inputs: [{ name: 'x', type: 'float', shape: ['batch', 3] }] }))),
      "input 'x': dimension 0 is dynamic ('batch'): give it a fixed size"],
    ['non power of two', () => onnxError(buildOnnxModel(qdqDense({}, 0.3))), 'node qy (QuantizeLinear): requantization ratio 0.416667 (scale 0.125 → 0.3) is not a power of two 2^-n with n in 0..31: use power-of-two scales, or import with scales "vta" (fixed-point m/2^s on VTA, error bound stated) or "host"'],
    ['nonzero zero point', () => {
      const s = qdqDense();
      s.initializers[0] = { ...zp, values: [3] };
      return onnxError(buildOnnxModel(s));
    }, 'node qx (QuantizeLinear): zero point 3 is not 0: only symmetric quantization is supported'],
    ['uint8', () => {
      const s = qdqDense();
      s.initializers[0] = { ...zp, type: 'uint8' };
      return onnxError(buildOnnxModel(s));
    }, 'node qx (QuantizeLinear): uint8 quantization is not supported'],
    ['missing file', () => { try { importOnnx(join(dir, 'nope.onnx')); } catch (e) { return (e as Error).message; } return ''; }, 'nope.onnx: no such file'],
  ];
  it.each(refusals)('refuses: %s', (_l, run, msg) => {
    expect(run()).toContain(msg);
  });

  it('non-power-of-two ratios are rounded when asked (pow2), with a loud warning', () => {
    const imp = importOnnx(buildOnnxModel(qdqDense({}, 0.3)), { scales: 'pow2' });
    expect(imp.graph.nodes.find((n) => n.op === 'requantize')!.attrs).toEqual({ shift: 1 }); // 0.4167 ≈ 2^-1
    expect(imp.notes).toHaveLength(1);
    expect(imp.notes[0]).toMatch(/^WARNING node qy \(QuantizeLinear\): scale ratio 0.416667 rounded to 2\^-1: every output of this step is off by a factor 0.8333/);
  });

  it('scales vta: m/2^s with the largest shift that keeps m ≤ 32767 and |acc|·m in int32, error bound noted', () => {
    const imp = importOnnx(buildOnnxModel(qdqDense({}, 0.3)), { scales: 'vta' });
    const rq = imp.graph.nodes.find((n) => n.op === 'requantize')!;
    // ratio 0.125/0.3 = 0.41666…; |acc| ≤ 128·(1+3+5) + 100 = 1252 (channel 1: 128·12 + 100 = 1636).
    const a = imp.approximations[0]!;
    expect(a.accBound).toBe(128 * (2 + 4 + 6) + 100);
    expect(a.multiplier).toBeLessThanOrEqual(32767);
    expect(a.multiplier * 2 ** 1).toBeGreaterThan(32767); // the next shift would not fit
    expect(rq.attrs).toEqual({ shift: a.shift, multiplier: a.multiplier });
    expect(a.multiplier).toBe(Math.round((Math.fround(0.125) / Math.fround(0.3)) * 2 ** a.shift));
    expect(a.relError).toBeCloseTo(Math.abs(a.multiplier / 2 ** a.shift - a.ratio) / a.ratio, 12);
    expect(a.errorBound).toBeCloseTo(a.accBound * a.relError * a.ratio, 9);
    expect(imp.notes[0]).toMatch(/^node qy \(QuantizeLinear\): ratio 0.416667 ≈ \d+\/2\^\d+ \(relative error .*\); \|acc\| ≤ 1636, so ≤ .* output units before rounding, ≤ 1 after$/);
  });

  it('scales vta: the int32 bound limits the multiplier when the accumulator can be large', () => {
    // Weights of ±127 over 4096 inputs: |acc| ≤ 128·127·4096 ≈ 2^26, so m < 2^5.
    const k = 4096;
    const spec = qdqDense({}, 0.3);
    spec.inputs = [{ name: 'x', type: 'float', shape: [1, k] }];
    spec.initializers = spec.initializers.map((i) => (i.name === 'w' ? { ...i, dims: [k, 2], values: Array.from({ length: 2 * k }, () => 127) } : i));
    const imp = importOnnx(buildOnnxModel(spec), { scales: 'vta' });
    const a = imp.approximations[0]!;
    expect(a.accBound).toBe(128 * 127 * k + 100);
    expect(a.accBound * a.multiplier + 2 ** (a.shift - 1)).toBeLessThan(2 ** 31);
    expect(a.accBound * Math.round(a.ratio * 2 ** (a.shift + 1)) + 2 ** a.shift).toBeGreaterThanOrEqual(2 ** 31);
  });

  it('scales host: requantize_float after an int32 GEMM result, exact against onnxruntime', async () => {
    const path = save('host', qdqDense({}, 0.3));
    const imp = importOnnx(path, { scales: 'host' });
    expect(imp.graph.nodes.map((n) => n.op)).toEqual(['dense', 'bias_add', 'relu', 'requantize_float', 'clip', 'cast']);
    expect(imp.graph.nodes[3]!.attrs).toEqual({ scale: Math.fround(0.125) / Math.fround(0.3) });
    const inputs = Array.from({ length: 64 }, (_, k) => i8([1, 3], [((k * 37) % 256) - 128, ((k * 91) % 256) - 128, ((k * 53) % 256) - 128]));
    let ties = 0;
    for (const x of inputs) {
      const r = await crossCheckOnnx(path, { x }, {}, imp);
      if (r.outputs[0]!.exact) continue;
      // Only a real tie may differ: float32 rounding decides on which side ONNX lands.
      expect(r.outputs[0]!.maxDiff).toBe(1);
      const acc = runReference(imp.graph, { [imp.inputs.x!.tensor]: x })[imp.graph.nodes[2]!.output]!.data;
      const real = Array.from(acc, (v) => (v * 0.125) / 0.3);
      expect(real.some((v) => Math.abs(v - Math.floor(v) - 0.5) < 1e-5)).toBe(true);
      ties++;
    }
    expect(ties).toBeLessThan(4);
  });
});


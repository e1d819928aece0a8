import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../graph/ir.ts';
import { runReference } from '../../graph/reference.ts';
import { VtaError } from '../../lib/errors.ts';
import { buildOnnxModel, type ModelSpec } from '../../frontend/onnx-builder.ts';
import { importOnnx, NOT_QUANTIZED_NOTE } from '../../frontend/onnx/import.ts';
import { createRequire } from 'node:module';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node');

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

const f32 = (shape: number[], v: number[]): Tensor => ({ shape, dtype: 'float32', data: Float32Array.from(v) });
const u8 = (shape: number[], v: number[]): Tensor => ({ shape, dtype: 'uint8', data: Uint8Array.from(v) });

/** Per output: the largest |reference − onnxruntime| over the same feeds (the model's own interface). */
async function ortDiff(path: string, feeds: Record<string, Tensor>, opts = {}): Promise<number[]> {
  const imp = importOnnx(path, opts);
  const ref = runReference(imp.graph, feeds);
  const session = await ort.InferenceSession.create(path);
  const ortFeeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor(t.dtype, t.data as Float32Array, t.shape);
  const got = await session.run(ortFeeds);
  return imp.graph.outputs.map((o) => {
    const a = ref[o]!.data;
    const b = got[o]!.data as ArrayLike<number>;
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(Number(a[i]) - Number(b[i])));
    return d;
  });
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
  it("QDQ dense: the model's own float interface, graph structure and hand-computed values", () => {
    const imp = importOnnx(save('qdq', qdqDense()));
    expect(imp.graph.nodes.map((n) => n.op)).toEqual(['quantize', 'dense', 'bias_add', 'relu', 'requantize', 'clip', 'cast', 'dequantize']);
    expect(imp.graph.inputs).toEqual([{ name: 'x', shape: [1, 3], dtype: 'float32' }]);
    expect(imp.graph.outputs).toEqual(['y']);
    expect(imp.inputs.x).toMatchObject({ tensor: 'x', dtype: 'float32', float: true });
    expect(imp.outputs.y).toMatchObject({ tensor: 'y', dtype: 'float32', shape: [1, 2] });
    expect(imp.graph.nodes.find((n) => n.op === 'requantize')!.attrs).toEqual({ shift: 2, rounding: 'half_even' }); // 2^-3 → 2^-1
    // x = [1, 2, -3] → q [4, 8, -12]; w^T rows [1,3,-5], [-2,4,6]: acc = 4+24+60 = 88, -8+32-72 = -48; +b: 91, -148
    const out = runReference(imp.graph, { x: f32([1, 3], [1, 2, -3]) });
    expect(Array.from(out.y!.data)).toEqual([11.5, 0]); // round(91/4) = 23 → 23·0.5; relu(-148) = 0
  });

  it("the graph's constants do not share the bytes a caller passes", () => {
    const bytes = buildOnnxModel(qlinear()); // its int8 conv weight is used as it is in the file
    const imp = importOnnx(bytes);
    const before = Object.values(imp.graph.tensors).map((t) => Array.from(t.data as ArrayLike<number>));
    bytes.fill(0x55);
    expect(Object.values(imp.graph.tensors).map((t) => Array.from(t.data as ArrayLike<number>))).toEqual(before);
  });

  it('QDQ dense agrees exactly with onnxruntime', async () => {
    const p = save('qdq2', qdqDense());
    for (const x of [[1, 2, -3], [0.3, -7, 5.12], [31, -31, 0.125]]) expect(await ortDiff(p, { x: f32([1, 3], x) })).toEqual([0]);
  });

  it('QLinear form (QLinearConv, MaxPool, Flatten, QLinearMatMul) agrees with onnxruntime', async () => {
    const p = save('qlinear', qlinear());
    const imp = importOnnx(p);
    expect(imp.graph.nodes.map((n) => n.op)).toEqual(['conv2d', 'bias_add', 'requantize', 'clip', 'cast', 'max_pool', 'flatten', 'dense', 'requantize', 'clip', 'cast']);
    expect(imp.outputs.y).toMatchObject({ tensor: 'y', dtype: 'int8' });
    const x = i8([1, 2, 4, 4], Array.from({ length: 32 }, (_, k) => ((k * 13) % 41) - 20));
    expect(await ortDiff(p, { x })).toEqual([0]);
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
    // acc = [10+3, 20+4] = [13, 24]; ×0.25 → requantize shift 2: round(3.25) = 3, round(6) = 6
    expect(Array.from(out.y!.data)).toEqual([3, 6]);
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
    // Clip stays integer; the pools run in float on the host (their output is float here).
    expect(imp.graph.nodes.map((n) => n.op)).toEqual(['clip', 'dequantize', 'avg_pool', 'global_avg_pool', 'reshape']);
    expect(imp.graph.nodes[0]!.attrs).toEqual({ min: -2, max: 4 }); // [-1, 2] at scale 0.5
    expect(imp.outputs.y).toMatchObject({ dtype: 'float32', shape: [1, 1] });
    const out = runReference(imp.graph, { x: i8([1, 1, 4, 4], [-8, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 1, 1]) });
    // clipped: [-2,-1,0,1, 2,3,4,4, 4,4,4,4, 1,1,1,1] · 0.5; mean 31/16 · 0.5
    expect(Array.from(out.y!.data)).toEqual([0.96875]);
  });

  const refusals: [string, () => string, string][] = [
    ['corrupt bytes', () => onnxError(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2])), 'ONNX model: not a valid ONNX model'],
    ['truncated file', () => {
      const bytes = buildOnnxModel(qlinear()); // its int8 conv weight is used as it is in the file
      const p = join(dir, 'trunc.onnx');
      writeFileSync(p, bytes.subarray(0, bytes.length - 40));
      return onnxError(p);
    }, 'trunc.onnx: not a valid ONNX model'],
    ['opset', () => onnxError(buildOnnxModel(qdqDense({ opset: 6 }))), 'opset 6 is not supported (supported: 7..21)'],
    ['unsupported op', () => onnxError(buildOnnxModel(qdqDense({ nodes: [...qdqDense().nodes.slice(0, 6), { op: 'Einsum', inputs: ['a'], outputs: ['r'], name: 'sm' }, ...qdqDense().nodes.slice(7)] }))),
      'node sm (Einsum): operator Einsum is not supported'],
    ['dynamic shape beyond the batch', () => onnxError(buildOnnxModel(qdqDense({ inputs: [{ name: 'x', type: 'float', shape: [1, 'features'] }] }))),
      "input 'x': dimension 1 is dynamic ('features'): give it a fixed size"],
    ['non power of two with scales exact', () => onnxError(buildOnnxModel(qdqDense({}, 0.3)), { scales: 'exact' }), 'node qy (QuantizeLinear): requantization ratio 0.416667 (scale 0.125 → 0.3) is not a power of two 2^-n with n in 0..31: use power-of-two scales, or import with scales "vta" (fixed-point m/2^s on VTA, error bound stated) or "host"'],
    ['missing file', () => { try { importOnnx(join(dir, 'nope.onnx')); } catch (e) { return (e as Error).message; } return ''; }, 'nope.onnx: no such file'],
  ];
  it.each(refusals)('refuses: %s', (_l, run, msg) => {
    expect(run()).toContain(msg);
  });

  it('a symbolic batch dimension imports as batch 1 (k samples run as k batches)', () => {
    const imp = importOnnx(buildOnnxModel(qdqDense({ inputs: [{ name: 'x', type: 'float', shape: ['batch', 3] }] })));
    expect(imp.graph.inputs[0]!.shape).toEqual([1, 3]);
  });

  /** qdqDense with its activations quantized as `type` with zero points zx (input) and zy (output). */
  function asymmetric(type: 'int8' | 'uint8', zx: number, zy: number, yScale = 0.5): ModelSpec {
    const s = qdqDense({}, yScale);
    s.initializers.push({ name: 'zx', type, dims: [], values: [zx] }, { name: 'zy', type, dims: [], values: [zy] });
    s.nodes = s.nodes.map((n) => (['qx', 'dqx'].includes(n.name!) ? { ...n, inputs: [n.inputs[0]!, n.inputs[1]!, 'zx'] }
      : ['qy', 'dqy'].includes(n.name!) ? { ...n, inputs: [n.inputs[0]!, n.inputs[1]!, 'zy'] } : n));
    return s;
  }
  const samples = Array.from({ length: 24 }, (_, k) => f32([1, 3], [((k * 37) % 61) / 4 - 7, ((k * 91) % 53) / 8 - 3, ((k * 17) % 29) / 2 - 7]));

  it('nonzero zero points import and agree with onnxruntime (once refused)', async () => {
    const p = save('zp', asymmetric('int8', 3, -5));
    for (const x of samples) expect(await ortDiff(p, { x })).toEqual([0]);
  });

  it('uint8 activations import and agree with onnxruntime (once refused), also with a uint8 interface', async () => {
    const p = save('u8', asymmetric('uint8', 131, 120));
    for (const x of samples) expect(await ortDiff(p, { x })).toEqual([0]);
    const s = asymmetric('uint8', 131, 120);
    s.inputs = [{ name: 'xq', type: 'uint8', shape: [1, 3] }];
    s.outputs = [{ name: 'yq', type: 'uint8', shape: [1, 2] }];
    s.nodes = s.nodes.filter((n) => n.name !== 'qx' && n.name !== 'dqy');
    const q = save('u8-int', s);
    const imp = importOnnx(q);
    expect(imp.graph.inputs[0]).toEqual({ name: 'xq', shape: [1, 3], dtype: 'uint8' });
    expect(imp.outputs.yq).toMatchObject({ dtype: 'uint8' });
    for (const v of [[0, 255, 131], [200, 17, 90], [131, 131, 131]]) expect(await ortDiff(q, { xq: u8([1, 3], v) })).toEqual([0]);
  });

  it('ratios that are not powers of two run as fixed point by default, within one step of onnxruntime', async () => {
    const p = save('vta-default', asymmetric('uint8', 140, 100, 0.3));
    const imp = importOnnx(p);
    expect(imp.graph.nodes.find((n) => n.op === 'requantize')!.attrs).toMatchObject({ rounding: 'half_even' });
    for (const x of samples) expect((await ortDiff(p, { x }))[0]).toBeLessThanOrEqual(0.3 + 1e-6);
  });

  it('a float-only model imports (all host) with a note, and computes like onnxruntime', async () => {
    const p = save('float', {
      name: 'floaty', inputs: [{ name: 'x', type: 'float', shape: [1, 2] }], outputs: [{ name: 'y', type: 'float', shape: [1, 2] }],
      initializers: [], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['r'] }, { op: 'Softmax', inputs: ['r'], outputs: ['y'], attrs: { axis: 1 } }],
    });
    const imp = importOnnx(p);
    expect(imp.notes).toContain(NOT_QUANTIZED_NOTE);
    const d = await ortDiff(p, { x: f32([1, 2], [0.5, -3]) });
    expect(d[0]).toBeLessThan(1e-6);
  });

  it('an op without an integer form (Softmax) runs in float between dequantize and quantize', async () => {
    const p = save('softmax', qdqDense({ nodes: [...qdqDense().nodes.slice(0, 6), { op: 'Softmax', inputs: ['a'], outputs: ['r'], name: 'sm', attrs: { axis: 1 } }, ...qdqDense().nodes.slice(7)] }));
    const imp = importOnnx(p);
    expect(imp.graph.nodes.map((n) => n.op)).toContain('softmax');
    for (const x of samples.slice(0, 6)) expect(await ortDiff(p, { x })).toEqual([0]);
  });

  it('non-power-of-two ratios are rounded when asked (pow2), with a loud warning', () => {
    const imp = importOnnx(buildOnnxModel(qdqDense({}, 0.3)), { scales: 'pow2' });
    expect(imp.graph.nodes.find((n) => n.op === 'requantize')!.attrs).toEqual({ shift: 1, rounding: 'half_even' }); // 0.4167 ≈ 2^-1
    expect(imp.notes).toHaveLength(1);
    expect(imp.notes[0]).toMatch(/^WARNING node qy \(QuantizeLinear\): scale ratio 0.416667 rounded to 2\^-1: every output of this step is off by a factor 0.8333/);
  });

  it('scales vta: m/2^s with the largest shift that keeps m ≤ 32767 and |acc|·m in int32, error bound noted', () => {
    const imp = importOnnx(buildOnnxModel(qdqDense({}, 0.3)), { scales: 'vta' });
    const rq = imp.graph.nodes.find((n) => n.op === 'requantize')!;
    // ratio 0.125/0.3 = 0.41666…; |acc| ≤ 128·(1+3+5) + 100 = 1252 (channel 1: 128·12 + 100 = 1636).
    // With m ≤ 32767 that bound gives an error of 0.008 output units, above the 0.005 the importer
    // accepts: so acc is first clipped to ±⌈300/ratio⌉ = ±721, where the int8 output saturates anyway.
    const a = imp.approximations[0]!;
    expect(a.accBound).toBe(Math.ceil(300 / a.ratio));
    expect(a.accBound).toBeLessThan(128 * (2 + 4 + 6) + 100);
    expect(a.multiplier).toBeLessThanOrEqual(32767);
    expect(a.multiplier * 2 ** 1).toBeGreaterThan(32767); // the next shift would not fit
    expect(rq.attrs).toEqual({ shift: a.shift, multiplier: a.multiplier, rounding: 'half_even' });
    expect(a.multiplier).toBe(Math.round((Math.fround(0.125) / Math.fround(0.3)) * 2 ** a.shift));
    expect(a.relError).toBeCloseTo(Math.abs(a.multiplier / 2 ** a.shift - a.ratio) / a.ratio, 12);
    expect(a.errorBound).toBeCloseTo(a.accBound * a.relError * a.ratio, 9);
    expect(imp.notes[0]).toMatch(/^node qy \(QuantizeLinear\): ratio 0.416667 ≈ \d+\/2\^\d+ \(relative error .*\); \|acc\| ≤ 721: no int32 overflow .*, ≤ .* output units before rounding, ≤ 1 after$/);
  });

  it('scales vta: a large accumulator is first clipped where the output saturates anyway, so m keeps its precision', () => {
    // Weights of ±127 over 4096 inputs: |acc| ≤ 128·127·4096 ≈ 2^26 would leave m < 2^5; beyond
    // 300/ratio the int8 output saturates, so acc is clipped there and the bound is 721.
    const k = 4096;
    const spec = qdqDense({}, 0.3);
    spec.inputs = [{ name: 'x', type: 'float', shape: [1, k] }];
    spec.initializers = spec.initializers.map((i) => (i.name === 'w' ? { ...i, dims: [k, 2], values: Array.from({ length: 2 * k }, () => 127) } : i));
    const imp = importOnnx(buildOnnxModel(spec), { scales: 'vta' });
    const a = imp.approximations[0]!;
    const c = Math.ceil(300 / a.ratio);
    expect(imp.graph.nodes.find((n) => n.name === 'qy.saturate')!.attrs).toEqual({ min: -c, max: c });
    expect(a.accBound).toBe(c);
    expect(a.accBound * a.multiplier + 2 ** (a.shift - 1)).toBeLessThan(2 ** 31);
    expect(a.multiplier * 2).toBeGreaterThan(32767);
  });

  it('scales host: requantize_float after an int32 GEMM result, exact against onnxruntime', async () => {
    const path = save('host', qdqDense({}, 0.3));
    const imp = importOnnx(path, { scales: 'host' });
    expect(imp.graph.nodes.map((n) => n.op)).toEqual(['quantize', 'dense', 'bias_add', 'relu', 'requantize_float', 'clip', 'cast', 'dequantize']);
    expect(imp.graph.nodes[4]!.attrs).toEqual({ scale: Math.fround(0.125) / Math.fround(0.3) });
    let differing = 0;
    for (const x of samples) {
      const [d] = await ortDiff(path, { x }, { scales: 'host' });
      // Only a real tie may differ: float32 rounding decides on which side ONNX lands.
      expect(d).toBeLessThanOrEqual(0.3 + 1e-6);
      if (d! > 0) differing++;
    }
    expect(differing).toBeLessThan(4);
  });
});

describe('ONNX import: Relu after an Add of different scales', () => {
  /** float a, b → Q(2^-2), Q(2^-3) → DQ → Add → Relu → Q(2^-2) → DQ → y (a residual block's end, TVM-style scales). */
  const spec = (): ModelSpec => ({
    name: 'qdq-add-relu',
    inputs: [{ name: 'a', type: 'float', shape: [1, 8] }, { name: 'b', type: 'float', shape: [1, 8] }],
    outputs: [{ name: 'y', type: 'float', shape: [1, 8] }],
    initializers: [zp, sc('sa', 0.25), sc('sb', 0.125), sc('sy', 0.25)],
    nodes: [
      { op: 'QuantizeLinear', inputs: ['a', 'sa', 'zp'], outputs: ['aq'], name: 'qa' },
      { op: 'DequantizeLinear', inputs: ['aq', 'sa', 'zp'], outputs: ['ad'], name: 'dqa' },
      { op: 'QuantizeLinear', inputs: ['b', 'sb', 'zp'], outputs: ['bq'], name: 'qb' },
      { op: 'DequantizeLinear', inputs: ['bq', 'sb', 'zp'], outputs: ['bd'], name: 'dqb' },
      { op: 'Add', inputs: ['ad', 'bd'], outputs: ['s'], name: 'add' },
      { op: 'Relu', inputs: ['s'], outputs: ['r'], name: 'relu' },
      { op: 'QuantizeLinear', inputs: ['r', 'sy', 'zp'], outputs: ['yq'], name: 'qy' },
      { op: 'DequantizeLinear', inputs: ['yq', 'sy', 'zp'], outputs: ['y'], name: 'dqy' },
    ],
  });

  it('stays an integer add whose clip starts at the zero point, and agrees exactly with onnxruntime', async () => {
    const p = save('add-relu', spec());
    const imp = importOnnx(p);
    const ops = imp.graph.nodes.map((n) => n.op);
    expect(ops).not.toContain('relu');
    expect(ops.filter((o) => o === 'dequantize')).toHaveLength(1); // only the graph output's
    expect(imp.graph.nodes.find((n) => n.op === 'clip')!.attrs).toMatchObject({ min: 0, max: 127 });
    // Ratios 1 and 1/2 are exact at the smallest shift: (2a + b) >> 1, one MUL (b's multiplier is 1).
    expect(ops.filter((o) => o === 'mul')).toHaveLength(1);
    expect(imp.graph.nodes.find((n) => n.op === 'requantize')!.attrs).toMatchObject({ shift: 1 });
    const a = [-3, -0.4, 0.3, 1.9, 5.125, -7.5, 12.2, -0.1];
    const b = [2.9, 0.3, -0.7, 1.1, -2.5, 9.0, -3.3, 0.05];
    expect(await ortDiff(p, { a: f32([1, 8], a), b: f32([1, 8], b) })).toEqual([0]);
  });
});

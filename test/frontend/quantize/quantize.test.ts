/**
 * vta quantize on small float graphs built here (seeded weights): the prepare passes keep the float
 * function, the QDQ model has the promised form and onnxruntime runs it, the options do what they
 * say, and bad input gets one E_QUANTIZE line.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { buildOnnxModel, onnx, type InitSpec, type NodeSpec } from '../../../frontend/onnx-builder.ts';
import { FloatModel } from '../../../frontend/quantize/float-model.ts';
import { SHAPED_PASSES, STRUCTURAL_PASSES } from '../../../frontend/quantize/prepare.ts';
import { batchesFor, openSession, probeValues, runSession } from '../../../frontend/quantize/calibrate.ts';
import { quantizeModel, type QuantizeOptions } from '../../../frontend/quantize/quantize.ts';
import { evaluateQuantized } from '../../../frontend/quantize/evaluate.ts';
import type { NpyArray } from '../../../lib/npy.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const values = (n: number, r: () => number, scale = 1, offset = -0.5) => Array.from({ length: n }, () => (r() + offset) * scale);

/** Conv+BN+Relu, Conv+BN, Add, Relu, GlobalAveragePool, Flatten, MatMul + Add: [1,2,6,6] → [1,3]. */
function residualModel(opts: { opset?: number; extra?: NodeSpec } = {}): Uint8Array {
  const r = rng(7);
  const init = (name: string, dims: number[], v: number[]): InitSpec => ({ name, type: 'float', dims, values: v });
  const bn = (p: string, c: number): InitSpec[] => [
    init(`${p}.g`, [c], values(c, r, 1, 0.5)), init(`${p}.b`, [c], values(c, r, 0.4)),
    init(`${p}.m`, [c], values(c, r, 0.4)), init(`${p}.v`, [c], values(c, r, 1, 0.5)),
  ];
  const nodes: NodeSpec[] = [
    { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], name: 'conv1', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    { op: 'BatchNormalization', inputs: ['c1', 'bn1.g', 'bn1.b', 'bn1.m', 'bn1.v'], outputs: ['n1'], name: 'bn1' },
    { op: 'Relu', inputs: ['n1'], outputs: ['r1'], name: 'relu1' },
    { op: 'Conv', inputs: ['r1', 'w2'], outputs: ['c2'], name: 'conv2', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    { op: 'BatchNormalization', inputs: ['c2', 'bn2.g', 'bn2.b', 'bn2.m', 'bn2.v'], outputs: ['n2'], name: 'bn2' },
    { op: 'Add', inputs: ['r1', 'n2'], outputs: ['s'], name: 'add' },
    { op: 'Relu', inputs: ['s'], outputs: ['r2'], name: 'relu2' },
    { op: 'GlobalAveragePool', inputs: ['r2'], outputs: ['p'], name: 'gap' },
    { op: 'Flatten', inputs: ['p'], outputs: ['f'], name: 'flatten' },
    { op: 'MatMul', inputs: ['f', 'wf'], outputs: ['mm'], name: 'fc' },
    { op: 'Add', inputs: ['mm', 'bf'], outputs: [opts.extra ? 'pre' : 'y'], name: 'fc_bias' },
    ...(opts.extra ? [opts.extra] : []),
  ];
  return buildOnnxModel({
    name: 'residual', opset: opts.opset ?? 13,
    inputs: [{ name: 'x', type: 'float', shape: [1, 2, 6, 6] }],
    outputs: [{ name: 'y', type: 'float', shape: [1, 3] }],
    initializers: [
      init('w1', [4, 2, 3, 3], values(72, r)), init('b1', [4], values(4, r, 0.2)),
      init('w2', [4, 4, 3, 3], values(144, r, 0.5)),
      ...bn('bn1', 4), ...bn('bn2', 4),
      init('wf', [4, 3], values(12, r, 2)), init('bf', [3], values(3, r, 0.2)),
    ],
    nodes,
  });
}

function samples(n: number, seed: number, shape = [2, 6, 6]): Map<string, NpyArray> {
  const r = rng(seed);
  const per = shape.reduce((a, b) => a * b, 1);
  return new Map([['x', { dtype: 'float32', shape: [n, ...shape], data: Float32Array.from(values(n * per, r, 2, 0)) }]]);
}

const OPTIONS: QuantizeOptions = { method: 'minmax', perChannel: false, scales: 'float', biasCorrection: false, bits: 8 };

function decode(bytes: Uint8Array) {
  return onnx.ModelProto.decode(bytes);
}

function initializerFloats(m: ReturnType<typeof decode>, name: string): number[] {
  const t = m.graph!.initializer!.find((i) => i.name === name)!;
  return Array.from(new Float32Array(Uint8Array.from(t.rawData!).buffer));
}

describe('prepare passes', () => {
  it('fold BatchNormalization into the Convs and make MatMul + Add one Gemm without changing the float function', async () => {
    const bytes = residualModel();
    const model = new FloatModel(bytes, 'residual');
    STRUCTURAL_PASSES.forEach((p) => p.run(model));
    const data = samples(8, 3);
    const batches = batchesFor(model, data, 'calibration data');
    const info = await probeValues(model, batches);
    const changes = SHAPED_PASSES.flatMap((p) => p.run(model, info));
    expect(changes).toEqual(['MatMul fc + Add fc_bias made one Gemm', 'BatchNormalization bn1 folded into Conv conv1', 'BatchNormalization bn2 folded into Conv conv2']);
    expect(model.nodes.map((n) => n.opType)).toEqual(['Conv', 'Relu', 'Conv', 'Add', 'Relu', 'GlobalAveragePool', 'Flatten', 'Gemm']);
    const before = await openSession(bytes, 'before');
    const after = await openSession(model.encode(), 'after');
    for (let r = 0; r < batches.runs; r++) {
      const a = (await runSession(before, batches.feeds(r), 'before')).y!.data as Float32Array;
      const b = (await runSession(after, batches.feeds(r), 'after')).y!.data as Float32Array;
      for (let k = 0; k < a.length; k++) expect(Math.abs(a[k]! - b[k]!)).toBeLessThan(1e-4 * (1 + Math.abs(a[k]!)));
    }
  });
});

describe('quantizeModel', () => {
  it('writes a QDQ model with the float interface, int8 weights, int32 biases and equal scales on the residual add', async () => {
    const bytes = residualModel();
    const { bytes: q, report } = await quantizeModel(bytes, 'residual', samples(32, 1), OPTIONS);
    const m = decode(q);
    const g = m.graph!;
    expect(g.input!.map((i) => [i.name, i.type!.tensorType!.elemType])).toEqual([['x', 1]]);
    expect(g.output!.map((o) => [o.name, o.type!.tensorType!.elemType])).toEqual([['y', 1]]);
    const producer = new Map(g.node!.flatMap((n) => n.output!.map((o) => [o, n])));
    const inits = new Map(g.initializer!.map((i) => [i.name!, i]));
    for (const n of g.node!.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm')) {
      const [x, w, b] = n.input!.map((i) => producer.get(i)!);
      expect([x!.opType, w!.opType, b!.opType]).toEqual(['DequantizeLinear', 'DequantizeLinear', 'DequantizeLinear']);
      expect(inits.get(w!.input![0]!)!.dataType).toBe(3); // int8
      expect(inits.get(b!.input![0]!)!.dataType).toBe(6); // int32
    }
    // No float weight is left behind.
    expect(g.initializer!.filter((i) => i.dataType === 1 && (i.dims ?? []).length > 0)).toEqual([]);
    // The residual add reads two DequantizeLinear outputs of one scale and zero point.
    const add = g.node!.find((n) => n.opType === 'Add')!;
    const [da, db] = add.input!.map((i) => producer.get(i)!);
    expect(initializerFloats(m, da!.input![1]!)).toEqual(initializerFloats(m, db!.input![1]!));
    expect(report.rewrites).toContain('BatchNormalization bn2 folded into Conv conv2');
    expect(report.floatOps).toEqual(['gap (GlobalAveragePool)']);
    const e = await evaluateQuantized(bytes, q, 'residual', samples(32, 2));
    expect(e.outputs[0]!.sqnrDb).toBeGreaterThan(25);
  });

  it('per-channel weights have one scale per output channel on axis 0', async () => {
    const { bytes: q, report } = await quantizeModel(residualModel(), 'residual', samples(16, 1), { ...OPTIONS, perChannel: true });
    const g = decode(q).graph!;
    const dq = g.node!.filter((n) => n.opType === 'DequantizeLinear' && n.input![0]!.startsWith('w1'));
    expect(dq).toHaveLength(1);
    expect(Number(dq[0]!.attribute!.find((a) => a.name === 'axis')?.i)).toBe(0);
    expect(report.weights.find((w) => w.node === 'conv1')!.weightScales).toHaveLength(4);
  });

  it('pow2 writes power-of-two scales; auto keeps the candidate with the higher output SQNR', async () => {
    const pow2 = await quantizeModel(residualModel(), 'residual', samples(16, 1), { ...OPTIONS, scales: 'pow2' });
    for (const v of pow2.report.values) expect(Number.isInteger(Math.log2(v.scale))).toBe(true);
    for (const w of pow2.report.weights) for (const s of w.weightScales) expect(Number.isInteger(Math.log2(s))).toBe(true);
    const auto = await quantizeModel(residualModel(), 'residual', samples(16, 1), { ...OPTIONS, scales: 'auto' });
    const c = auto.report.scaleCandidates!;
    expect(auto.report.scales).toBe(c.pow2 > c.float ? 'pow2' : 'float');
  });

  it('bias correction removes the mean output error that weight rounding causes', async () => {
    const r = rng(11);
    const bytes = buildOnnxModel({
      name: 'fc', opset: 13,
      inputs: [{ name: 'x', type: 'float', shape: [1, 64] }], outputs: [{ name: 'y', type: 'float', shape: [1, 8] }],
      initializers: [{ name: 'w', type: 'float', dims: [8, 64], values: values(512, r) }, { name: 'b', type: 'float', dims: [8], values: values(8, r) }],
      nodes: [{ op: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['y'], name: 'fc', attrs: { transB: 1 } }],
    });
    const data = samples(64, 5, [64]);
    const meanError = async (biasCorrection: boolean) => {
      const { bytes: q } = await quantizeModel(bytes, 'fc', data, { ...OPTIONS, scales: 'float', biasCorrection });
      const f = await openSession(bytes, 'f');
      const s = await openSession(q, 'q');
      const batches = batchesFor(new FloatModel(bytes, 'fc'), data, 'x');
      const err = new Float64Array(8);
      for (let k = 0; k < batches.runs; k++) {
        const a = (await runSession(f, batches.feeds(k), 'f')).y!.data as Float32Array;
        const b = (await runSession(s, batches.feeds(k), 'q')).y!.data as Float32Array;
        a.forEach((v, c) => { err[c] = err[c]! + (b[c]! - v) / batches.runs; });
      }
      return err.reduce((t, e) => t + Math.abs(e), 0);
    };
    const plain = await meanError(false);
    const corrected = await meanError(true);
    expect(corrected).toBeLessThan(plain / 2);
  });
});

describe('bad input: one E_QUANTIZE line each', () => {
  const refuse = (bytes: Uint8Array, data: Map<string, NpyArray>, message: string | RegExp) =>
    expect(quantizeModel(bytes, 'm.onnx', data, OPTIONS)).rejects.toThrow(message);

  it('a model that is quantized already', async () => {
    await refuse(readFileSync('models/cnn.onnx'), samples(4, 1), /m\.onnx is quantized already \(node .* is (QuantizeLinear|DequantizeLinear)\): run it with vta run as it is/);
  });
  it('an operator the quantizer does not handle', async () => {
    const bytes = residualModel({ extra: { op: 'Tanh', inputs: ['pre'], outputs: ['y'], name: 'squash' } });
    await refuse(bytes, samples(4, 1), /m\.onnx: node squash: operator Tanh cannot be quantized \(handled: Conv, Gemm, MatMul, /);
  });
  it('an opset before 13', async () => {
    await refuse(residualModel({ opset: 11 }), samples(4, 1), 'm.onnx: opset 11: the quantizer writes opset-13 QuantizeLinear');
  });
  it('calibration data of the wrong shape or dtype', async () => {
    await refuse(residualModel(), samples(4, 1, [3, 6, 6]), "calibration data for 'x' has shape [4,3,6,6]: expected N samples of [2,6,6] (shape [N,2,6,6]) for input [1,2,6,6]");
    const int8: NpyArray = { dtype: 'int8', shape: [4, 2, 6, 6], data: new Int8Array(288).map((_, k) => k % 7) };
    await refuse(residualModel(), new Map([['x', int8]]), "calibration data for 'x' is int8, the model's input is float32");
  });
  it('NaN or constant calibration data', async () => {
    const nan = samples(4, 1);
    (nan.get('x')!.data as Float32Array)[3 * 72 + 5] = NaN;
    await refuse(residualModel(), nan, "calibration data for 'x' holds NaN at sample 3: calibration needs finite values");
    const constant: NpyArray = { dtype: 'float32', shape: [4, 2, 6, 6], data: new Float32Array(288).fill(0.25) };
    await refuse(residualModel(), new Map([['x', constant]]), "calibration data for 'x' is constant (every value is 0.25)");
  });
});

/**
 * --check's onnxruntime comparison on the model's interface: the same inputs fed to onnxruntime,
 * per output the largest difference and the share within 0, 1, 2 quantization steps, top-1 over
 * the k samples.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { concatBatches, modelInputs, openModel, outputStep, randomInput, runModel, sliceBatch } from '../../api/index.ts';
import { buildOnnxModel } from '../../frontend/onnx-builder.ts';
import { compareWithOnnxruntime } from '../../frontend/ort-check.ts';
import type { Graph, Tensor } from '../../graph/ir.ts';
import { runReference } from '../../graph/reference.ts';
import { floatAround } from './float-models.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);

const scalar = (name: string, type: 'float' | 'int8', v: number) => ({ name, type, dims: [], values: [v] });
const W = [1, -2, 3, 4, -5, 6, 7, -8]; // ONNX MatMul weight [K=4, N=2]

/** QDQ float32 x [1,4] → Q(1/4) → DQ → MatMul(DQ(w, 1/2)) → Q(1/2) → DQ → float32 y [1,2], as ONNX. */
function qdqMatMulOnnx(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'vta-ort-')), 'qdq-matmul.onnx');
  writeFileSync(path, buildOnnxModel({
    name: 'qdq-matmul',
    inputs: [{ name: 'x', type: 'float', shape: [1, 4] }],
    outputs: [{ name: 'y', type: 'float', shape: [1, 2] }],
    initializers: [scalar('zp', 'int8', 0), scalar('sx', 'float', 0.25), scalar('sw', 'float', 0.5), scalar('sy', 'float', 0.5), { name: 'w', type: 'int8', dims: [4, 2], values: W }],
    nodes: [
      { op: 'QuantizeLinear', inputs: ['x', 'sx', 'zp'], outputs: ['xq'], name: 'qx' },
      { op: 'DequantizeLinear', inputs: ['xq', 'sx', 'zp'], outputs: ['xd'], name: 'dqx' },
      { op: 'DequantizeLinear', inputs: ['w', 'sw', 'zp'], outputs: ['wd'], name: 'dqw' },
      { op: 'MatMul', inputs: ['xd', 'wd'], outputs: ['m'], name: 'fc' },
      { op: 'QuantizeLinear', inputs: ['m', 'sy', 'zp'], outputs: ['yq'], name: 'qy' },
      { op: 'DequantizeLinear', inputs: ['yq', 'sy', 'zp'], outputs: ['y'], name: 'dqy' },
    ],
  }));
  return path;
}

/** The same model as the importer gives it: the ONNX interface (float32 x and y), integer core. */
const qdqMatMulGraph = (): Graph =>
  floatAround('qdq-matmul', [1, 4], { name: 'fc', op: 'dense', inputs: ['xq', 'w'], output: 'acc' }, [2, 4], {
    inScale: 0.25, outScale: 0.5, shift: 2, rounding: 'half_even', weights: [0, 1].flatMap((n) => [0, 1, 2, 3].map((k) => W[2 * k + n]!)),
  });

/**
 * onnxruntime-node run sample by sample on `x` (k batches of ONNX input `input`), its output
 * `output` compared with `got` in units of `step`, without the code under test.
 */
async function independently(path: string, input: string, output: string, x: Tensor, got: Tensor, k: number, step: number) {
  const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
  const session = await ort.InferenceSession.create(path, { graphOptimizationLevel: 'disabled' });
  let maxDiff = 0;
  let exact = 0;
  let agree = 0;
  const argmax = (a: ArrayLike<number>) => Array.from(a).indexOf(Math.max(...Array.from(a)));
  for (let b = 0; b < k; b++) {
    const xb = sliceBatch(x, b, k);
    const want = (await session.run({ [input]: new ort.Tensor(xb.dtype, xb.data, xb.shape) }))[output]!.data as ArrayLike<number>;
    const mine = sliceBatch(got, b, k).data;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(mine[i]! - Number(want[i])) / step;
      maxDiff = Math.max(maxDiff, d);
      if (d < 1e-3) exact++;
    }
    if (argmax(mine) === argmax(want)) agree++;
  }
  await session.release();
  return { maxDiff: Math.round(maxDiff * 1000) / 1000, within: [expect.closeTo(exact / got.data.length, 12), expect.any(Number), expect.any(Number)], top1: { agree, total: k } };
}

describe('onnxruntime on the model interface', () => {
  it('feeds the graph inputs by name and counts differences in the output dequantize scale', async () => {
    const graph = qdqMatMulGraph();
    const batches = [0, 1, 2].map((b) => {
      const x: Tensor = { shape: [1, 4], dtype: 'float32', data: Float32Array.from([0.5, -1.25, 2, 0.75].map((v) => v * (b + 1))) };
      const y = runReference(graph, { x }).y!;
      return { inputs: new Map([['x', x]]), outputs: new Map([['y', y]]) };
    });
    const imported = { notes: [], approximations: [] };
    const exact = await compareWithOnnxruntime(qdqMatMulOnnx(), graph, batches, imported);
    expect(exact.outputs).toEqual([{ output: 'y', dtype: 'float32', shape: [3, 2], step: 0.5, maxDiff: 0, within: [1, 1, 1], top1: { agree: 3, total: 3 }, argmaxAgrees: true }]);
    // One value one step off, another two: counted in steps of 0.5.
    const y1 = batches[1]!.outputs.get('y')!.data;
    y1[0] = y1[0]! + 0.5;
    const y2 = batches[2]!.outputs.get('y')!.data;
    y2[1] = y2[1]! - 1;
    const off = await compareWithOnnxruntime(qdqMatMulOnnx(), graph, batches, imported);
    expect(off.outputs[0]).toMatchObject({ step: 0.5, maxDiff: 2, within: [4 / 6, 5 / 6, 1] });
  });

  it('models/cnn.onnx, 2 batches: steps as counted independently, sample by sample', async () => {
    const path = join(ROOT, 'models', 'cnn.onnx');
    const model = openModel(path);
    const spec = model.graph.inputs[0]!;
    const x = concatBatches([randomInput(spec.shape, spec.dtype, 3), randomInput(spec.shape, spec.dtype, 4)]);
    const report = await runModel(model, new Map([[spec.name, x]]), { check: true });
    expect(report.check!.reference.mismatch).toBeUndefined();
    const [o] = report.check!.onnxruntime!.outputs;
    const graphOutput = model.graph.outputs[0]!;
    const y = report.outputs.get(graphOutput)!;
    expect(report.check!.onnxruntime!.batches).toBe(2);
    // Logits of scale 1: int8, or float32 from a DequantizeLinear of scale 1 on the ONNX interface.
    expect(o).toMatchObject({ output: 'logits', dtype: y.dtype, shape: [2, 10], step: 1 });
    expect(outputStep(model.graph, graphOutput)).toBe(1);
    // The model's own interface (float32 in): onnxruntime fed the same tensors.
    expect(spec.dtype).toBe('float32');
    expect(o).toMatchObject(await independently(path, spec.name, 'logits', x, y, 2, 1));
  }, 120_000);

  const REAL = join(ROOT, 'models', 'real', 'ort-cnn-u8-pc.onnx');
  it('models/real/ort-cnn-u8-pc.onnx (QDQ, float32 in and out), 4 samples', async () => {
    const model = openModel(REAL);
    const inputs = await modelInputs(model, new Map([['input', REAL.replace('.onnx', '.input.npy')]]));
    expect(inputs.get('input')!.dtype).toBe('float32');
    const report = await runModel(model, inputs, { check: true });
    expect(report.batches).toBe(4);
    expect(report.check!.reference.mismatch).toBeUndefined();
    const logits = report.outputs.get('logits')!;
    expect(logits.dtype).toBe('float32');
    expect(logits.shape).toEqual([4, 10]);
    const [o] = report.check!.onnxruntime!.outputs;
    const step = outputStep(model.graph, 'logits')!;
    expect(step).toBeGreaterThan(0);
    expect(o).toMatchObject({ output: 'logits', step, shape: [4, 10] });
    expect(o).toMatchObject(await independently(REAL, 'input', 'logits', inputs.get('input')!, logits, 4, step));
  }, 120_000);
});

/**
 * A graph shaped as tf2onnx writes one: NHWC input transposed to NCHW for the Conv and back, a
 * Reshape whose shape is computed by Shape → Gather → Unsqueeze → Concat on int64 values, MatMul +
 * Add of a bias, Softmax at the end. vta quantize leaves the int64 shape computation alone,
 * quantizes the rest, onnxruntime runs the result, and vta run runs it on VTA.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openModel, runModel } from '../../../api/index.ts';
import { buildOnnxModel, onnx } from '../../../frontend/onnx-builder.ts';
import { evaluateQuantized } from '../../../frontend/quantize/evaluate.ts';
import { quantizeModel } from '../../../frontend/quantize/quantize.ts';
import type { NpyArray } from '../../../lib/npy.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function tfStyleModel(): Uint8Array {
  const r = rng(3);
  const v = (n: number, scale: number) => Array.from({ length: n }, () => (r() - 0.5) * scale);
  return buildOnnxModel({
    name: 'tf_style', opset: 13,
    inputs: [{ name: 'image:0', type: 'float', shape: [1, 8, 8, 3] }],
    outputs: [{ name: 'probs:0', type: 'float', shape: [1, 5] }],
    initializers: [
      { name: 'k', type: 'float', dims: [16, 3, 3, 3], values: v(432, 1) },
      { name: 'kb', type: 'float', dims: [16], values: v(16, 0.2) },
      { name: 'w', type: 'float', dims: [1024, 5], values: v(5120, 0.2) },
      { name: 'b', type: 'float', dims: [5], values: v(5, 0.2) },
      { name: 'zero', type: 'int64', dims: [1], values: [0] },
      { name: 'minus_one', type: 'int64', dims: [1], values: [-1] },
    ],
    nodes: [
      { op: 'Transpose', inputs: ['image:0'], outputs: ['nchw'], name: 'to_nchw', attrs: { perm: [0, 3, 1, 2] } },
      { op: 'Conv', inputs: ['nchw', 'k', 'kb'], outputs: ['conv'], name: 'conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      { op: 'Relu', inputs: ['conv'], outputs: ['relu'], name: 'relu' },
      { op: 'Transpose', inputs: ['relu'], outputs: ['nhwc'], name: 'to_nhwc', attrs: { perm: [0, 2, 3, 1] } },
      { op: 'Shape', inputs: ['nhwc'], outputs: ['shape'], name: 'shape' },
      { op: 'Gather', inputs: ['shape', 'zero'], outputs: ['batch'], name: 'batch', attrs: { axis: 0 } },
      { op: 'Concat', inputs: ['batch', 'minus_one'], outputs: ['flat_shape'], name: 'flat_shape', attrs: { axis: 0 } },
      { op: 'Reshape', inputs: ['nhwc', 'flat_shape'], outputs: ['flat'], name: 'flatten' },
      { op: 'MatMul', inputs: ['flat', 'w'], outputs: ['mm'], name: 'dense' },
      { op: 'Add', inputs: ['mm', 'b'], outputs: ['logits'], name: 'dense_bias' },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probs:0'], name: 'softmax', attrs: { axis: -1 } },
    ],
  });
}

function samples(n: number): Map<string, NpyArray> {
  const r = rng(9);
  return new Map([['image:0', { dtype: 'float32', shape: [n, 8, 8, 3], data: Float32Array.from({ length: n * 192 }, () => r()) }]]);
}

describe('a tf2onnx-shaped float graph', () => {
  it('quantizes around the int64 shape computation and runs on onnxruntime and on VTA', async () => {
    const bytes = tfStyleModel();
    const { bytes: q, report } = await quantizeModel(bytes, 'tf_style', samples(32), { method: 'mse', perChannel: true, scales: 'auto', biasCorrection: false, bits: 8 });
    expect(report.rewrites).toContain('MatMul dense + Add dense_bias made one Gemm');
    expect(report.floatOps).toEqual(['softmax (Softmax)']);
    const g = onnx.ModelProto.decode(q).graph!;
    // The int64 shape computation is untouched: no QuantizeLinear reads it.
    const quantized = new Set(g.node!.filter((n) => n.opType === 'QuantizeLinear').map((n) => n.input![0]));
    for (const t of ['shape', 'batch', 'flat_shape']) expect(quantized.has(t)).toBe(false);
    expect(g.output!.map((o) => o.name)).toEqual(['probs:0']);
    const e = await evaluateQuantized(bytes, q, 'tf_style', samples(16));
    expect(e.top1Agreement).toBeGreaterThanOrEqual(0.9);
    expect(e.outputs[0]!.sqnrDb).toBeGreaterThan(25);

    const dir = mkdtempSync(join(tmpdir(), 'vta-tf-style-'));
    try {
      writeFileSync(join(dir, 'q.onnx'), q);
      const model = openModel(join(dir, 'q.onnx'));
      const x = samples(4).get('image:0')!;
      const run = await runModel(model, new Map([['image:0', { dtype: 'float32', shape: x.shape, data: x.data }]]), { check: true });
      expect(run.check!.reference.mismatch).toBeUndefined();
      // Probabilities from logits that may differ by one quantization step (the fixed-point
      // requantization on VTA): small absolute differences, the same top-1.
      const o = run.check!.onnxruntime!.outputs[0]!;
      expect(o.maxDiff).toBeLessThan(0.01);
      expect(o.argmaxAgrees).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

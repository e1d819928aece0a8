/**
 * Real quantized models on 200 held-out MNIST digits (models/real/mnist-test200.npy: digits no model
 * was trained or calibrated on), run on fsim through the library API with default options as one
 * k-batch run: every batch bit-exact with the reference executor, and against onnxruntime on the same
 * float inputs ≥ 99% of logits within one output step and top-1 equal on ≥ 99% of the digits.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openModel, runModel } from '../../api/index.ts';
import type { Tensor } from '../../graph/ir.ts';
import { parseNpy } from '../../lib/npy.ts';

const DIR = join(import.meta.dirname, '..', '..', 'models', 'real');
const digits = parseNpy(readFileSync(join(DIR, 'mnist-test200.npy')), 'mnist-test200.npy');

// One of each producer and form: torch (onednn per-channel, qnnpack per-tensor), onnxruntime QDQ
// (uint8, int8) and QOperator, a CNN with batch norm folded, residual add and GAP, and MLPs.
const MODELS = ['torch-cnn-onednn', 'torch-cnn-qnnpack', 'torch-mlp-qnnpack', 'ort-cnn-u8-pc', 'ort-cnn-i8-pt', 'ort-mlp-u8-pc', 'qop-cnn-u8-pt'];

describe('held-out MNIST digits: VTA against onnxruntime', () => {
  for (const name of MODELS) {
    it(name, async () => {
      const model = openModel(join(DIR, `${name}.onnx`));
      const input = model.graph.inputs[0]!;
      const perSample = input.shape.slice(1);
      const x: Tensor = { shape: [200, ...perSample], dtype: 'float32', data: digits.data };
      const report = await runModel(model, new Map([[input.name, x]]), { check: true });
      expect(report.batches).toBe(200);
      expect(report.check!.reference.mismatch).toBeUndefined();
      const [o] = report.check!.onnxruntime!.outputs;
      expect(o!.within[1]).toBeGreaterThanOrEqual(0.99);
      expect(o!.top1!.agree / o!.top1!.total).toBeGreaterThanOrEqual(0.99);
    }, 60_000);
  }
});

/**
 * vta quantize end to end on real float models and real digits: the MLP, the residual CNN with
 * batch norm, the CNN and the mixed-op model (models/float/) are quantized with 200 TRAIN digits,
 * at default options and with each other method; onnxruntime
 * runs the result; on 500 HELD-OUT digits the quantized model's top-1 accuracy stays within one
 * point of the float model's; and the model runs on VTA (fsim) bit-exactly against the reference
 * executor and within one output step of onnxruntime on ≥ 99% of the logits (within 1e-3 for a float
 * probability output), top-1 equal on ≥ 99%.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openModel, runModel } from '../../api/index.ts';
import { evaluateQuantized } from '../../frontend/quantize/evaluate.ts';
import { quantizeModel, type QuantizeOptions } from '../../frontend/quantize/quantize.ts';
import { digitsNpy, loadMnist } from '../../models/mnist.ts';

const FLOAT = join(import.meta.dirname, '..', '..', 'models', 'float');
const { train, heldout } = loadMnist();
const calibration = digitsNpy(train, 0, 200);
const test = digitsNpy(heldout, 0, 500);
const dir = mkdtempSync(join(tmpdir(), 'vta-quantize-mnist-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DEFAULTS: QuantizeOptions = { method: 'mse', perChannel: false, scales: 'auto', biasCorrection: false, bits: 8 };

const CASES: { model: string; options: Partial<QuantizeOptions> }[] = [
  { model: 'mnist-mlp', options: {} },
  { model: 'mnist-rescnn', options: {} },
  { model: 'mnist-rescnn', options: { method: 'entropy', perChannel: true, biasCorrection: true } },
  { model: 'mnist-cnn', options: { method: 'percentile' } },
  { model: 'mnist-mixed', options: { method: 'minmax', scales: 'pow2' } },
];

describe('vta quantize on real float models and held-out MNIST digits', () => {
  for (const { model, options } of CASES) {
    const label = `${model} ${JSON.stringify(options)}`;
    it(label, async () => {
      const bytes = readFileSync(join(FLOAT, `${model}.onnx`));
      const q = await quantizeModel(bytes, model, new Map([['input', calibration.x]]), { ...DEFAULTS, ...options });
      const e = await evaluateQuantized(bytes, q.bytes, model, new Map([['input', test.x]]), { labels: test.y });
      expect(e.samples).toBe(500);
      expect(e.floatTop1!).toBeGreaterThan(0.9);
      expect(Math.abs(e.quantTop1! - e.floatTop1!)).toBeLessThanOrEqual(0.01);

      const path = join(dir, `${model}-${options.method ?? 'mse'}.onnx`);
      writeFileSync(path, q.bytes);
      const vta = openModel(path);
      const input = vta.graph.inputs[0]!;
      const x = { dtype: 'float32' as const, shape: [100, ...input.shape.slice(1)], data: (test.x.data as Float32Array).subarray(0, 100 * 784) };
      const report = await runModel(vta, new Map([[input.name, x]]), { check: true });
      expect(report.check!.reference.mismatch).toBeUndefined();
      const [o] = report.check!.onnxruntime!.outputs;
      // A float output (the mixed model's Softmax runs on the host) has no step: compared absolutely.
      if (o!.step === undefined) expect(o!.maxDiff).toBeLessThan(1e-3);
      else expect(o!.within[1]).toBeGreaterThanOrEqual(0.99);
      expect(o!.top1!.agree / o!.top1!.total).toBeGreaterThanOrEqual(0.99);
    }, 120_000);
  }
});

/**
 * The quantizer's figures: calibration speed on a ResNet-18-sized float model (100 samples; the
 * issue's goal is under a minute), and, for the MNIST example and each calibration method, the
 * float accuracy, the quantized model's accuracy under onnxruntime and on VTA (fsim), and the time
 * to quantize. Accuracies are on held-out digits no model was trained or calibrated on. Then what
 * precision buys (precision-bench.ts): accuracy, DRAM bytes and tsim cycles at 8, 4 and 2 bits.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel, runModel, topOneAccuracy } from '../api/index.ts';
import { evaluateQuantized } from '../frontend/quantize/evaluate.ts';
import { quantizeModel } from '../frontend/quantize/quantize.ts';
import { CALIBRATION_METHODS } from '../frontend/quantize/ranges.ts';
import { digitsNpy, loadMnist } from '../models/mnist.ts';
import { buildResnet18Float, randomImages } from '../models/resnet18-float.ts';
import { runPrecisionBench } from './precision-bench.ts';

const ROOT = join(import.meta.dirname, '..');
const CALIBRATION = 200;

async function resnetCalibration(): Promise<Record<string, number>> {
  const bytes = buildResnet18Float(1);
  const x = randomImages(100, 2);
  const t0 = performance.now();
  const q = await quantizeModel(bytes, 'resnet18-float', new Map([['input', x]]), { method: 'entropy', perChannel: true, scales: 'float', biasCorrection: false, bits: 8 });
  const seconds = (performance.now() - t0) / 1000;
  return { 'resnet18 quantize, 100 samples, entropy (s)': seconds, 'resnet18 quantized values': q.report.values.length };
}

async function mnistMethods(name: string): Promise<Record<string, number>> {
  const bytes = readFileSync(join(ROOT, 'models', 'float', `${name}.onnx`));
  const { train, heldout } = loadMnist();
  const calib = digitsNpy(train, 0, CALIBRATION);
  // Every held-out digit (1,996).
  const test = digitsNpy(heldout, 0, heldout.count);
  const figures: Record<string, number> = {};
  const dir = mkdtempSync(join(tmpdir(), 'vta-qbench-'));
  try {
    for (const method of CALIBRATION_METHODS) {
      const t0 = performance.now();
      const q = await quantizeModel(bytes, name, new Map([['input', calib.x]]), { method, perChannel: false, scales: 'auto', biasCorrection: false, bits: 8 });
      figures[`${name} ${method}: quantize (s)`] = (performance.now() - t0) / 1000;
      const e = await evaluateQuantized(bytes, q.bytes, name, new Map([['input', test.x]]), { labels: test.y });
      figures[`${name} ${method}: float top-1 (%)`] = 100 * e.floatTop1!;
      figures[`${name} ${method}: onnxruntime top-1 (%)`] = 100 * e.quantTop1!;
      const path = join(dir, `${method}.onnx`);
      writeFileSync(path, q.bytes);
      const model = openModel(path);
      const input = model.graph.inputs[0]!;
      const report = await runModel(model, new Map([[input.name, { dtype: 'float32', shape: test.x.shape, data: test.x.data }]]), {});
      const top = topOneAccuracy(report.outputs.get(model.graph.outputs[0]!)!, test.y, { output: 'logits', labels: 'held-out labels' });
      figures[`${name} ${method}: VTA (fsim) top-1 (%)`] = (100 * top.correct) / top.total;
      figures[`${name} ${method}: scales pow2 (1) or real (0)`] = q.report.scales === 'pow2' ? 1 : 0;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

export async function runQuantizeBench(): Promise<Record<string, number>> {
  return { ...(await resnetCalibration()), ...(await mnistMethods('mnist-cnn')), ...(await mnistMethods('mnist-rescnn')), ...(await runPrecisionBench()) };
}

/**
 * Post-training quantization from files: a float .onnx model and .npy calibration samples in, the
 * QDQ model's bytes and a report out; optionally the float and quantized models compared on
 * held-out samples (with labels: top-1 accuracy of each).
 */
import { readFileOrFail } from '../lib/files.ts';
import { parseNpy, type NpyArray } from '../lib/npy.ts';
import { FloatModel } from '../frontend/quantize/float-model.ts';
import { evaluateQuantized, type Evaluation } from '../frontend/quantize/evaluate.ts';
import { quantizeModel, type QuantizeOptions, type QuantizeReport } from '../frontend/quantize/quantize.ts';
import { FILE_LIMITS } from '../lib/limits.ts';

export { readLabels } from './accuracy.ts';
export { CALIBRATION_METHODS } from '../frontend/quantize/ranges.ts';
export type { CalibrationMethod } from '../frontend/quantize/ranges.ts';
export type { Evaluation, LayerError } from '../frontend/quantize/evaluate.ts';
export type { QuantizeOptions, QuantizeReport, QuantizedValue, ScaleChoice } from '../frontend/quantize/quantize.ts';
export const SCALE_CHOICES = ['auto', 'float', 'pow2'] as const;

/** The names of a float model's inputs (for assigning sample files to them). */
export async function floatModelInputs(path: string): Promise<string[]> {
  return new FloatModel(await readFileOrFail(path, FILE_LIMITS.model), path).inputs.map((i) => i.name);
}

/** .npy files by model input name. */
export async function readSamples(files: ReadonlyMap<string, string>): Promise<Map<string, NpyArray>> {
  const out = new Map<string, NpyArray>();
  for (const [name, file] of files) out.set(name, parseNpy(await readFileOrFail(file, FILE_LIMITS.tensor), file));
  return out;
}

export interface QuantizeFileResult {
  bytes: Uint8Array;
  report: QuantizeReport;
  evaluation?: Evaluation;
}

export async function quantizeFile(
  path: string,
  calibration: ReadonlyMap<string, NpyArray>,
  options: QuantizeOptions,
  evaluation?: { samples: ReadonlyMap<string, NpyArray>; labels?: NpyArray },
): Promise<QuantizeFileResult> {
  const bytes = await readFileOrFail(path, FILE_LIMITS.model);
  const result = await quantizeModel(bytes, path, calibration, options);
  if (!evaluation) return result;
  const layers = new Map(result.report.values.map((v) => [v.value, v.dequantized]));
  const e = await evaluateQuantized(bytes, result.bytes, path, evaluation.samples, { layers, ...(evaluation.labels ? { labels: evaluation.labels } : {}) });
  return { ...result, evaluation: e };
}

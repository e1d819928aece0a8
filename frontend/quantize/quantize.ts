/**
 * `vta quantize`: a float ONNX model and calibration samples in, a QDQ ONNX model out that
 * onnxruntime runs and `vta run` runs on VTA. The stages, in order:
 *   check → structural passes → probe (one float run: every value's dtype and shape) → shaped
 *   passes → plan → calibrate (onnxruntime over all samples, one histogram per planned value) →
 *   ranges (per scale group, by the chosen method) → write QDQ → (scales 'auto') keep the more
 *   accurate of real-valued and power-of-two scales, measured on the calibration samples.
 */
import { TensorHistogram } from './histogram.ts';
import { affineParams, chooseRange, powerOfTwoScale, type CalibrationMethod, type RealRange } from './ranges.ts';
import { FloatModel, quantizeError } from './float-model.ts';
import { SHAPED_PASSES, STRUCTURAL_PASSES, type ValueInfo } from './prepare.ts';
import { planQuantization, type QuantPlan } from './plan.ts';
import { batchesFor, collectStatistics, probeValues, type SampleSet, type Statistics } from './calibrate.ts';
import { QdqWriter, type ActivationParams, type WeightReport } from './qdq.ts';
import { QUANTIZABLE_OPS, QUANTIZE_RULES, QUANTIZED_OPS } from './rules.ts';
import { evaluateCandidates } from './evaluate.ts';
import { checkInt4Opset, planPrecision, type Precision } from './precision.ts';
import { appendAll, minOf } from '../../lib/array-loops.ts';

export type ScaleChoice = 'auto' | 'float' | 'pow2';

export interface QuantizeOptions {
  method: CalibrationMethod;
  /** For method 'percentile'. */
  percentile?: number;
  perChannel: boolean;
  scales: ScaleChoice;
  biasCorrection: boolean;
  /** Activation and weight bit width: 8, 4 or 2. */
  bits: number;
  /** Weighted nodes (by name) kept at 8 bits: their weights and the activations they read. */
  keep8bit?: readonly string[];
  onProgress?: (done: number, total: number) => void;
}

export interface QuantizedValue {
  value: string;
  /** The value that names its scale group (itself when it has its own scale). */
  group: string;
  /** The calibrated range of the group and the parameters chosen for it. */
  range: RealRange;
  scale: number;
  zeroPoint: number;
  /** The quantized model's name for the dequantized value. */
  dequantized: string;
}

export interface QuantizeReport {
  model: string;
  method: CalibrationMethod;
  /** Samples given, those the calibration used (whole batches of a fixed batch size), and per onnxruntime run. */
  given: number;
  samples: number;
  batch: number;
  /** The scales written: real-valued or powers of two. */
  scales: 'float' | 'pow2';
  /** With scales 'auto': the output SQNR (dB) of each candidate on the calibration samples. */
  scaleCandidates?: { float: number; pow2: number };
  /** What the float-to-float passes changed. */
  rewrites: string[];
  values: QuantizedValue[];
  weights: WeightReport[];
  /** Nodes the host runs in float between a DequantizeLinear and a QuantizeLinear. */
  floatOps: string[];
  /** The width asked for, and the weighted nodes kept at 8 bits. */
  bits: number;
  kept8bit: string[];
}

export interface QuantizeResult {
  bytes: Uint8Array;
  report: QuantizeReport;
}

/**
 * Histogram bins: entropy's narrowest candidate is 2^bits bins wide, so at 8 bits it needs 8192
 * bins (TensorRT's resolution) to clip as far as the data asks; the other methods do with 2048.
 */
const binsFor = (method: CalibrationMethod): number => (method === 'entropy' ? 8192 : 2048);

/** One-line refusals of what cannot be quantized, before any run. */
export function checkQuantizable(model: FloatModel): void {
  const quantized = model.nodes.find((n) => QUANTIZED_OPS.has(n.opType));
  if (quantized) quantizeError(`${model.label} is quantized already (node ${quantized.name} is ${quantized.opType}): run it with vta run as it is`);
  const other = model.nodes.find((n) => (n.domain && n.domain !== 'ai.onnx') || !QUANTIZE_RULES.has(n.opType));
  if (other) quantizeError(`${model.label}: node ${other.name}: operator ${other.domain ? `${other.domain}.` : ''}${other.opType} cannot be quantized (handled: ${QUANTIZABLE_OPS.join(', ')})`);
  if (model.opset < 13) quantizeError(`${model.label}: opset ${model.opset}: the quantizer writes opset-13 QuantizeLinear (re-export the model with opset 13 or later)`);
  if (model.inputs.length === 0) quantizeError(`${model.label}: the graph has no inputs`);
}

/** Each planned value's scale and zero point: one range per scale group, from the group's merged histogram. */
function chooseParams(plan: QuantPlan, stats: Statistics, options: QuantizeOptions, precision: Precision, pow2: boolean): Map<string, ActivationParams & { range: RealRange }> {
  const members = new Map<string, string[]>();
  for (const v of plan.values) members.set(plan.groupOf.get(v)!, appendAll(members.get(plan.groupOf.get(v)!) ?? [], [v]));
  const out = new Map<string, ActivationParams & { range: RealRange }>();
  for (const [, values] of members) {
    const merged = new TensorHistogram(stats.histograms.get(values[0]!)!.binCount);
    for (const v of values) merged.merge(stats.histograms.get(v)!);
    const bits = precision.valueBits.get(values[0]!)!;
    const range = chooseRange(merged, { method: options.method, bits, ...(options.percentile !== undefined ? { percentile: options.percentile } : {}) });
    const p = pow2 ? powerOfTwoScale(range, bits) : affineParams(range, bits);
    for (const v of values) out.set(v, { scale: Math.fround(p.scale), zeroPoint: p.zeroPoint, range });
  }
  return out;
}

function write(model: FloatModel, plan: QuantPlan, stats: Statistics, options: QuantizeOptions, precision: Precision, pow2: boolean) {
  const params = chooseParams(plan, stats, options, precision, pow2);
  const copy = model.clone();
  const int4 = [...precision.valueBits.values(), ...precision.weightBits.values()].includes(4);
  if (int4) copy.requireOpset(21);
  const writer = new QdqWriter(copy, plan, params, {
    perChannel: options.perChannel, pow2, weightBits: precision.weightBits, valueBits: precision.valueBits,
    ...(options.biasCorrection ? { biasCorrection: stats.channelMeans } : {}),
  });
  writer.write();
  return { bytes: copy.encode([], 'vta quantize'), params, writer };
}

/** Quantize `bytes` (a float ONNX model) with `calibration` samples. */
export async function quantizeModel(bytes: Uint8Array, label: string, calibration: SampleSet, options: QuantizeOptions): Promise<QuantizeResult> {
  const model = new FloatModel(bytes, label);
  checkQuantizable(model);
  const rewrites = STRUCTURAL_PASSES.flatMap((p) => p.run(model));
  const batches = batchesFor(model, calibration, 'calibration data');
  const values: Map<string, ValueInfo> = await probeValues(model, batches);
  appendAll(rewrites, SHAPED_PASSES.flatMap((p) => p.run(model, values)));
  const plan = planQuantization(model, values);
  const precision = planPrecision(model, plan, options.bits, options.keep8bit);
  if (options.bits === 4) checkInt4Opset(model);
  const weightedInputs = model.nodes.filter((n) => plan.roles.get(n.name) === 'weighted').map((n) => n.inputs[0]!);
  const stats = await collectStatistics(model, batches, { values: plan.values, bins: binsFor(options.method), meansOf: options.biasCorrection ? weightedInputs : [], ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  const candidates = options.scales === 'auto' ? [false, true] : [options.scales === 'pow2'];
  const written = candidates.map((pow2) => ({ pow2, ...write(model, plan, stats, options, precision, pow2) }));
  let chosen = written[0]!;
  let scaleCandidates: QuantizeReport['scaleCandidates'];
  if (written.length === 2) {
    // The more accurate on the calibration samples themselves (a few runs suffice to rank them).
    const evaluations = await evaluateCandidates(bytes, written.map((w) => w.bytes), label, calibration, { maxRuns: 16 });
    const sqnr = evaluations.map((e) => minOf(e.outputs.map((o) => o.sqnrDb)));
    scaleCandidates = { float: sqnr[0]!, pow2: sqnr[1]! };
    chosen = sqnr[1]! > sqnr[0]! ? written[1]! : written[0]!;
  }
  const dequantizedName = (v: string): string => (model.outputs.includes(v) ? v : chosen.writer.dequantizedName(v));
  return {
    bytes: chosen.bytes,
    report: {
      model: label,
      method: options.method,
      given: batches.samples,
      samples: stats.samples,
      batch: batches.batch,
      scales: chosen.pow2 ? 'pow2' : 'float',
      ...(scaleCandidates ? { scaleCandidates } : {}),
      rewrites,
      values: plan.values.map((v) => {
        const p = chosen.params.get(v)!;
        return { value: v, group: plan.groupOf.get(v)!, range: p.range, scale: p.scale, zeroPoint: p.zeroPoint, dequantized: dequantizedName(v) };
      }),
      weights: chosen.writer.weights,
      floatOps: model.nodes.filter((n) => plan.roles.get(n.name) === 'float').map((n) => `${n.name} (${n.opType})`),
      bits: options.bits,
      kept8bit: precision.kept,
    },
  };
}

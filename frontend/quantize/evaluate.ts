/**
 * Float against quantized, both run by onnxruntime on the same samples: top-1 accuracy of each
 * (with labels) or top-1 agreement, the signal-to-quantization-noise ratio of every output, and
 * per quantized value (the float model's value against the quantized model's dequantized one, so
 * the layer where the SQNR drops is the layer that hurts).
 */
import { argmaxRows } from '../../lib/argmax.ts';
import type { NpyArray } from '../../lib/npy.ts';
import { FloatModel, quantizeError } from './float-model.ts';
import { batchesFor, openSession, runSession, type SampleSet } from './calibrate.ts';

export interface LayerError {
  /** The value's name in the float model. */
  value: string;
  /** The node that writes it (the graph input's name for an input). */
  producer: string;
  sqnrDb: number;
}

export interface Evaluation {
  samples: number;
  /** Top-1 accuracy against labels (0..1), of the float and the quantized model. */
  floatTop1?: number;
  quantTop1?: number;
  /** Share of samples whose top-1 class is the same for both models. */
  top1Agreement: number;
  /** SQNR (dB) of each graph output. */
  outputs: { name: string; sqnrDb: number }[];
  layers: LayerError[];
}

/** Σx² and Σ(x − y)² over every batch: the SQNR 10·log10(Σx² / Σ(x − y)²), Infinity when equal. */
class ErrorSum {
  signal = 0;
  noise = 0;
  add(x: ArrayLike<number>, y: ArrayLike<number>): void {
    for (let k = 0; k < x.length; k++) {
      this.signal += x[k]! * x[k]!;
      this.noise += (x[k]! - y[k]!) ** 2;
    }
  }
  get db(): number {
    return this.noise === 0 ? Infinity : this.signal === 0 ? -Infinity : 10 * Math.log10(this.signal / this.noise);
  }
}

export interface EvaluateOptions {
  labels?: NpyArray;
  /** Float-model value → the quantized model's name for its dequantized value, for the per-layer table. */
  layers?: ReadonlyMap<string, string>;
  /** At most this many runs (batches). */
  maxRuns?: number;
}

export async function evaluateQuantized(floatBytes: Uint8Array, quantBytes: Uint8Array, label: string, samples: SampleSet, options: EvaluateOptions = {}): Promise<Evaluation> {
  return (await evaluateCandidates(floatBytes, [quantBytes], label, samples, options))[0]!;
}

/** One Evaluation per quantized model, the float model run once per batch for all of them. */
export async function evaluateCandidates(floatBytes: Uint8Array, candidates: readonly Uint8Array[], label: string, samples: SampleSet, options: EvaluateOptions = {}): Promise<Evaluation[]> {
  const floatModel = new FloatModel(floatBytes, label);
  const batches = batchesFor(floatModel, samples, 'evaluation data');
  const runs = Math.min(batches.runs, options.maxRuns ?? Infinity);
  let used = 0;
  for (let r = 0; r < runs; r++) used += batches.size(r);
  if (options.labels && options.labels.shape[0]! < used) quantizeError(`labels: ${options.labels.shape[0]} labels for ${used} samples`);
  const layers = [...(options.layers ?? new Map<string, string>())].filter(([v]) => !floatModel.inputs.some((i) => i.name === v));
  const floatSession = await openSession(floatModel.encode(layers.map(([v]) => v).filter((v) => !floatModel.outputs.includes(v))), label);
  const quantized = await Promise.all(candidates.map(async (bytes) => {
    const model = new FloatModel(bytes, `${label} (quantized)`);
    const session = await openSession(model.encode(layers.map(([, q]) => q).filter((q) => !model.outputs.includes(q))), model.label);
    return { model, session, outputSums: floatModel.outputs.map(() => new ErrorSum()), layerSums: layers.map(() => new ErrorSum()), agree: 0, right: 0 };
  }));
  const first = floatModel.outputs[0]!;
  let floatRight = 0;
  for (let r = 0; r < runs; r++) {
    const feeds = batches.feeds(r);
    const f = await runSession(floatSession, feeds, label);
    const size = batches.size(r);
    const fTop = argmaxRows(f[first]!.data as Float32Array, f[first]!.data.length / size);
    const labelOf = (s: number): number | undefined => (options.labels ? Number(options.labels.data[r * batches.batch + s]) : undefined);
    for (let s = 0; s < size; s++) if (fTop[s] === labelOf(s)) floatRight++;
    for (const c of quantized) {
      const q = await runSession(c.session, feeds, c.model.label);
      floatModel.outputs.forEach((o, k) => c.outputSums[k]!.add(f[o]!.data as Float32Array, q[o]!.data as Float32Array));
      layers.forEach(([v, qv], k) => c.layerSums[k]!.add(f[v]!.data as Float32Array, q[qv]!.data as Float32Array));
      const qTop = argmaxRows(q[first]!.data as Float32Array, q[first]!.data.length / size);
      for (let s = 0; s < size; s++) {
        if (fTop[s] === qTop[s]) c.agree++;
        if (qTop[s] === labelOf(s)) c.right++;
      }
    }
  }
  await floatSession.release();
  for (const c of quantized) await c.session.release();
  const producers = floatModel.producers();
  return quantized.map((c) => ({
    samples: used,
    ...(options.labels ? { floatTop1: floatRight / used, quantTop1: c.right / used } : {}),
    top1Agreement: c.agree / used,
    outputs: floatModel.outputs.map((name, k) => ({ name, sqnrDb: c.outputSums[k]!.db })),
    layers: layers.map(([value], k) => ({ value, producer: producers.get(value)?.name ?? value, sqnrDb: c.layerSums[k]!.db })),
  }));
}

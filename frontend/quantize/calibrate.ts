/**
 * Running the float model with onnxruntime for statistics: the calibration samples are checked
 * against the model's own inputs (dtype, per-sample shape, finite and not constant), fed batch by
 * batch at the model's batch size (or BATCH when the batch dimension is symbolic), with the values
 * the plan names exposed as extra graph outputs; each batch feeds one histogram per value.
 */
import type { NpyArray } from '../../lib/npy.ts';
import type { FloatModel } from './float-model.ts';
import { quantizeError } from './float-model.ts';
import { TensorHistogram } from './histogram.ts';
import type { ValueInfo } from './prepare.ts';
import { ELEM } from '../onnx/read.ts';
import { loadOrt } from '../onnxruntime.ts';
import { byName, nameRecord, setName } from '../../lib/named.ts';

type OrtTensor = import('onnxruntime-node').Tensor;
type Session = import('onnxruntime-node').InferenceSession;

/** Samples per run when the model's batch dimension is symbolic. */
export const SYMBOLIC_BATCH = 8;

/** Samples for the model's inputs by name, N along the first axis of every one. */
export type SampleSet = ReadonlyMap<string, NpyArray>;

export interface Batches {
  /** Samples per run (the last run of a symbolic batch takes what remains). */
  batch: number;
  runs: number;
  /** Samples given, and used: all of them with a symbolic batch, whole batches with a fixed one. */
  samples: number;
  used: number;
  /** Samples in run `run`. */
  size(run: number): number;
  feeds(run: number): Record<string, OrtTensor>;
}

/**
 * Check `samples` against the model's inputs and cut them into runs. `what` names the data in
 * messages ("calibration data", "evaluation data").
 */
export function batchesFor(model: FloatModel, samples: SampleSet, what: string): Batches {
  const ort = loadOrt();
  let count: number | undefined;
  let batch = SYMBOLIC_BATCH;
  for (const input of model.inputs) {
    const a = samples.get(input.name);
    if (!a) quantizeError(`${what}: no samples for model input '${input.name}' (give NAME=FILE.npy for each input)`);
    if (input.elem !== ELEM.float) quantizeError(`${what}: model input '${input.name}' is not float32: only float models are quantized`);
    if (a.dtype !== 'float32') quantizeError(`${what} for '${input.name}' is ${a.dtype}, the model's input is float32`);
    const per = input.dims.slice(1);
    const given = a.shape.slice(1);
    if (a.shape.length !== input.dims.length || per.some((d, k) => typeof d === 'number' && d !== given[k])) {
      quantizeError(`${what} for '${input.name}' has shape [${a.shape.join(',')}]: expected N samples of [${per.join(',')}] (shape [N,${per.join(',')}]) for input [${input.dims.join(',')}]`);
    }
    if (count !== undefined && a.shape[0] !== count) quantizeError(`${what}: input '${input.name}' has ${a.shape[0]} samples, another input ${count}`);
    count = a.shape[0]!;
    if (typeof input.dims[0] === 'number') batch = input.dims[0];
    checkFinite(a.data as Float32Array, `${what} for '${input.name}'`, a.shape);
  }
  for (const name of samples.keys()) if (!model.inputs.some((i) => i.name === name)) quantizeError(`${what}: the model has no input '${name}' (inputs: ${model.inputs.map((i) => i.name).join(', ')})`);
  const samplesGiven = count ?? 0;
  if (samplesGiven === 0) quantizeError(`${what} holds no samples`);
  const symbolic = model.inputs.some((i) => typeof i.dims[0] !== 'number');
  if (symbolic) batch = Math.min(batch, samplesGiven);
  if (samplesGiven < batch) quantizeError(`${what} holds ${samplesGiven} sample(s), fewer than the model's batch of ${batch}`);
  const runs = symbolic ? Math.ceil(samplesGiven / batch) : Math.floor(samplesGiven / batch);
  const size = (run: number): number => Math.min(batch, samplesGiven - run * batch);
  return {
    batch, runs, samples: samplesGiven, used: symbolic ? samplesGiven : runs * batch, size,
    feeds(run) {
      const feeds = nameRecord<OrtTensor>();
      for (const input of model.inputs) {
        const a = samples.get(input.name)!;
        const per = a.shape.slice(1).reduce((x, y) => x * y, 1);
        const data = (a.data as Float32Array).subarray(run * batch * per, (run * batch + size(run)) * per);
        setName(feeds, input.name, new ort.Tensor('float32', data, [size(run), ...a.shape.slice(1)]));
      }
      return feeds;
    },
  };
}

function checkFinite(data: Float32Array, what: string, shape: number[]): void {
  const per = shape.slice(1).reduce((x, y) => x * y, 1) || 1;
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k]!)) quantizeError(`${what} holds ${data[k]} at sample ${Math.floor(k / per)}: calibration needs finite values`);
  }
  const first = data[0];
  if (data.every((x) => x === first)) quantizeError(`${what} is constant (every value is ${first}): it says nothing about the ranges the model sees`);
}

/** An onnxruntime session on `bytes`, with onnxruntime's own message on one line when it refuses. */
export async function openSession(bytes: Uint8Array, label: string): Promise<Session> {
  const ort = loadOrt();
  try {
    return await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic', logSeverityLevel: 3 });
  } catch (e) {
    quantizeError(`${label}: onnxruntime refuses the model: ${firstLine(e)}`);
  }
}

const firstLine = (e: unknown): string => String((e as Error).message ?? e).split('\n').find((l) => l.trim())?.trim() ?? 'unknown error';

export async function runSession(session: Session, feeds: Record<string, OrtTensor>, label: string): Promise<Record<string, OrtTensor>> {
  try {
    return await session.run(feeds);
  } catch (e) {
    quantizeError(`${label}: onnxruntime cannot run the model: ${firstLine(e)}`);
  }
}

/** Element type and dimensions of every node output, from one float run on the first batch. */
export async function probeValues(model: FloatModel, batches: Batches): Promise<Map<string, ValueInfo>> {
  const names = model.nodes.flatMap((n) => n.outputs).filter((o) => o && !model.outputs.includes(o));
  const session = await openSession(model.encode(names), model.label);
  const result = await runSession(session, batches.feeds(0), model.label);
  const values = new Map<string, ValueInfo>();
  for (const input of model.inputs) values.set(input.name, { type: input.elem === ELEM.float ? 'float32' : 'other', dims: [] });
  for (const name of session.outputNames) {
    const t = byName(result, name);
    if (t) values.set(name, { type: t.type, dims: [...t.dims].map(Number) });
  }
  await session.release();
  return values;
}

export interface Statistics {
  histograms: Map<string, TensorHistogram>;
  /** Per-channel (axis 1) means of the values asked for, for bias correction. */
  channelMeans: Map<string, Float64Array>;
  samples: number;
}

export interface CalibrationRun {
  values: readonly string[];
  /** Histogram bins per value. */
  bins: number;
  meansOf: readonly string[];
  onProgress?: (done: number, total: number) => void;
}

/** Run every batch and feed the histograms of the planned values. */
export async function collectStatistics(model: FloatModel, batches: Batches, run: CalibrationRun): Promise<Statistics> {
  const exposed = [...new Set([...run.values, ...run.meansOf])].filter((v) => !model.inputs.some((i) => i.name === v));
  const session = await openSession(model.encode(exposed.filter((v) => !model.outputs.includes(v))), model.label);
  const histograms = new Map(run.values.map((v) => [v, new TensorHistogram(run.bins)]));
  const sums = new Map<string, { sum: Float64Array; count: number }>();
  for (let r = 0; r < batches.runs; r++) {
    const feeds = batches.feeds(r);
    const result = await runSession(session, feeds, model.label);
    const valueOf = (name: string): OrtTensor | undefined => byName(result, name) ?? byName(feeds, name);
    for (const [name, h] of histograms) {
      const t = valueOf(name);
      if (!t) quantizeError(`${model.label}: onnxruntime gave no value for '${name}'`);
      h.observe(t.data as Float32Array);
      if (h.nonFinite > 0) quantizeError(`${model.label}: value '${name}' is not finite on calibration batch ${r} (the float model overflows or divides by zero on this data)`);
    }
    for (const name of run.meansOf) {
      const t = valueOf(name);
      if (t) accumulateChannelSums(sums, name, t);
    }
    run.onProgress?.(r + 1, batches.runs);
  }
  await session.release();
  const channelMeans = new Map([...sums].map(([name, s]) => [name, s.sum.map((x) => x / s.count)]));
  return { histograms, channelMeans, samples: batches.used };
}

function accumulateChannelSums(sums: Map<string, { sum: Float64Array; count: number }>, name: string, t: OrtTensor): void {
  const dims = [...t.dims].map(Number);
  const channels = dims[1] ?? 1;
  const inner = dims.slice(2).reduce((a, b) => a * b, 1);
  const outer = dims[0] ?? 1;
  const data = t.data as Float32Array;
  const entry = sums.get(name) ?? { sum: new Float64Array(channels), count: 0 };
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      let s = 0;
      const base = (o * channels + c) * inner;
      for (let k = 0; k < inner; k++) s += data[base + k]!;
      entry.sum[c] = entry.sum[c]! + s;
    }
  }
  entry.count += outer * inner;
  sums.set(name, entry);
}

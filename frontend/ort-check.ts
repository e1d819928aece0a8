/**
 * The run's comparison with onnxruntime: the ONNX model run by onnxruntime (CPU, graph optimizations
 * disabled, so it evaluates the operators as specified) on the same tensors the user fed, batch by
 * batch, against the graph outputs VTA produced, in units of each output's quantization step. The
 * imported graph's inputs and outputs are the ONNX graph's (same names, dtypes and shapes), so
 * tensors pass by name unchanged.
 */
import { VtaError } from '../lib/errors.ts';
import { argmaxRows } from '../lib/argmax.ts';
import { loadOrt } from './onnxruntime.ts';
import type { Graph, Tensor } from '../graph/ir.ts';
import { inferShapes } from '../graph/load.ts';
import { byName, nameRecord } from '../lib/named.ts';
import { readFileCapped } from '../lib/files.ts';
import { onnx } from './onnx-builder.ts';
import { decodeModelProto } from './onnx/read.ts';
import { FILE_LIMITS } from '../lib/limits.ts';

/** Largest step count reported separately: within 0, 1 and 2 steps. */
const STEP_BANDS = [0, 1, 2] as const;
/** Ops that move values without changing them: a dequantize before them still sets the step. */
const VALUE_PRESERVING = new Set(['reshape', 'flatten', 'transpose']);

/**
 * The quantization step of graph output `output`: the (per-tensor) scale of the `dequantize` node
 * that produces it, through reshapes; 1 for an integer output; undefined for any other float output.
 */
export function outputStep(graph: Graph, output: string): number | undefined {
  const producer = new Map(graph.nodes.map((n) => [n.output, n]));
  let node = producer.get(output);
  while (node && VALUE_PRESERVING.has(node.op)) node = producer.get(node.inputs[0]!);
  if (node?.op === 'dequantize') {
    const scale = (node.attrs as { scale: number[] }).scale;
    return scale.length === 1 ? scale[0] : undefined;
  }
  return inferShapes(graph).get(output)?.dtype === 'float32' ? undefined : 1;
}

export interface OutputAgreement {
  output: string;
  /** The output as the run wrote it (all batches): dtype and shape. */
  dtype: string;
  shape: number[];
  /** Its quantization step (see outputStep); undefined: differences are absolute. */
  step?: number;
  /** Largest |VTA − onnxruntime|, in steps (absolute without a step). */
  maxDiff: number;
  /** Share of values (0..1) within 0, 1 and 2 steps of onnxruntime's (only 0, exact, without a step). */
  within: number[];
  /** For a 2-D [batch, classes] output: rows (samples) whose argmax agrees, of all rows. */
  top1?: { agree: number; total: number };
  /** Every row's argmax over the last axis agrees. */
  argmaxAgrees: boolean;
}

export interface OnnxComparison {
  model: string;
  /** Batches compared (k). */
  batches: number;
  outputs: OutputAgreement[];
  /** The import's notes: each approximation and its stated error bound. */
  notes: string[];
  /** Some requantizations are approximations (their bounds are in the notes). */
  approximated: boolean;
}

/** The ONNX names onnxruntime reports, each checked to be a graph input or output of the same name. */
function checkInterface(graph: Graph, ortInputs: readonly string[], ortOutputs: readonly string[], ortName: (name: string) => string): void {
  const graphInputs = new Set(graph.inputs.map((i) => ortName(i.name)));
  const graphOutputs = new Set(graph.outputs.map(ortName));
  const missing = ortInputs.find((n) => !graphInputs.has(n)) ?? ortOutputs.find((n) => !graphOutputs.has(n))
    ?? [...graphInputs].find((n) => !ortInputs.includes(n)) ?? [...graphOutputs].find((n) => !ortOutputs.includes(n));
  if (missing !== undefined) throw new VtaError('E_ORT', `onnxruntime's ${missing} is not an input or output of the imported graph ${graph.name}`);
}

/**
 * onnxruntime's JavaScript API passes tensors in plain objects, where a tensor named `__proto__`
 * (or another Object.prototype key) is lost. Such models go to it with those tensors renamed:
 * the model's bytes and the new name of each renamed tensor; undefined when no name needs it.
 */
function ortSafeNames(onnxPath: string): { bytes: Uint8Array; renamed: Map<string, string> } | undefined {
  const bytes = readFileCapped(onnxPath, FILE_LIMITS.model);
  const model = decodeModelProto(bytes, onnxPath);
  const g = model.graph;
  const nodes = g.node ?? [];
  const all = new Set<string>([
    ...(g.input ?? []).map((v) => v.name ?? ''), ...(g.output ?? []).map((v) => v.name ?? ''), ...(g.initializer ?? []).map((t) => t.name ?? ''),
    ...nodes.flatMap((n) => [...(n.input ?? []), ...(n.output ?? [])]),
  ]);
  const renamed = new Map<string, string>();
  for (const name of all) {
    if (!(name in Object.prototype)) continue;
    let fresh = `vta_ort_${renamed.size}`;
    while (all.has(fresh)) fresh += '_';
    renamed.set(name, fresh);
  }
  if (renamed.size === 0) return undefined;
  const rename = (name: string | null | undefined) => renamed.get(name ?? '') ?? name;
  for (const list of [g.input, g.output, g.valueInfo, g.initializer]) for (const v of list ?? []) v.name = rename(v.name);
  for (const n of nodes) {
    n.input = (n.input ?? []).map((x) => rename(x)!);
    n.output = (n.output ?? []).map((x) => rename(x)!);
  }
  return { bytes: onnx.ModelProto.encode(model).finish(), renamed };
}

/** Running totals of one output over the batches. */
class Agreement {
  maxDiff = 0;
  count = 0;
  readonly within: number[];
  agreeRows = 0;
  rows = 0;
  dtype = '';
  rowShape: number[] = [];
  constructor(readonly output: string, readonly step: number | undefined) {
    this.within = this.step === undefined ? [0] : STEP_BANDS.map(() => 0);
  }

  add(vta: Tensor, ort: ArrayLike<number>): void {
    this.dtype = vta.dtype;
    this.rowShape = vta.shape;
    const unit = this.step ?? 1;
    for (let i = 0; i < vta.data.length; i++) {
      // Float outputs are (q − zp)·scale on both sides: a difference is a whole number of steps up to float rounding.
      const d = Math.abs(vta.data[i]! - ort[i]!) / unit;
      this.maxDiff = Math.max(this.maxDiff, d);
      this.within.forEach((_, n) => { if (d <= n + 1e-3) this.within[n]!++; });
    }
    this.count += vta.data.length;
    const got = argmaxRows(vta.data, vta.shape[vta.shape.length - 1] ?? 1);
    const want = argmaxRows(ort, vta.shape[vta.shape.length - 1] ?? 1);
    this.agreeRows += got.filter((v, r) => v === want[r]).length;
    this.rows += got.length;
  }

  report(batches: number): OutputAgreement {
    const [n, ...rest] = this.rowShape;
    return {
      output: this.output, dtype: this.dtype, shape: [n! * batches, ...rest],
      ...(this.step !== undefined ? { step: this.step } : {}),
      maxDiff: this.step === undefined ? this.maxDiff : Math.round(this.maxDiff * 1000) / 1000,
      within: this.within.map((c) => c / this.count),
      ...(this.rowShape.length === 2 ? { top1: { agree: this.agreeRows, total: this.rows } } : {}),
      argmaxAgrees: this.agreeRows === this.rows,
    };
  }
}

/**
 * Run the ONNX model with onnxruntime on each batch's inputs (the graph's inputs by name) and
 * compare its outputs with the graph outputs VTA produced for that batch. `imported` is the import
 * of `onnxPath`: its notes (the stated error of each approximation) and, when given, its
 * approximations.
 */
export async function compareWithOnnxruntime(
  onnxPath: string,
  graph: Graph,
  batches: readonly { inputs: ReadonlyMap<string, Tensor>; outputs: ReadonlyMap<string, Tensor> }[],
  imported: { notes: string[] },
): Promise<OnnxComparison> {
  const ort = loadOrt();
  let session;
  let ortName = (name: string) => name;
  try {
    const safe = ortSafeNames(onnxPath);
    if (safe) ortName = (name) => safe.renamed.get(name) ?? name;
    const options = { graphOptimizationLevel: 'disabled', executionProviders: ['cpu'] } as const;
    session = safe ? await ort.InferenceSession.create(safe.bytes, options) : await ort.InferenceSession.create(onnxPath, options);
  } catch (e) {
    throw new VtaError('E_ORT', `onnxruntime refused ${onnxPath}: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    const inputNames = graph.inputs.map((i) => i.name);
    checkInterface(graph, session.inputNames, session.outputNames, ortName);
    const totals = graph.outputs.map((name) => new Agreement(name, outputStep(graph, name)));
    for (const batch of batches) {
      const feeds = nameRecord(inputNames.map((name) => {
        const t = batch.inputs.get(name)!;
        return [ortName(name), new ort.Tensor(t.dtype, t.data, t.shape)] as const;
      }));
      const results = await session.run(feeds);
      graph.outputs.forEach((name, n) => {
        totals[n]!.add(batch.outputs.get(name)!, Array.from(byName(results, ortName(name))!.data as ArrayLike<number>, Number));
      });
    }
    const approximations = (imported as { approximations?: unknown[] }).approximations;
    return {
      model: graph.name, batches: batches.length, outputs: totals.map((t) => t.report(batches.length)), notes: imported.notes,
      approximated: approximations ? approximations.length > 0 : imported.notes.length > 0,
    };
  } finally {
    await session.release();
  }
}

const percent = (share: number) => `${(100 * share).toFixed(share === 1 ? 0 : 1)}%`;

/** One line per output, then (when they differ) the import's stated error that bounds the difference. */
export function formatOnnxComparison(c: OnnxComparison): string[] {
  const lines = c.outputs.map((o) => {
    const unit = o.step === undefined ? ' (absolute: no quantization step)' : ` step${o.maxDiff === 1 ? '' : 's'} (step ${Number(o.step.toPrecision(6))})`;
    const within = o.step === undefined ? `${percent(o.within[0]!)} exact` : STEP_BANDS.map((n) => `${percent(o.within[n]!)} within ${n}`).join(', ');
    const top1 = o.top1 ? `; top-1 agrees on ${o.top1.agree} of ${o.top1.total} samples` : '';
    return `${o.output} ${o.dtype}[${o.shape.join(',')}]: max difference ${o.maxDiff}${unit}; ${within}${top1}`;
  });
  if (c.outputs.every((o) => o.maxDiff === 0)) return lines;
  if (c.notes.length) return [...lines, 'the difference is bounded by the import\'s stated error:', ...c.notes.map((n) => `  ${n}`)];
  return [...lines, 'the import states no approximation: the difference is rounding (where the model rounds half up, ONNX half to even), grown through the layers'];
}

/**
 * Cross-check of the ONNX frontend: run the ONNX model with onnxruntime (CPU) and the imported
 * graph with runReference on the same quantized input, and compare every model output in units
 * of its last place (the IR integer). onnxruntime runs with graph optimizations disabled, so it
 * evaluates the ONNX operators as specified (float ops on dequantized values, QuantizeLinear
 * rounding half to even) rather than its own fused kernels.
 *
 * The reference is run twice. With the IR's rounding (requantize rounds half up, ONNX rounds half
 * to even) an output differs by 1 where it fell exactly on a tie, and a tie in an earlier layer can
 * grow through the later ones (cnn.onnx: up to 2 ulp in the logits). With the reference rounding
 * half to even (`exactWithOnnxRounding`) the comparison must be exact: that checks the import.
 */
import { createRequire } from 'node:module';
import { VtaError } from '../lib/errors.ts';
import type { Graph, Tensor } from '../graph/ir.ts';
import { inferShapes } from '../graph/load.ts';
import { runReference } from '../graph/reference.ts';
import { importOnnx, type ImportOptions, type ImportResult } from './onnx/import.ts';

const require = createRequire(import.meta.url);

export interface OutputComparison {
  output: string;
  shape: number[];
  /** With the reference rounding like ONNX (half to even): proves the import itself is exact. */
  exactWithOnnxRounding: boolean;
  /** Largest |onnxruntime − reference| in units of the output's scale (the IR integer). */
  maxDiff: number;
  /** Number of elements that differ. */
  differing: number;
  exact: boolean;
  /** argmax over the last axis, per row, agrees between the two. */
  argmaxAgrees: boolean;
  ortArgmax: number[];
  refArgmax: number[];
}

export interface CrossCheckReport {
  model: string;
  outputs: OutputComparison[];
  notes: string[];
  /** Some requantizations are fixed-point approximations (scales 'vta'): differences are expected. */
  approximated: boolean;
}

type Ort = typeof import('onnxruntime-node');

function loadOrt(): Ort {
  try {
    return require('onnxruntime-node') as Ort;
  } catch (e) {
    throw new VtaError('E_ORT', `onnxruntime-node cannot be loaded: ${(e as Error).message.split('\n')[0]}`);
  }
}

function argmaxRows(values: ArrayLike<number>, shape: number[]): number[] {
  const row = shape[shape.length - 1] ?? 1;
  const out: number[] = [];
  for (let r = 0; r * row < values.length; r++) {
    let best = 0;
    for (let k = 1; k < row; k++) if (values[r * row + k]! > values[r * row + best]!) best = k;
    out.push(best);
  }
  return out;
}

/**
 * Compare onnxruntime and runReference on `inputs`, keyed by ONNX input name and given as the
 * quantized int8 tensors (what the imported graph takes; float ONNX inputs get q · scale).
 */
export async function crossCheckOnnx(
  onnxPath: string,
  inputs: Record<string, Tensor>,
  opts: ImportOptions = {},
  imported?: ImportResult,
): Promise<CrossCheckReport> {
  const ort = loadOrt();
  const imp = imported ?? importOnnx(onnxPath, opts);
  const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
  const irInputs: Record<string, Tensor> = {};
  for (const [onnxName, info] of Object.entries(imp.inputs)) {
    const q = inputs[onnxName];
    if (!q) throw new VtaError('E_INPUT', `input '${onnxName}' of ${onnxPath} is missing`);
    irInputs[info.tensor] = q;
    feeds[onnxName] = info.float
      ? new ort.Tensor('float32', Float32Array.from(q.data, (v) => v * info.scale), q.shape)
      : new ort.Tensor('int8', Int8Array.from(q.data), q.shape);
  }
  const reference = runReference(imp.graph, irInputs);
  const referenceHalfEven = runReference(imp.graph, irInputs, 'half-even');
  let session;
  try {
    session = await ort.InferenceSession.create(onnxPath, { graphOptimizationLevel: 'disabled', executionProviders: ['cpu'] });
  } catch (e) {
    throw new VtaError('E_ORT', `onnxruntime refused ${onnxPath}: ${(e as Error).message.split('\n')[0]}`);
  }
  const results = await session.run(feeds);
  await session.release();
  const outputs: OutputComparison[] = [];
  for (const [onnxName, info] of Object.entries(imp.outputs)) {
    const got = results[onnxName];
    const ref = reference[info.tensor]!;
    if (!got) throw new VtaError('E_ORT', `onnxruntime did not produce output '${onnxName}'`);
    // A float output is q · scale rounded to float32: snap to the integer q when that explains it.
    const ortUnits = Array.from(got.data as ArrayLike<number>, (v) => {
      const u = Number(v) / info.scale;
      return Math.abs(u - Math.round(u)) <= 1e-5 * Math.max(1, Math.abs(u)) ? Math.round(u) : u;
    });
    let maxDiff = 0;
    let differing = 0;
    ortUnits.forEach((v, k) => {
      const d = Math.abs(v - ref.data[k]!);
      if (d !== 0) differing++;
      maxDiff = Math.max(maxDiff, d);
    });
    const ortArgmax = argmaxRows(ortUnits, ref.shape);
    const refArgmax = argmaxRows(ref.data, ref.shape);
    const even = referenceHalfEven[info.tensor]!;
    outputs.push({
      output: onnxName, shape: ref.shape, exactWithOnnxRounding: ortUnits.every((v, k) => v === even.data[k]), maxDiff, differing, exact: maxDiff === 0,
      argmaxAgrees: ortArgmax.every((v, k) => v === refArgmax[k]), ortArgmax, refArgmax,
    });
  }
  return { model: imp.graph.name, outputs, notes: imp.notes, approximated: imp.approximations.length > 0 };
}

/** One line per output, for the demo and the CLI. */
export function formatCrossCheck(r: CrossCheckReport): string {
  return r.outputs
    .map((o) => `${r.model}/${o.output}: ${o.exact ? 'exact' : `max difference ${o.maxDiff} ulp in ${o.differing} of ${o.shape.reduce((a, b) => a * b, 1)} values`}` +
      `, argmax ${o.argmaxAgrees ? 'agrees' : 'DIFFERS'} (${o.refArgmax.join(',')})` +
      (o.exact ? '' : r.approximated
        ? '; the model was imported with fixed-point requantization (--scales vta): see the notes for each step\'s bound'
        : `; with ONNX rounding (half to even) ${o.exactWithOnnxRounding ? 'exact: the difference is rounding ties only' : 'NOT exact'}`))
    .join('\n');
}

/*
 * The run's own comparison: VTA's outputs against onnxruntime's on the model's interface (the same
 * tensors the user fed, batch by batch), in units of each output's quantization step.
 */

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

/** How an ONNX input / output is fed from / read into a graph tensor. */
interface Binding {
  inputs: { onnx: string; tensor: string; toOrt: (t: Tensor) => Tensor }[];
  outputs: { onnx: string; tensor: string; fromOrt: (v: number, ortDtype: string) => number }[];
}

/** The importer's interface description, read loosely: only an import that renamed tensors has it. */
interface LegacyInterface {
  inputs?: Record<string, { tensor: string; scale: number; float?: boolean }>;
  outputs?: Record<string, { tensor: string; scale: number }>;
}

/**
 * ONNX names to graph tensors. The graph's inputs and outputs are the ONNX graph's (same names and
 * types): identity. An import that quantized the interface (int8 graph inputs for float ONNX
 * inputs) is bridged through its own description: q·scale in, value/scale out.
 */
function bindInterface(graph: Graph, ortInputs: readonly string[], ortOutputs: readonly string[], imported: unknown): Binding {
  const graphInputs = new Set(graph.inputs.map((i) => i.name));
  const graphOutputs = new Set(graph.outputs);
  if (ortInputs.every((n) => graphInputs.has(n)) && ortOutputs.every((n) => graphOutputs.has(n))) {
    return {
      inputs: ortInputs.map((n) => ({ onnx: n, tensor: n, toOrt: (t) => t })),
      outputs: ortOutputs.map((n) => ({ onnx: n, tensor: n, fromOrt: (v) => v })),
    };
  }
  const legacy = (imported ?? {}) as LegacyInterface;
  const missing = ortInputs.find((n) => !legacy.inputs?.[n]) ?? ortOutputs.find((n) => !legacy.outputs?.[n]);
  if (missing !== undefined) throw new VtaError('E_ORT', `onnxruntime's ${missing} is not an input or output of the imported graph ${graph.name}`);
  return {
    inputs: ortInputs.map((n) => {
      const { tensor, scale, float } = legacy.inputs![n]!;
      return { onnx: n, tensor, toOrt: (t) => (float ? { dtype: 'float32', shape: t.shape, data: Float32Array.from(t.data, (v) => v * scale) } : t) };
    }),
    outputs: ortOutputs.map((n) => {
      const { tensor, scale } = legacy.outputs![n]!;
      return { onnx: n, tensor, fromOrt: (v, ortDtype) => (ortDtype === 'float32' ? snapToInteger(v / scale) : v) };
    }),
  };
}

/** A float that is an integer up to float32 rounding, as that integer. */
function snapToInteger(u: number): number {
  return Math.abs(u - Math.round(u)) <= 1e-5 * Math.max(1, Math.abs(u)) ? Math.round(u) : u;
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
    const got = argmaxRows(vta.data, vta.shape);
    const want = argmaxRows(ort, vta.shape);
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
 * of `onnxPath`: its notes (the stated error of each approximation), read loosely beyond that
 * (its approximations; an older import's description of a renamed interface).
 */
export async function compareWithOnnxruntime(
  onnxPath: string,
  graph: Graph,
  batches: readonly { inputs: ReadonlyMap<string, Tensor>; outputs: ReadonlyMap<string, Tensor> }[],
  imported: { notes: string[] },
): Promise<OnnxComparison> {
  const ort = loadOrt();
  let session;
  try {
    session = await ort.InferenceSession.create(onnxPath, { graphOptimizationLevel: 'disabled', executionProviders: ['cpu'] });
  } catch (e) {
    throw new VtaError('E_ORT', `onnxruntime refused ${onnxPath}: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    const binding = bindInterface(graph, session.inputNames, session.outputNames, imported);
    const totals = binding.outputs.map((o) => new Agreement(o.onnx, outputStep(graph, o.tensor)));
    for (const batch of batches) {
      const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
      for (const i of binding.inputs) {
        const t = i.toOrt(batch.inputs.get(i.tensor)!);
        feeds[i.onnx] = new ort.Tensor(t.dtype, t.data, t.shape);
      }
      const results = await session.run(feeds);
      binding.outputs.forEach((o, n) => {
        const got = results[o.onnx]!;
        const values = Array.from(got.data as ArrayLike<number>, (v) => o.fromOrt(Number(v), got.type));
        totals[n]!.add(batch.outputs.get(o.tensor)!, values);
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

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
import type { Tensor } from '../graph/ir.ts';
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

/**
 * Test helper: onnxruntime on an imported model's own interface (the graph's inputs and outputs are
 * the ONNX graph's), differences counted in output quantization steps; and the bridge from the
 * example models' int8 .npy inputs (pre-quantized) to the float32 the models take.
 */
import { outputStep as stepOf } from '../../frontend/ort-check.ts';
import { createRequire } from 'node:module';
import type { Graph, Tensor } from '../../graph/ir.ts';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node');

/** The scale of the quantize node that reads graph input `name`. */
function inputScale(graph: Graph, name: string): number {
  const q = graph.nodes.find((n) => n.op === 'quantize' && n.inputs[0] === name);
  return (q?.attrs as { scale: number[] } | undefined)?.scale[0] ?? 1;
}

/** A pre-quantized int8 input as the float32 the model takes: q · scale (exact, quantizes back to q). */
export function floatInput(graph: Graph, name: string, q: Tensor): Tensor {
  if (q.dtype === 'float32') return q;
  const s = inputScale(graph, name);
  return { shape: q.shape, dtype: 'float32', data: Float32Array.from(q.data, (v) => Math.fround(v * s)) };
}

/** One output step: the scale of the dequantize that produces the output (1 for integer outputs). */
export function outputStep(graph: Graph, output: string): number {
  return stepOf(graph, output) ?? 1;
}

export interface Agreement {
  output: string;
  /** Largest |ours − onnxruntime| in output steps. */
  maxDiff: number;
  exact: boolean;
  argmaxAgrees: boolean;
}

const argmax = (v: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
};

/** onnxruntime on `feeds`, compared with `ours` (the graph's outputs by name). */
export async function compareWithOrt(path: string, graph: Graph, feeds: Record<string, Tensor>, ours: Record<string, Tensor>): Promise<Agreement[]> {
  const session = await ort.InferenceSession.create(path);
  const ortFeeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor(t.dtype, t.data as Float32Array, t.shape);
  const got = await session.run(ortFeeds);
  await session.release();
  return graph.outputs.map((o) => {
    const a = ours[o]!.data;
    const b = got[o]!.data as ArrayLike<number>;
    const step = outputStep(graph, o);
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(Number(a[i]) - Number(b[i])) / step);
    const maxDiff = Math.round(d * 1e4) / 1e4;
    return { output: o, maxDiff, exact: maxDiff === 0, argmaxAgrees: argmax(a) === argmax(b) };
  });
}

/**
 * The bit width of every quantized value and weight: `bits` everywhere, except 8 bits for the
 * layers the user keeps (`--keep-8bit NAME...`: their weights and the activations they read) and
 * for graph outputs (the model's interface: logits keep 256 levels). A scale group takes the widest
 * width of its members (they share one scale and zero point).
 *
 * How a width is written (qdq.ts): 8 bits as int8; 4 bits as ONNX's INT4 (opset 21), which
 * onnxruntime runs and saturates to [−8, 7]; 2 bits as int8 containers: Q → DQ (int8), a float
 * Clip to the 2-bit grid's ends, Q → DQ again (onnxruntime 1.30 runs opset-25 INT2 Q/DQ only with
 * its graph optimizations off, and a Clip between Q and DQ is not valid QDQ; a Clip before the
 * first Q would clip the accumulator, whose scale is per channel).
 */
import { quantizeError, type FloatModel } from './float-model.ts';
import type { QuantPlan } from './plan.ts';

export const SUPPORTED_BITS = [2, 4, 8] as const;

export interface Precision {
  /** Bits of each planned value, by value name. */
  valueBits: Map<string, number>;
  /** Bits of each weighted node's weight, by node name. */
  weightBits: Map<string, number>;
  /** The weighted nodes kept at 8 bits (a subset of --keep-8bit, all of it when valid). */
  kept: string[];
}

/** Widths per value and weight; refuses a kept name that is not a weighted node of the model. */
export function planPrecision(model: FloatModel, plan: QuantPlan, bits: number, keep8bit: readonly string[] = []): Precision {
  if (!SUPPORTED_BITS.includes(bits as 8)) quantizeError(`--bits ${bits}: supported widths are ${SUPPORTED_BITS.join(', ')}`);
  const weighted = model.nodes.filter((n) => plan.roles.get(n.name) === 'weighted');
  const kept = new Set(keep8bit);
  for (const name of kept) {
    if (!weighted.some((n) => n.name === name)) {
      quantizeError(`--keep-8bit ${name}: no weighted node (Conv, Gemm, MatMul) of ${model.label} has that name (they are ${weighted.map((n) => n.name).join(', ')})`);
    }
  }
  const weightBits = new Map(weighted.map((n) => [n.name, kept.has(n.name) ? 8 : bits]));
  const wide = new Set<string>(model.outputs);
  for (const n of model.nodes) if (kept.has(n.name)) for (const i of n.inputs) wide.add(i);
  const groupWide = new Set<string>();
  for (const v of plan.values) if (wide.has(v)) groupWide.add(plan.groupOf.get(v)!);
  const valueBits = new Map(plan.values.map((v) => [v, groupWide.has(plan.groupOf.get(v)!) ? 8 : bits]));
  return { valueBits, weightBits, kept: [...kept] };
}

/** ONNX ops whose signature changed between opset 13 and 21 (the INT4 form needs opset 21). */
const CHANGED_BY_OPSET_21 = new Set(['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare', 'Split', 'Resize']);

/** Refuses a model that INT4 Q/DQ (opset 21) cannot be written into without changing its other ops. */
export function checkInt4Opset(model: FloatModel): void {
  if (model.opset >= 21) return;
  const changed = model.nodes.find((n) => CHANGED_BY_OPSET_21.has(n.opType));
  if (changed) quantizeError(`${model.label}: 4-bit values are written as INT4 of opset 21, but node ${changed.name} (${changed.opType}) is opset ${model.opset} and changed since: re-export the model with opset 21`);
}

/**
 * Static bounds of a kernel's accumulator, per output channel, from its weights, its constants and
 * the int8 input range: the proof that a requantize the ALU runs (half-even, or a per-channel
 * multiplier) cannot overflow int32, |acc|·m + 2^(n−1) < 2^31. The wrapping arithmetic would still
 * match the IR bit for bit; the bound keeps the result equal to the exact rounding the model means.
 */
import type { Graph, GraphNode, TensorTypes } from '../graph/ir.ts';
import type { EpilogueOp, ScaledOperand } from './fuse.ts';
import { constData } from './pack.ts';
import { byName } from '../lib/named.ts';
import { rowSums } from '../lib/array-loops.ts';

/** Largest |v| per output channel (one entry: the same for every channel). */
export type Bound = number[];

const INT8_ABS_MAX = 128;
const LIMIT = 2 ** 31;
const at = (b: Bound, c: number) => (b.length === 1 ? b[0]! : b[c]!);

/**
 * |anchor output| per channel: Σ|w| · |x| for a GEMM, Σ 128·|scale| over the operands of an add.
 * |x| is 128 (any int8) unless the caller knows better (a narrow config proves |x| ≤ 8 or 2).
 */
export function anchorBound(n: GraphNode, scaled: ScaledOperand[] | undefined, graph: Graph, types: TensorTypes, inputAbsMax = INT8_ABS_MAX): Bound {
  if (n.op === 'add') return [(scaled ?? [{ scale: 1 }, { scale: 1 }]).reduce((s, o) => s + INT8_ABS_MAX * Math.abs(o.scale), 0)];
  const name = n.inputs[1]!;
  const w = constData(name, byName(graph.tensors, name)!);
  const channels = types.get(name)!.shape[0]!;
  return rowSums(w, channels, true).map((s) => s * inputAbsMax);
}

/** The multiplier of each channel of a requantize step. */
function multipliers(e: Extract<EpilogueOp, { kind: 'requantize' }>, graph: Graph): number[] {
  return e.perChannel ? Array.from(constData(e.perChannel, byName(graph.tensors, e.perChannel)!)) : [e.multiplier];
}

/** Why the step may overflow int32 on the bound, or undefined (checked for the new ALU requantizations only). */
export function overflowProblem(b: Bound, e: EpilogueOp, graph: Graph): string | undefined {
  if (e.kind !== 'requantize' || !(e.halfEven || e.perChannel)) return undefined;
  const m = multipliers(e, graph);
  const half = e.shift > 0 ? 2 ** (e.shift - 1) : 0;
  const channels = Math.max(b.length, m.length);
  for (let c = 0; c < channels; c++) {
    const worst = at(b, c) * Math.abs(at(m, c)) + half;
    if (worst >= LIMIT) {
      return `int32 overflow not ruled out: |acc| ≤ ${at(b, c)} on channel ${c}, times multiplier ${at(m, c)}, plus 2^${e.shift - 1} reaches ${worst} ≥ 2^31`;
    }
  }
  return undefined;
}

/**
 * Whether the ALU form of a requantize step provably stays within int32 on the bound: then it
 * rounds monotonically and maps 0 to 0, as the exact rounding does (the epilogue uses it to drop
 * bounds the values already satisfy). A half-up step with a multiplier splits its rounding term
 * around the MUL, so only its plain-shift form is claimed.
 */
export function cannotOverflow(b: Bound, e: EpilogueOp, graph: Graph): boolean {
  if (e.kind !== 'requantize' || !(e.halfEven || e.perChannel || e.multiplier === 1)) return false;
  const m = multipliers(e, graph);
  const half = e.shift > 0 ? 2 ** (e.shift - 1) : 0;
  const channels = Math.max(b.length, m.length);
  for (let c = 0; c < channels; c++) if (at(b, c) * Math.abs(at(m, c)) + half >= LIMIT) return false;
  return true;
}

/** The bound after one epilogue step (conservative). */
export function boundAfter(b: Bound, e: EpilogueOp, graph: Graph): Bound {
  switch (e.kind) {
    case 'bias': {
      const bias = constData(e.bias, byName(graph.tensors, e.bias)!);
      return Array.from(bias, (v, c) => at(b, c) + Math.abs(v));
    }
    case 'addConst':
      return b.map((v) => v + Math.abs(e.value));
    case 'requantize': {
      const m = multipliers(e, graph);
      const channels = Math.max(b.length, m.length);
      return Array.from({ length: channels }, (_, c) => Math.floor((at(b, c) * Math.abs(at(m, c)) + 2 ** Math.max(0, e.shift - 1)) / 2 ** e.shift) + 1);
    }
    case 'max':
    case 'min':
      return b.map((v) => Math.max(v, Math.abs(e.value)));
  }
}

/** The bound after a clip to [lo, hi] (MAX lo, then MIN hi): the larger |clip(±b)|. */
export function boundAfterClip(b: Bound, lo: number, hi: number): Bound {
  const clip = (v: number) => Math.min(Math.max(v, lo), hi);
  return b.map((v) => Math.max(Math.abs(clip(-v)), Math.abs(clip(v))));
}

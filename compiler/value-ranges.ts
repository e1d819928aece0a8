/**
 * The values each tensor of a graph can take, as an interval, for the narrow-width configs: a
 * kernel may run on a 4-bit (or 2-bit) VTA only when its input and weights provably fit the
 * narrow signed range, and a STORE keeps the low bits only. The evidence is the graph itself:
 * clips (a QuantizeLinear to INT4 imports as a clip to [−8, 7]), relus and casts bound a tensor,
 * constants bound themselves, and monotone steps (requantize, bias_add, add, quantize, pooling,
 * layout ops) carry bounds through. Anything else has its dtype's range.
 */
import { signedRange } from '../isa/elements.ts';
import { DTYPE_INFO } from '../lib/dtype.ts';
import type { Graph, GraphNode, OpAttrs, TensorTypes } from '../graph/ir.ts';
import { roundHalfEven, roundingShift } from '../graph/semantics/rounding.ts';
import { constData } from './pack.ts';
import { maxOf, minOf } from '../lib/array-loops.ts';

export interface ValueRange {
  min: number;
  max: number;
}

const INT32: ValueRange = { min: -(2 ** 31), max: 2 ** 31 - 1 };

const union = (rs: ValueRange[]): ValueRange => ({ min: minOf(rs.map((r) => r.min)), max: maxOf(rs.map((r) => r.max)) });
const within = (r: ValueRange, outer: ValueRange): boolean => r.min >= outer.min && r.max <= outer.max;
/** A sum or product that may leave int32 wraps: then nothing is known. */
const int32OrAll = (r: ValueRange): ValueRange => (within(r, INT32) ? r : INT32);

/** The interval of every tensor (graph inputs, constants, node outputs), by name. */
export function valueRanges(graph: Graph, types: TensorTypes): Map<string, ValueRange> {
  const ranges = new Map<string, ValueRange>();
  const dtypeRange = (t: string): ValueRange => {
    const { min, max } = DTYPE_INFO[types.get(t)!.dtype];
    return { min, max };
  };
  for (const i of graph.inputs) ranges.set(i.name, dtypeRange(i.name));
  for (const [name, c] of Object.entries(graph.tensors)) {
    const data = constData(name, c);
    ranges.set(name, data.length === 0 ? { min: 0, max: 0 } : union(Array.from(data, (v) => ({ min: v, max: v }))));
  }
  for (const n of graph.nodes) {
    const own = dtypeRange(n.output);
    const derived = nodeRange(n, n.inputs.map((t) => ranges.get(t) ?? dtypeRange(t)));
    // A bound beyond the output dtype means the value may wrap (a cast keeps the low bits): then
    // only the dtype's range is known.
    ranges.set(n.output, derived && within(derived, own) ? derived : own);
  }
  return ranges;
}

/** A clip's bounds met with its input's; an empty meet (the input lies wholly beyond one bound) is that bound. */
function clipped(x: ValueRange, min: number, max: number): ValueRange {
  const lo = Math.min(Math.max(x.min, min), max);
  const hi = Math.max(Math.min(x.max, max), min);
  return { min: lo, max: hi };
}

/** The bound of a node's output from its inputs' bounds, or undefined: only the dtype bounds it. */
function nodeRange(n: GraphNode, ins: ValueRange[]): ValueRange | undefined {
  const x = ins[0]!;
  switch (n.op) {
    case 'clip': {
      const { min, max } = n.attrs as OpAttrs['clip'];
      return clipped(x, min, max);
    }
    case 'relu':
      return { min: Math.max(0, x.min), max: Math.max(0, x.max) };
    case 'cast':
      // A cast wraps the low bits: it keeps a bound that fits its dtype (intersected by the caller).
      return x;
    case 'reshape':
    case 'flatten':
    case 'transpose':
    case 'max_pool':
    case 'avg_pool':
    case 'global_avg_pool':
      return x;
    case 'concat':
      return union(ins);
    case 'pad':
      return union([x, { min: (n.attrs as OpAttrs['pad']).value ?? 0, max: (n.attrs as OpAttrs['pad']).value ?? 0 }]);
    case 'bias_add':
    case 'add':
      return int32OrAll({ min: x.min + ins[1]!.min, max: x.max + ins[1]!.max });
    case 'requantize':
      return requantizeRange(n, x, ins[1]);
    case 'quantize':
      return quantizeRange(n.attrs as OpAttrs['quantize'], x);
    default:
      return undefined;
  }
}

/** requantize is monotone in its product while the product and rounding term stay inside int32. */
function requantizeRange(n: GraphNode, x: ValueRange, perChannel: ValueRange | undefined): ValueRange {
  const { shift, multiplier = 1, rounding } = n.attrs as OpAttrs['requantize'];
  const multipliers = perChannel ? [perChannel.min, perChannel.max] : [multiplier];
  const ends: number[] = [];
  for (const m of multipliers) {
    for (const v of [x.min, x.max]) {
      const p = v * m;
      if (Math.abs(p) + 2 ** shift >= 2 ** 31) return INT32;
      ends.push(roundingShift(p, shift, rounding === 'half_even'));
    }
  }
  return { min: minOf(ends), max: maxOf(ends) };
}

/** quantize rounds x / scale + zero point, monotone per channel (positive scales), then saturates. */
function quantizeRange(a: OpAttrs['quantize'], x: ValueRange): ValueRange | undefined {
  if (!Number.isFinite(x.min) || !Number.isFinite(x.max)) return undefined;
  const ends = a.scale.flatMap((s, i) => [x.min, x.max].map((v) => roundHalfEven(Math.fround(v / Math.fround(s))) + a.zero_point[i]!));
  return { min: minOf(ends), max: maxOf(ends) };
}

/** Whether a tensor's bound fits `width`-bit two's complement. */
export function fitsWidth(r: ValueRange, width: number): boolean {
  return within(r, signedRange(width));
}

/**
 * Exact rewrites of a fused epilogue that save ALU passes on every output tile (docs/compiler.md
 * "Folded epilogues"). Each keeps the bytes the IR gives, bit for bit:
 * - foldRounding: a half-up requantize's rounding term joins the bias before it (one ADD fewer);
 * - initByMax: the bias initialises the accumulator before the GEMM, as one MAX over the final
 *   values an earlier tile left there (no GEMM reset, no bias ADD after the GEMM).
 */
import { finalRange } from './epilogue.ts';
import type { EpilogueOp } from './fuse.ts';
import { roundingSplit } from '../lib/rounding.ts';

type Requantize = Extract<EpilogueOp, { kind: 'requantize' }>;
/** A step that can start the sum: a bias (channel vector) or a constant. */
type Start = Extract<EpilogueOp, { kind: 'bias' | 'addConst' }>;

const INT32_LIMIT = 2 ** 31;
const wrap32 = (v: number) => Number(BigInt.asIntN(32, BigInt(v)));
const isBound = (e: EpilogueOp): e is Extract<EpilogueOp, { kind: 'max' | 'min' }> => e.kind === 'max' || e.kind === 'min';

/** The rounding term a half-up requantize adds before its MUL (all of 2^(n−1) for multiplier 1), if any. */
function movableRounding(e: Requantize): number | undefined {
  if (e.halfEven || e.perChannel || e.shift === 0 || e.roundingFolded) return undefined;
  const term = e.multiplier === 1 ? 2 ** (e.shift - 1) : roundingSplit(e.shift, e.multiplier).pre;
  return term === 0 ? undefined : term;
}

/**
 * The bias or constant add that step i's rounding term may join: other constant adds between
 * commute with it (ADD is a ring operation mod 2^32); a bound between is crossed as
 * max(x, v) + r = max(x + r, v + r) only when the requantize provably stays inside int32 (its
 * accumulator bound covers every value before it).
 */
function foldTarget(ep: EpilogueOp[], i: number, crossBounds: boolean): number | undefined {
  let target: number | undefined;
  for (let j = i - 1; j >= 0; j--) {
    const o = ep[j]!;
    if (o.kind === 'bias') return j;
    if (o.kind === 'addConst') target = j;
    else if (!(isBound(o) && crossBounds)) break;
  }
  return target;
}

/** The start step with `add` more in every lane. */
function plus(e: Start, add: number): Start {
  return e.kind === 'bias' ? { ...e, offset: wrap32((e.offset ?? 0) + add) } : { ...e, value: wrap32(e.value + add) };
}

/** A half-up requantize's rounding term added by the bias before it instead of its own ADD. */
export function foldRounding(ep: EpilogueOp[]): EpilogueOp[] {
  const out = [...ep];
  for (const [i, e] of out.entries()) {
    if (e.kind !== 'requantize') continue;
    const r = movableRounding(e);
    if (r === undefined) continue;
    const target = foldTarget(out, i, e.multiplier === 1 && e.noOverflow === true);
    if (target === undefined) continue;
    const crossed = out.slice(target + 1, i);
    if (crossed.some((o) => isBound(o) && Math.abs(o.value + r) >= INT32_LIMIT)) continue;
    for (let j = target + 1; j < i; j++) {
      const o = out[j]!;
      if (isBound(o)) out[j] = { ...o, value: o.value + r };
    }
    out[target] = plus(out[target] as Start, r);
    out[i] = { ...e, roundingFolded: true };
  }
  return out;
}

/** A channel vector on every lane of its packed tiles (the padded lanes 0), plus `offset` (wrapping). */
export function paddedLanes(v: ArrayLike<number>, blockOut: number, offset = 0): Int32Array {
  const lanes = new Int32Array(Math.ceil(v.length / blockOut) * blockOut);
  lanes.set(v);
  return offset === 0 ? lanes : lanes.map((x) => x + offset);
}

/** What initByMax needs to know of the kernel. */
export interface InitContext {
  /** max over channels of the accumulator bound before each step (Infinity: unknown). */
  boundBefore: number[];
  /** A bias's values on every lane of the packed vector (padded lanes 0), offset not applied. */
  biasLanes: (bias: string) => ArrayLike<number>;
  /** Bits the STORE keeps (OUT_WIDTH): the final values may be off by a multiple of 2^outWidth. */
  outWidth: number;
}

/**
 * The accumulator initialised by the bias with one MAX, for a chain bias, bounds, a plain shift
 * (multiplier 1, its rounding folded into the bias, no overflow), bounds. Every value before the
 * shift is raised by D = K·2^n, every bound after it by K, with K a multiple of 2^outWidth: the
 * shift gives y + K exactly, the clip clip(y) + K, and the STORE's low outWidth bits are those of
 * clip(y). K is chosen so that every lane of the bias (+ rounding + D) is at least the largest final
 * value: then MAX(earlier tile's final value, bias) is the bias. Undefined when the chain has
 * another form or no such K keeps the values inside int32.
 */
export function initByMax(ep: EpilogueOp[], cx: InitContext): EpilogueOp[] | undefined {
  const start = ep[0];
  const at = ep.findIndex((e) => e.kind === 'requantize');
  const rq = ep[at];
  if ((start?.kind !== 'bias' && start?.kind !== 'addConst') || rq?.kind !== 'requantize') return undefined;
  if (!rq.roundingFolded || rq.multiplier !== 1 || rq.halfEven || rq.perChannel || !rq.noOverflow || rq.shift === 0) return undefined;
  if (ep.some((e, i) => i > 0 && i !== at && !isBound(e))) return undefined;
  const lanes = start.kind === 'bias' ? Array.from(cx.biasLanes(start.bias), (v) => v + (start.offset ?? 0)) : [start.value];
  const offset = start.kind === 'bias' ? (start.offset ?? 0) : start.value;
  const lowest = Math.min(...lanes);
  const step = 2 ** cx.outWidth;
  for (let K = step; ; K += step) {
    const D = K * 2 ** rq.shift;
    if (cx.boundBefore[at]! + Math.abs(offset) + D >= INT32_LIMIT || Math.max(...lanes) + D >= INT32_LIMIT) return undefined;
    const raised = ep.map((e, i): EpilogueOp => {
      if (i === 0) return { ...plus(start, D), initMax: true };
      return isBound(e) ? { ...e, value: e.value + (i < at ? D : K) } : e;
    });
    const final = finalRange(raised);
    if (!Number.isFinite(final.hi) || !Number.isFinite(final.lo)) return undefined;
    if (lowest + D >= final.hi) return raised;
  }
}

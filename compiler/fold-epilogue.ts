/**
 * Exact rewrites of a fused epilogue that save ALU passes on every output tile (docs/compiler.md
 * "Folded epilogues", "Exact requantization"). Each keeps the bytes the IR gives, bit for bit:
 * - clipBeforeMultiplier: the QDQ requantization's saturate and output clips as one per-channel
 *   clip after its first shift, the second shift's rounding and zero point one channel vector;
 * - resolveTies: a half-even step whose ties are settled statically takes no tie bit;
 * - mergeShiftedConstants: a zero point after an exact requantize joins the constant before it;
 * - foldRounding: a requantize's rounding term joins the bias before it (one ADD fewer);
 * - initByMax: the bias initialises the accumulator before the GEMM, as one MAX over the final
 *   values an earlier tile left there (no GEMM reset, no bias ADD after the GEMM).
 */
import { finalRange, needsTieBit, preShiftConstant } from './epilogue.ts';
import type { EpilogueOp } from './fuse.ts';
import { roundingSplit } from '../lib/rounding.ts';
import { roundingShift } from '../graph/semantics/rounding.ts';
import { maxOf, minOf } from '../lib/array-loops.ts';

type Requantize = Extract<EpilogueOp, { kind: 'requantize' }>;
/** A step that can start the sum: a bias (channel vector) or a constant. */
type Start = Extract<EpilogueOp, { kind: 'bias' | 'addConst' }>;

const INT32_LIMIT = 2 ** 31;
const wrap32 = (v: number) => Number(BigInt.asIntN(32, BigInt(v)));
const isBound = (e: EpilogueOp): e is Extract<EpilogueOp, { kind: 'max' | 'min' }> => e.kind === 'max' || e.kind === 'min';

/**
 * The constant a requantize adds before its MUL, if any: a half-up one's rounding term (all of
 * 2^(n−1) for multiplier 1), or, for multiplier 1 on the exact path (half even), everything it adds
 * before the shift (epilogue.ts preShiftConstant: its tie bit, if any, is taken after the add).
 */
function movableRounding(e: Requantize): number | undefined {
  if (e.perChannel || e.shift === 0 || e.roundingFolded) return undefined;
  if (e.halfEven) return e.multiplier === 1 ? preShiftConstant(e) : undefined;
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
    else if (!(isBound(o) && !o.lanes && crossBounds)) break;
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
    if (r === undefined || r === 0) continue;
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
  return joinConstants(out);
}

/**
 * Adjacent constant adds as one (ADD is a ring operation mod 2^32): one pass instead of two. The
 * later one stays as a step adding 0 (no op), so the steps keep their indices.
 */
function joinConstants(ep: EpilogueOp[]): EpilogueOp[] {
  const out = [...ep];
  let into = -1;
  for (const [i, e] of out.entries()) {
    const joinable = e.kind === 'addConst' && !e.initMax;
    if (joinable && into >= 0 && e.value !== 0) {
      const first = out[into] as Extract<EpilogueOp, { kind: 'addConst' }>;
      out[into] = { ...first, value: wrap32(first.value + e.value) };
      out[i] = nothing(e);
    } else if (!joinable) into = -1;
    else if (into < 0) into = i;
  }
  return out;
}

/** A channel vector on every lane of its packed tiles (the padded lanes 0), plus `offset` (wrapping). */
export function paddedLanes(v: ArrayLike<number>, blockOut: number, offset = 0): Int32Array {
  const lanes = new Int32Array(Math.ceil(v.length / blockOut) * blockOut);
  lanes.set(v);
  return offset === 0 ? lanes : lanes.map((x) => x + offset);
}

/** What the folds need to know of the kernel. */
export interface InitContext {
  /** max over channels of the accumulator bound before each step (Infinity: unknown). */
  boundBefore: number[];
  /** A bias's (or any channel vector's) values on every lane of the packed vector (padded lanes 0), offset not applied. */
  biasLanes: (bias: string) => ArrayLike<number>;
  /** Bits the STORE keeps (OUT_WIDTH): the final values may be off by a multiple of 2^outWidth. */
  outWidth: number;
  /** A constant's values as the graph holds them (a zero point's vector: one per channel). */
  vectorValues?: (name: string) => ArrayLike<number>;
  /** Channels per channel tile (BLOCK_OUT): channel vectors are loaded and broadcast by tiles. */
  blockOut?: number;
  /** An element-wise add: the scales its two int8 operands are multiplied by before the sum. */
  sumScales?: number[];
}

const powerOfTwoIn = (m: number): number => {
  let t = 0;
  for (let v = Math.abs(m); v > 0 && v % 2 === 0; v /= 2) t++;
  return t;
};

/**
 * Whether no product x·m with |x| ≤ bound is a tie of a shift by n (x·m ≡ 2^(n−1) mod 2^n):
 * with m = 2^t·odd, a tie needs x to be an odd multiple of 2^(n−1−t) (and none exists for t ≥ n,
 * or m = 0). Wrapping does not matter: only x·m mod 2^n does.
 */
function noTieWithin(bound: number, multipliers: ArrayLike<number>, n: number): boolean {
  for (const m of Array.from(multipliers)) {
    if (m === 0) continue;
    const t = powerOfTwoIn(m);
    if (t < n && bound >= 2 ** (n - 1 - t)) return false;
  }
  return true;
}

/**
 * The ties a half-even step of an element-wise add meets, found by trying every pair of int8
 * operands: p = (s_a·a + s_b·b + constants before)·m wrapping as the IR does. The IR rounds a tie up
 * exactly when bit n of p is 1; when every tie agrees (or there is none) no tie bit is needed.
 */
function sumTies(ep: EpilogueOp[], i: number, e: Requantize, scales: number[]): Requantize['ties'] {
  if (e.perChannel || !ep.slice(0, i).every((o) => o.kind === 'addConst')) return undefined;
  const constant = ep.slice(0, i).reduce((sum, o) => wrap32(sum + (o as Extract<EpilogueOp, { kind: 'addConst' }>).value), 0);
  const [sa, sb] = scales as [number, number];
  const low = 2 ** e.shift - 1;
  const half = 2 ** (e.shift - 1);
  const seen = new Set<number>();
  // Index loops: 65,536 pairs per add, each a for-of iterator result until the loop is optimised.
  for (let a = -128; a < 128; a++) {
    for (let b = -128; b < 128; b++) {
      const p = Math.imul((Math.imul(sa, a) + Math.imul(sb, b) + constant) | 0, e.multiplier);
      if ((p & low) === half) seen.add((p >> e.shift) & 1);
    }
  }
  if (seen.size === 2) return undefined;
  return seen.size === 0 ? 'none' : seen.has(1) ? 'up' : 'down';
}

/**
 * Half-even steps whose ties are settled statically, so that the ALU needs no tie bit: an
 * element-wise add's sum tried for every int8 operand pair (sumTies), or a GEMM's product whose
 * accumulator bound leaves no tie (noTieWithin).
 */
export function resolveTies(ep: EpilogueOp[], cx: InitContext): EpilogueOp[] {
  return ep.map((e, i) => {
    // A step whose rounding an earlier step added sees the rounded sum, not the product: left alone.
    if (!needsTieBit(e) || (e as Requantize).roundingFolded) return e;
    const rq = e as Requantize;
    const ties = cx.sumScales
      ? sumTies(ep, i, rq, cx.sumScales)
      : noTieWithin(cx.boundBefore[i]!, rq.perChannel ? cx.biasLanes(rq.perChannel) : [rq.multiplier], rq.shift) ? 'none' : undefined;
    return ties ? { ...rq, ties } : rq;
  });
}

/** The uniform value every lane of a step adds (a constant, or a bias whose channels are all equal), if any. */
function uniformAdd(e: EpilogueOp | undefined, cx: InitContext): number | undefined {
  if (e?.kind === 'addConst' && !e.initMax) return e.value;
  if (e?.kind !== 'bias' || e.initMax || e.offset || e.lanes || !cx.vectorValues) return undefined;
  const values = Array.from(cx.vectorValues(e.bias));
  return values.every((x) => x === values[0]) ? values[0] : undefined;
}

/** A step that adds nothing: what a merged step leaves in its place (the steps keep their indices). */
const nothing = (e: EpilogueOp): EpilogueOp => ({ kind: 'addConst', node: e.node, value: 0 });

/**
 * A constant c added right after an exact requantize (a zero point) joins the constant it adds
 * before its shift, as c·2^n: ⌊(w + c·2^n) / 2^n⌋ = ⌊w / 2^n⌋ + c. Only when the accumulator bound
 * keeps w + c·2^n inside int32 (the clip after it compares true values), and, when the tie bit is
 * taken, for even c (bit n of w, the tie's parity, is then unchanged).
 */
export function mergeShiftedConstants(ep: EpilogueOp[], cx: InitContext): EpilogueOp[] {
  const out: EpilogueOp[] = [];
  for (let i = 0; i < ep.length; i++) {
    const e = ep[i]!;
    const c = uniformAdd(ep[i + 1], cx);
    if (e.kind !== 'requantize' || !(e.halfEven || e.perChannel) || e.shift === 0 || e.roundingFolded || c === undefined) {
      out.push(e);
      continue;
    }
    const multipliers = e.perChannel ? Array.from(cx.biasLanes(e.perChannel)) : [e.multiplier];
    const largest = Math.max(...multipliers.map(Math.abs));
    const plus = (e.plus ?? 0) + c;
    const reach = cx.boundBefore[i]! * largest + 2 ** (e.shift - 1) + Math.abs(plus) * 2 ** e.shift;
    if (!(reach < INT32_LIMIT) || (needsTieBit(e) && plus % 2 !== 0)) {
      out.push(e);
      continue;
    }
    out.push({ ...e, plus }, nothing(ep[i + 1]!));
    i++;
  }
  return out;
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
  if (!rq.roundingFolded || rq.multiplier !== 1 || needsTieBit(rq) || rq.perChannel || !rq.noOverflow || rq.shift === 0) return undefined;
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

/** A channel's requantize after the first: y → the IR's rounding of y·m by 2^n, plus zp. */
interface Second {
  m: number;
  shift: number;
  halfEven: boolean;
  zp: number;
}
const secondOf = (p: Second) => (y: number): number => roundingShift(Math.imul(y, p.m), p.shift, p.halfEven) + p.zp;

/**
 * The clip bounds on y that make the output clip redundant, for one channel: Ylo the largest y in
 * [yMin, yMax] whose output is at most lo (else yMin), Yhi the smallest whose output is at least hi
 * (else yMax); outputs monotone in y (m > 0, no overflow). Undefined when the output at Ylo or Yhi
 * falls outside [lo, hi] (it jumps over a bound: the clip would still be needed).
 */
function channelClip(out: (y: number) => number, yMin: number, yMax: number, lo: number, hi: number): [number, number] | undefined {
  const lastAtMost = (v: number) => {
    if (out(yMin) > v) return undefined;
    let [a, b] = [yMin, yMax];
    while (a < b) {
      const mid = a + Math.ceil((b - a) / 2);
      if (out(mid) <= v) a = mid;
      else b = mid - 1;
    }
    return a;
  };
  const ylo = lastAtMost(lo) ?? yMin;
  const below = lastAtMost(hi - 1);
  const yhi = below === undefined ? yMin : below === yMax ? yMax : below + 1;
  if (ylo > yhi || out(ylo) < lo || out(ylo) > hi || out(yhi) < lo || out(yhi) > hi) return undefined;
  return [ylo, yhi];
}

/** The floor parities of the ties of y·m by 2^n for y in [a, b] (a tie: y an odd multiple of 2^(n−1−t), m = 2^t·odd). */
function tieParities(m: number, n: number, a: number, b: number): Set<number> {
  const seen = new Set<number>();
  const t = powerOfTwoIn(m);
  if (t >= n) return seen;
  const unit = 2 ** (n - 1 - t);
  let q = Math.ceil(a / unit);
  if (q % 2 === 0) q++;
  for (let y = q * unit; y <= b && seen.size < 2; y += 2 * unit) seen.add((Math.imul(y, m) >> n) & 1);
  return seen;
}

/**
 * The ONNX importer's QDQ requantization, bias → saturate clip → shift by k → ·m[c] shift by n →
 * + zero point → output clip, with the two clips as one clip on y (the value after the first
 * shift), per channel: every step is monotone (m[c] > 0, no int32 overflow), so the saturate clip
 * is a clip of y to [rq(−C), rq(C)], and within it the output reaches lo at Ylo[c] and hi at
 * Yhi[c] (channelClip): clipping y to [Ylo, Yhi] gives every output the IR gives, with no output
 * clip. On [Ylo, Yhi] the second shift's ties are few: when each channel's all round one way, the
 * rounding constant (and the zero point, ·2^n) is one channel vector added between MUL and SHR,
 * and the second shift takes no tie bit. The first shift then runs on the unclipped sum, whose
 * bound must keep it inside int32. Steps removed leave a step adding 0 (indices kept).
 */
export function clipBeforeMultiplier(ep: EpilogueOp[], cx: InitContext): EpilogueOp[] | undefined {
  const [bias, satLo, satHi, first, second, zpStep, outLo, outHi, ...rest] = ep;
  const hasZp = zpStep?.kind === 'bias' || zpStep?.kind === 'addConst';
  const [lo, hi] = hasZp ? [outLo, outHi] : [zpStep, outLo];
  if (bias?.kind !== 'bias' || bias.lanes || satLo?.kind !== 'max' || satHi?.kind !== 'min' || satLo.lanes || satHi.lanes) return undefined;
  if (first?.kind !== 'requantize' || first.multiplier !== 1 || first.perChannel || first.shift === 0) return undefined;
  if (second?.kind !== 'requantize' || second.shift === 0 || lo?.kind !== 'max' || hi?.kind !== 'min' || lo.lanes || hi.lanes) return undefined;
  if ((hasZp ? rest.length : [outHi, ...rest].filter(Boolean).length) !== 0 || !cx.vectorValues) return undefined;
  const channels = cx.vectorValues(bias.bias).length;
  const ms = second.perChannel ? Array.from(cx.vectorValues(second.perChannel)) : new Array<number>(channels).fill(second.multiplier);
  const zps = zpStep?.kind === 'bias' ? Array.from(cx.vectorValues(zpStep.bias)) : new Array<number>(channels).fill(zpStep?.kind === 'addConst' ? zpStep.value : 0);
  // The first shift on the unclipped sum: its rounding must stay inside int32.
  if (!(cx.boundBefore[1]! + 2 ** first.shift < INT32_LIMIT) || ms.length !== channels || zps.length !== channels) return undefined;
  const firstOf = (x: number) => roundingShift(x, first.shift, first.halfEven === true);
  const [yMin, yMax] = [firstOf(satLo.value), firstOf(satHi.value)];
  const ylo = new Int32Array(channels);
  const yhi = new Int32Array(channels);
  const rounding = new Int32Array(channels);
  const tieTiles = new Set<number>();
  const parities: Set<number>[] = [];
  for (let c = 0; c < channels; c++) {
    const p: Second = { m: ms[c]!, shift: second.shift, halfEven: second.halfEven === true, zp: zps[c]! };
    if (!(p.m > 0) || Math.max(-yMin, yMax) * p.m + 2 ** second.shift >= INT32_LIMIT) return undefined;
    const clip = channelClip(secondOf(p), yMin, yMax, lo.value, hi.value);
    if (!clip) return undefined;
    [ylo[c], yhi[c]] = clip;
    parities.push(p.halfEven ? tieParities(p.m, p.shift, clip[0], clip[1]) : new Set<number>());
  }
  // Ties both ways: that channel's tile takes the tie bit, which needs an even zero point in the
  // constant (its ·2^n keeps bit n, the tie's parity); an odd one is added as zp − 1, and the 1
  // after the shift, for every channel.
  const mixed = parities.flatMap((t, c) => (t.size === 2 ? [c] : []));
  const late = mixed.length > 0 && zps[mixed[0]!]! % 2 !== 0 ? 1 : 0;
  if (mixed.length > 0 && (!cx.blockOut || mixed.some((c) => (zps[c]! - late) % 2 !== 0))) return undefined;
  for (const c of mixed) tieTiles.add(Math.floor(c / cx.blockOut!));
  for (let c = 0; c < channels; c++) {
    // A tie rounds up when bit n of y·m is 1 (the IR's half even): 2^(n−1), else 2^(n−1) − 1.
    const ties = parities[c]!;
    const constant = 2 ** (second.shift - 1) - (ties.size === 1 && ties.has(0) ? 1 : 0) + (zps[c]! - late) * 2 ** second.shift;
    if (Math.abs(ylo[c]! * ms[c]!) + Math.abs(constant) >= INT32_LIMIT || Math.abs(yhi[c]! * ms[c]!) + Math.abs(constant) >= INT32_LIMIT) return undefined;
    rounding[c] = constant;
  }
  // The bias initialises the accumulator with one MAX (as initByMax): raised by D, a multiple of
  // 2^(k+1) (bit k, the first tie's parity, is kept), so that every lane (padded ones hold 0, and
  // end at `late`) is at least every final value, at most max(hi, late). y comes out d = D/2^k higher: the
  // clip on y moves with it, and the rounding vector takes d·m[c] back (ADD and MUL wrap alike).
  const start = Math.min(0, ...Array.from(cx.vectorValues(bias.bias))) + 2 ** (first.shift - 1);
  const step = 2 ** (first.shift + 1);
  const D = Math.max(0, Math.ceil((Math.max(hi.value, late) - start) / step)) * step;
  const d = D / 2 ** first.shift;
  const init = cx.boundBefore[1]! + 2 ** first.shift + D < INT32_LIMIT;
  const raised = (v: Int32Array) => (init ? v.map((x) => x + d) : v);
  const yBounds: EpilogueOp[] = [
    { kind: 'max', node: satLo.node, value: minOf(raised(ylo)), lanes: raised(ylo) },
    { kind: 'min', node: hi.node, value: maxOf(raised(yhi)), lanes: raised(yhi) },
  ];
  if (init) for (let c = 0; c < channels; c++) rounding[c] = wrap32(rounding[c]! - d * ms[c]!);
  const startStep: EpilogueOp = init ? { ...bias, offset: 2 ** (first.shift - 1) + D, initMax: true } : bias;
  const firstStep: EpilogueOp = init ? { ...first, roundingFolded: true } : first;
  const none = (e: EpilogueOp | undefined) => (e ? [nothing(e)] : []);
  const multiply: EpilogueOp = { ...second, shift: 0, halfEven: false };
  delete (multiply as Partial<Requantize>).ties;
  const round: EpilogueOp = { kind: 'bias', node: hasZp ? zpStep!.node : first.node, bias: `${first.node.name}:rounding`, lanes: rounding };
  const shift: EpilogueOp = {
    kind: 'requantize', node: second.node, shift: second.shift, multiplier: 1, roundingFolded: true, noOverflow: true,
    ...(tieTiles.size ? { halfEven: true, tieTiles: [...tieTiles] } : {}),
  };
  const after: EpilogueOp[] = late ? [{ kind: 'addConst', node: satHi.node, value: late }] : none(satHi);
  return [startStep, firstStep, ...yBounds, multiply, round, shift, ...after].slice(0, ep.length);
}

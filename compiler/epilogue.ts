/**
 * The ALU epilogue of a kernel and its stores: the fused bias_add / requantize / relu / clip ops
 * become ALU instructions over the accumulator tile, and an int32 result is stored as four 8-bit
 * planes. Shared by every kernel kind (compiler/lower/).
 */
import { ALU_OP } from '../isa/index.ts';
import { immediateParts, roundingSplit } from '../lib/rounding.ts';
import type { EpilogueOp } from './fuse.ts';
import type { KernelBuffers } from './lower/buffers.ts';
import type { KOp, KUop, UopLoop } from './kernel-ir.ts';
import { MAX_ITER } from './tile.ts';
import { appendAll } from '../lib/array-loops.ts';

export const uopLoop = (p: Partial<UopLoop>): UopLoop => ({ iterOut: 1, iterIn: 1, dstOut: 0, dstIn: 0, srcOut: 0, srcIn: 0, wgtOut: 0, wgtIn: 0, ...p });

/**
 * Ops over `n` contiguous ACC tiles from `base`: one uop, loops split to fit 14 bits. The source
 * moves `srcStep` tiles per tile (0: one constant tile applied to all of them).
 */
export function contiguous(n: number, make: (uops: KUop[], l: UopLoop) => KOp, base: number, src = base, srcStep = 1): KOp[] {
  const out: KOp[] = [];
  let done = 0;
  while (done < n) {
    const len = Math.min(n - done, MAX_ITER);
    out.push(make([{ dst: base + done, src: src + done * srcStep, wgt: 0 }], uopLoop({ iterIn: len, dstIn: 1, srcIn: srcStep })));
    done += len;
  }
  return out;
}

/**
 * The stores of accumulator region [base, base+n). An int32 output is four 8-bit planes, low
 * byte first: STORE keeps the low 8 bits, then SHR 8 brings the next byte down (an arithmetic
 * shift, so the top plane carries the sign) and the next plane is stored `int32PlaneTiles` on.
 */
export function storePlanes(stores: KOp[], base: number, n: number, bufs: KernelBuffers): KOp[] {
  if (bufs.int32PlaneTiles === undefined) return stores;
  const ops: KOp[] = [];
  for (let plane = 0; plane < 4; plane++) {
    if (plane > 0) appendAll(ops, contiguous(n, (uops, l) => ({ kind: 'alu', aluOp: ALU_OP.SHR, imm: 8, uops, loop: l }), base));
    for (const st of stores) {
      if (st.kind === 'store') ops.push({ ...st, dram: { ...st.dram, offset: st.dram.offset + plane * bufs.int32PlaneTiles } });
    }
  }
  return ops;
}

/** What is known of every accumulator value at one step of the epilogue: lo ≤ x ≤ hi. */
export interface Known {
  lo: number;
  hi: number;
}

const UNKNOWN: Known = { lo: -Infinity, hi: Infinity };

/**
 * The range after `e`. A requantization by a positive multiplier that fusion proved cannot
 * overflow int32 (`noOverflow`, bounds.ts; the IR's wrapping would flip a sign) rounds
 * monotonically and maps 0 to 0, so it keeps the sign of a range on one side of 0. A per-channel
 * multiplier's sign is not known here, nor is a bias's value.
 */
function knownAfter(e: EpilogueOp, k: Known): Known {
  switch (e.kind) {
    case 'bias':
      return UNKNOWN;
    case 'addConst':
      return { lo: k.lo + e.value, hi: k.hi + e.value };
    case 'max':
      return { lo: Math.max(k.lo, e.value), hi: Math.max(k.hi, e.value) };
    case 'min':
      return { lo: Math.min(k.lo, e.value), hi: Math.min(k.hi, e.value) };
    case 'requantize':
      if (!e.noOverflow || e.perChannel || e.multiplier <= 0) return UNKNOWN;
      if (e.multiplier === 1 && !e.halfEven) {
        // A plain shift is floor((x + rounding) / 2^n): monotone, so it maps the range's ends.
        const shifted = (v: number) => Math.floor((v + (e.roundingFolded || e.shift === 0 ? 0 : 2 ** (e.shift - 1))) / 2 ** e.shift);
        return { lo: shifted(k.lo), hi: shifted(k.hi) };
      }
      return { lo: k.lo >= 0 ? 0 : -Infinity, hi: k.hi <= 0 ? 0 : Infinity };
  }
}

/** The range of the values the epilogue leaves in the accumulator (unbounded sides ±Infinity). */
export function finalRange(ep: EpilogueOp[]): Known {
  return ep.reduce((k, e) => knownAfter(e, k), UNKNOWN);
}

/**
 * The bounds the epilogue really needs: max(max(x, a), b) = max(x, max(a, b)), likewise for min
 * (relu followed by clip is one MAX), and a bound the values already satisfy is dropped (relu, a
 * power-of-two requantization, then a clip to int8: its MAX with −128 changes nothing).
 */
function mergeBounds(ep: EpilogueOp[]): EpilogueOp[] {
  const merged: EpilogueOp[] = [];
  let known = UNKNOWN;
  for (const e of ep) {
    const implied = (e.kind === 'max' && known.lo >= e.value) || (e.kind === 'min' && known.hi <= e.value);
    known = knownAfter(e, known);
    if (implied) continue;
    const last = merged[merged.length - 1];
    if (last && (e.kind === 'max' || e.kind === 'min') && last.kind === e.kind) {
      merged[merged.length - 1] = { ...last, value: e.kind === 'max' ? Math.max(last.value, e.value) : Math.min(last.value, e.value) };
    } else merged.push(e);
  }
  return merged;
}

/**
 * Whether the epilogue needs a scratch ACC region as large as the tile: half-even rounding copies
 * the product there to extract its rounding bit. (Wide constants are resident tiles instead:
 * residentConstants.)
 */
export function needsScratch(ep: EpilogueOp[]): boolean {
  return ep.some((e) => e.kind === 'requantize' && e.halfEven);
}

/** The constant an exact requantization adds before its shift (2^(n−1), less one for half even). */
const roundingTerm = (e: Extract<EpilogueOp, { kind: 'requantize' }>) => 2 ** (e.shift - 1) - (e.halfEven ? 1 : 0);

/**
 * Constants the epilogue applies wider than its immediates (a saturating clip's bounds, a rounding
 * term of 2^19, a wide zero point): each is one ACC tile of that value, loaded once per kernel and
 * applied with a source factor of 0 — one ALU pass where building it in scratch took five.
 */
export function residentConstants(ep: EpilogueOp[]): number[] {
  const values = new Set<number>();
  for (const e of mergeBounds(ep)) {
    // A constant that initialises the accumulator is a MAX operand: always a tile.
    if (e.kind === 'addConst' && (e.initMax || signedParts(e.value) === undefined)) values.add(e.value);
    if ((e.kind === 'max' || e.kind === 'min') && !fitsImmediate(e.value)) values.add(e.value);
    if (e.kind === 'requantize' && (e.halfEven || e.perChannel) && e.shift > 0 && signedParts(roundingTerm(e)) === undefined) values.add(roundingTerm(e));
  }
  return [...values];
}

/** Whether a value is one signed 16-bit ALU immediate. */
function fitsImmediate(value: number): boolean {
  return value >= -32768 && value <= 32767;
}

/** A constant as at most two signed 16-bit ADD immediates, or undefined when it needs more. */
function signedParts(value: number): number[] | undefined {
  if (value === 0) return [];
  const step = value > 0 ? 32767 : -32768;
  const parts = Math.abs(value) <= Math.abs(step) ? [value] : [step, value - step];
  return Math.abs(parts[parts.length - 1]!) <= Math.abs(step) ? parts : undefined;
}

/** Epilogue steps that read a per-channel vector from ACC (loaded like a bias): bias_add, per-channel requantize. */
export const channelVectorOf = (e: EpilogueOp): string | undefined => (e.kind === 'bias' ? e.bias : e.kind === 'requantize' ? e.perChannel : undefined);

/**
 * The epilogue on an accumulator region [base, base+n) laid out [oc][rows] (rows = n / oc);
 * `channelBase` gives where a step's channel vector sits, `scratch` the region needsScratch asks for,
 * `constantAt` the tile of each residentConstants value.
 */
export function aluEpilogue(ep: EpilogueOp[], base: number, oc: number, n: number, channelBase: (op: EpilogueOp) => number, scratch: number | undefined, constantAt: (value: number) => number, biasInitialised = false): KOp[] {
  const ops: KOp[] = [];
  const alu = new AluOn(base, oc, n, scratch, constantAt);
  for (const e of mergeBounds(ep)) {
    switch (e.kind) {
      case 'bias':
        // A bias that initialised the accumulator (accumulatorInit) is already in.
        if (!(e.initMax && biasInitialised)) ops.push(alu.broadcast(ALU_OP.ADD, channelBase(e)));
        break;
      case 'addConst':
        if (!(e.initMax && biasInitialised)) appendAll(ops, alu.addConstant(e.value));
        break;
      case 'requantize':
        appendAll(ops, e.halfEven || e.perChannel ? alu.requantizeExact(e, e.perChannel ? channelBase(e) : 0) : requantizeOps(e, (op, v) => alu.imm(base, op, v)));
        break;
      case 'max':
      case 'min':
        appendAll(ops, alu.bound(e.kind === 'max' ? ALU_OP.MAX : ALU_OP.MIN, e.value));
        break;
    }
  }
  return ops;
}

/** dst ∘= a channel vector over the region [base, base+n) laid out [oc][rows]: source factor 0 along the rows. */
function broadcastOp(aluOp: number, base: number, oc: number, n: number, src: number): KOp {
  const rows = n / oc;
  return { kind: 'alu', aluOp, imm: undefined, uops: [{ dst: base, src, wgt: 0 }], loop: uopLoop({ iterOut: oc, dstOut: rows, srcOut: 1, iterIn: rows, dstIn: 1, srcIn: 0 }) };
}

/**
 * The op that sets the accumulator region [base, base+n) before the GEMM: for a bias (or a
 * `uniform` constant's tile) with `initMax` (fold-epilogue.ts initByMax) whose tiles all hold a
 * final value of an earlier tile of this kernel (`settled`), one MAX with it, which is never below
 * them; else a GEMM reset (the bias is then added after the GEMM, in the epilogue).
 */
export function accumulatorInit(base: number, oc: number, n: number, initBias: { src: number; settled: boolean; uniform?: boolean } | undefined): KOp[] {
  if (initBias?.settled && initBias.uniform) return contiguous(n, (uops, l) => ({ kind: 'alu', aluOp: ALU_OP.MAX, imm: undefined, uops, loop: l }), base, initBias.src, 0);
  if (initBias?.settled) return [broadcastOp(ALU_OP.MAX, base, oc, n, initBias.src)];
  return contiguous(n, (uops, l) => ({ kind: 'gemm', reset: true, uops, loop: l }), base);
}

/** ALU ops over the tile [base, base+n) and its scratch region [scratch, scratch+n). */
class AluOn {
  constructor(
    private readonly base: number,
    private readonly oc: number,
    private readonly n: number,
    private readonly scratch: number | undefined,
    private readonly constantAt: (value: number) => number,
  ) {}

  /** dst ∘= the resident tile of `value`, on every tile. */
  private withConstant(aluOp: number, value: number): KOp[] {
    return contiguous(this.n, (uops, l) => ({ kind: 'alu', aluOp, imm: undefined, uops, loop: l }), this.base, this.constantAt(value), 0);
  }

  imm(dst: number, aluOp: number, value: number): KOp[] {
    return contiguous(this.n, (uops, l) => ({ kind: 'alu', aluOp, imm: value, uops, loop: l }), dst);
  }

  tensor(dst: number, aluOp: number, src: number): KOp[] {
    return contiguous(this.n, (uops, l) => ({ kind: 'alu', aluOp, imm: undefined, uops, loop: l }), dst, src);
  }

  /**
   * A channel vector (one tile per channel block from `src`) applied to every pixel of its block:
   * source factor 0 along the pixels.
   */
  broadcast(aluOp: number, src: number): KOp {
    return broadcastOp(aluOp, this.base, this.oc, this.n, src);
  }

  private get t(): number {
    if (this.scratch === undefined) throw new Error('internal: this epilogue needs a scratch region and none was reserved');
    return this.scratch;
  }

  /** Add a constant: up to two immediates, else its resident tile. */
  addConstant(value: number): KOp[] {
    const parts = signedParts(value);
    if (parts) return parts.flatMap((p) => this.imm(this.base, ALU_OP.ADD, p));
    return this.withConstant(ALU_OP.ADD, value);
  }

  /** MAX or MIN with a bound: an immediate, or a wider bound's resident tile. */
  bound(aluOp: number, value: number): KOp[] {
    if (fitsImmediate(value)) return this.imm(this.base, aluOp, value);
    return this.withConstant(aluOp, value);
  }

  /**
   * p = x·m (MUL imm, or MUL by the channel vector), then the IR's rounding shift exactly: half up
   * adds 2^(n−1); half even adds 2^(n−1) − 1 plus bit n of p, which the scratch region extracts:
   * copy p (MUL 0, ADD), SHR −(31 − n) (bit n to the sign bit), SHR 31 (the bit as 0 / −1), MUL −1,
   * ADD into p.
   */
  requantizeExact(e: Extract<EpilogueOp, { kind: 'requantize' }>, channelBase: number): KOp[] {
    const ops: KOp[] = [];
    if (e.perChannel) ops.push(this.broadcast(ALU_OP.MUL, channelBase));
    else if (e.multiplier !== 1) appendAll(ops, this.imm(this.base, ALU_OP.MUL, e.multiplier));
    if (e.shift === 0) return ops;
    if (e.halfEven) {
      ops.push(
        ...this.imm(this.t, ALU_OP.MUL, 0),
        ...this.tensor(this.t, ALU_OP.ADD, this.base),
        ...(e.shift < 31 ? this.imm(this.t, ALU_OP.SHR, -(31 - e.shift)) : []),
        ...this.imm(this.t, ALU_OP.SHR, 31),
        ...this.imm(this.t, ALU_OP.MUL, -1),
        ...this.tensor(this.base, ALU_OP.ADD, this.t),
      );
    }
    ops.push(...this.addConstant(roundingTerm(e)), ...this.imm(this.base, ALU_OP.SHR, e.shift));
    return ops;
  }
}

function requantizeOps(e: Extract<EpilogueOp, { kind: 'requantize' }>, imm: (aluOp: number, value: number) => KOp[]): KOp[] {
  const ops: KOp[] = [];
  if (e.multiplier !== 1) {
    // x·m + 2^(s−1) as ADD pre, MUL m, ADD post (lib/rounding.ts roundingSplit), then SHR s; a
    // folded pre was added by the bias.
    const { pre, post } = roundingSplit(e.shift, e.multiplier);
    if (!e.roundingFolded) for (const part of immediateParts(pre)) appendAll(ops, imm(ALU_OP.ADD, part));
    appendAll(ops, imm(ALU_OP.MUL, e.multiplier));
    for (const part of immediateParts(post)) appendAll(ops, imm(ALU_OP.ADD, part));
    if (e.shift > 0) appendAll(ops, imm(ALU_OP.SHR, e.shift));
    return ops;
  }
  if (e.shift === 0) return ops;
  // Round half up: add 2^(shift-1) (at most 16384 per 16-bit immediate; none when the bias added
  // it), then shift.
  let rest = e.roundingFolded ? 0 : 2 ** (e.shift - 1);
  while (rest > 0) {
    const part = Math.min(rest, 16384);
    appendAll(ops, imm(ALU_OP.ADD, part));
    rest -= part;
  }
  appendAll(ops, imm(ALU_OP.SHR, e.shift));
  return ops;
}

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
import { appendAll, maxOf, minOf } from '../lib/array-loops.ts';

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
      return { lo: Math.max(k.lo, minOf(e.lanes ?? [e.value])), hi: Math.max(k.hi, maxOf(e.lanes ?? [e.value])) };
    case 'min':
      return { lo: Math.min(k.lo, minOf(e.lanes ?? [e.value])), hi: Math.min(k.hi, maxOf(e.lanes ?? [e.value])) };
    case 'requantize': {
      const plus = e.plus ?? 0;
      if (!e.noOverflow || e.perChannel || e.multiplier <= 0) return UNKNOWN;
      if (e.multiplier === 1) {
        // floor((x + constant − tie bit) / 2^n): monotone, so it maps the range's ends (the tie
        // bit lowers the low end by at most one step).
        const term = e.roundingFolded || e.shift === 0 ? 0 : preShiftConstant(e);
        const shifted = (v: number) => Math.floor(v / 2 ** e.shift);
        return { lo: shifted(k.lo + term - (needsTieBit(e) ? 1 : 0)), hi: shifted(k.hi + term) };
      }
      return { lo: k.lo >= 0 ? plus : -Infinity, hi: k.hi <= 0 ? plus : Infinity };
    }
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
    const implied = (e.kind === 'max' && known.lo >= maxOf(e.lanes ?? [e.value])) || (e.kind === 'min' && known.hi <= minOf(e.lanes ?? [e.value]));
    known = knownAfter(e, known);
    if (implied) continue;
    const last = merged[merged.length - 1];
    if (last && (e.kind === 'max' || e.kind === 'min') && last.kind === e.kind && !e.lanes && !last.lanes) {
      merged[merged.length - 1] = { ...last, value: e.kind === 'max' ? Math.max(last.value, e.value) : Math.min(last.value, e.value) };
    } else merged.push(e);
  }
  return merged;
}

type Requantize = Extract<EpilogueOp, { kind: 'requantize' }>;

/** Whether a requantize rounds half even on the ALU with its tie bit (no static proof settled its ties). */
export const needsTieBit = (e: EpilogueOp): boolean => e.kind === 'requantize' && e.halfEven === true && e.ties === undefined && e.shift > 0;

/**
 * Whether the epilogue needs a scratch ACC region as large as the tile: half-even rounding
 * extracts its tie bit there. (Wide constants are resident tiles instead: residentConstants.)
 */
export function needsScratch(ep: EpilogueOp[]): boolean {
  return ep.some(needsTieBit);
}

const wrap32 = (v: number) => Number(BigInt.asIntN(32, BigInt(v)));

/**
 * The constant a requantization adds after its MUL and before its shift: the rounding term
 * 2^(n−1) (less one when every tie rounds down: ties 'down'), plus a constant merged from after
 * the shift (`plus`·2^n). Half even with its tie bit also adds 2^(n−1): the tie bit is then
 * subtracted (AluOn.requantizeExact).
 */
export function preShiftConstant(e: Requantize): number {
  if (e.shift === 0) return e.plus ?? 0;
  return wrap32(2 ** (e.shift - 1) - (e.ties === 'down' ? 1 : 0) + (e.plus ?? 0) * 2 ** e.shift);
}

/**
 * The multiplier c = 2^31 − 2^(31−n) that brings bit n of the rounded product to the sign bit
 * (c is an odd multiple of 2^(31−n): at a tie the product's low n bits are 0, so bit 31 of c·w
 * is bit n of w). A MAX with c restores it in a scratch region that holds smaller values.
 */
export const tieBitMultiplier = (shift: number): number => 2 ** 31 - 2 ** (31 - shift);

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
    if ((e.kind === 'max' || e.kind === 'min') && !e.lanes && !fitsImmediate(e.value)) values.add(e.value);
    if (e.kind === 'requantize' && (e.halfEven || e.perChannel) && e.shift > 0 && !e.roundingFolded && signedParts(preShiftConstant(e)) === undefined) values.add(preShiftConstant(e));
    if (needsTieBit(e)) values.add(tieBitMultiplier((e as Requantize).shift));
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

/**
 * Epilogue steps that read a per-channel vector from ACC (loaded like a bias): bias_add,
 * per-channel requantize, and steps whose lanes the compiler computed (named by node and kind).
 */
export function channelVectorOf(e: EpilogueOp): string | undefined {
  if ((e.kind === 'bias' || e.kind === 'max' || e.kind === 'min') && e.lanes) return `${e.node.name}:${e.kind}`;
  return e.kind === 'bias' ? e.bias : e.kind === 'requantize' ? e.perChannel : undefined;
}

/** The lanes of a channel vector the compiler computed (undefined: a graph constant's values). */
export const computedLanes = (e: EpilogueOp): Int32Array | undefined => (e.kind === 'bias' || e.kind === 'max' || e.kind === 'min' ? e.lanes : undefined);

/**
 * The epilogue on an accumulator region [base, base+n) laid out [oc][rows] (rows = n / oc);
 * `channelBase` gives where a step's channel vector sits, `scratch` the region needsScratch asks for,
 * `constantAt` the tile of each residentConstants value.
 */
export function aluEpilogue(ep: EpilogueOp[], base: number, oc: number, n: number, channelBase: (op: EpilogueOp) => number, scratch: number | undefined, constantAt: (value: number) => number, biasInitialised = false, scratchBelowTieMultiplier = true, channelTile0 = 0): KOp[] {
  const ops: KOp[] = [];
  const alu = new AluOn(base, oc, n, scratch, constantAt, scratchBelowTieMultiplier, channelTile0);
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
        if (e.lanes) ops.push(alu.broadcast(e.kind === 'max' ? ALU_OP.MAX : ALU_OP.MIN, channelBase(e)));
        else appendAll(ops, alu.bound(e.kind === 'max' ? ALU_OP.MAX : ALU_OP.MIN, e.value));
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

/**
 * The ops that make a scratch region safe for the tie bit (AluOn.requantizeExact) at the start of
 * a kernel: MUL 0, so that every later tile's MAX with the tie multiplier restores it. The
 * region then holds 0 or the last tie bits (0 / −1), never above the multiplier.
 */
export function clearScratch(ep: EpilogueOp[], scratch: number | undefined, n: number): KOp[] {
  if (scratch === undefined || !needsScratch(ep)) return [];
  return contiguous(n, (uops, l) => ({ kind: 'alu', aluOp: ALU_OP.MUL, imm: 0, uops, loop: l }), scratch);
}

/**
 * ALU ops over the tile [base, base+n) and its scratch region [scratch, scratch+n).
 * `scratchBelowTieMultiplier`: the scratch holds values ≤ every tie multiplier (clearScratch, or
 * an operand's bounded copy), so one MAX restores the multiplier there.
 */
class AluOn {
  constructor(
    private readonly base: number,
    private readonly oc: number,
    private readonly n: number,
    private readonly scratch: number | undefined,
    private readonly constantAt: (value: number) => number,
    private readonly scratchBelowTieMultiplier: boolean,
    /** The absolute index of the region's first channel tile (the region is laid out [oc][rows]). */
    private readonly channelTile0: number,
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
   * p = x·m (MUL imm, or MUL by the channel vector), then the IR's rounding shift exactly: w = p +
   * preShiftConstant (2^(n−1), unless an earlier bias added it: roundingFolded), and w >> n. Half
   * even without a static proof for its ties subtracts the tie bit β = bit n of w first: at a tie
   * (p mod 2^n = 2^(n−1)) w's low n bits are 0 and β is the parity of ⌊p/2^n⌋ + 1, so w − β
   * rounds to even; elsewhere w's low n bits are ≥ 1 and subtracting β ∈ {0, 1} changes no bit
   * above them. The scratch region gives β as 0 / −1 in three passes: MAX with c (restores the tie
   * multiplier over the previous tile's bits), MUL by w (bit 31 of c·w is β), SHR 31; then ADD
   * into w. Mod 2^32 this is the IR's (p + 2^(n−1) − 1 + ((p >> n) & 1)) >> n bit for bit.
   */
  requantizeExact(e: Requantize, channelBase: number): KOp[] {
    const ops: KOp[] = [];
    if (e.perChannel) ops.push(this.broadcast(ALU_OP.MUL, channelBase));
    else if (e.multiplier !== 1) appendAll(ops, this.imm(this.base, ALU_OP.MUL, e.multiplier));
    if (!e.roundingFolded) appendAll(ops, this.addConstant(preShiftConstant(e)));
    if (e.shift === 0) return ops;
    if (needsTieBit(e) && e.tieTiles) appendAll(ops, this.tieBitOnTiles(e.shift, e.tieTiles));
    else if (needsTieBit(e)) {
      if (!this.scratchBelowTieMultiplier) appendAll(ops, this.imm(this.t, ALU_OP.MUL, 0));
      ops.push(
        ...this.withConstantOn(this.t, ALU_OP.MAX, tieBitMultiplier(e.shift)),
        ...this.tensor(this.t, ALU_OP.MUL, this.base),
        ...this.imm(this.t, ALU_OP.SHR, 31),
        ...this.tensor(this.base, ALU_OP.ADD, this.t),
      );
    }
    ops.push(...this.imm(this.base, ALU_OP.SHR, e.shift));
    return ops;
  }

  /**
   * The tie bit on the channel tiles of this region that are listed (absolute indices): the same
   * four passes, one uop per such tile, each over its rows; the other channels' ties all round one
   * way (their constant says which).
   */
  private tieBitOnTiles(shift: number, tiles: number[]): KOp[] {
    const rows = this.n / this.oc;
    const local = [...new Set(tiles)].map((t) => t - this.channelTile0).filter((j) => j >= 0 && j < this.oc);
    if (local.length === 0) return [];
    const op = (aluOp: number, imm: number | undefined, dst: number, src: (j: number) => number, srcIn: number): KOp => ({
      kind: 'alu', aluOp, imm, uops: local.map((j) => ({ dst: dst + j * rows, src: src(j), wgt: 0 })), loop: uopLoop({ iterIn: rows, dstIn: 1, srcIn }),
    });
    const c = tieBitMultiplier(shift);
    const max = fitsImmediate(c) ? op(ALU_OP.MAX, c, this.t, (j) => this.t + j * rows, 1) : op(ALU_OP.MAX, undefined, this.t, () => this.constantAt(c), 0);
    return [
      max,
      op(ALU_OP.MUL, undefined, this.t, (j) => this.base + j * rows, 1),
      op(ALU_OP.SHR, 31, this.t, (j) => this.t + j * rows, 1),
      op(ALU_OP.ADD, undefined, this.base, (j) => this.t + j * rows, 1),
    ];
  }

  /** dst ∘= `value` over the region at `dst`: an immediate, or its resident tile. */
  private withConstantOn(dst: number, aluOp: number, value: number): KOp[] {
    if (fitsImmediate(value)) return this.imm(dst, aluOp, value);
    return contiguous(this.n, (uops, l) => ({ kind: 'alu', aluOp, imm: undefined, uops, loop: l }), dst, this.constantAt(value), 0);
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

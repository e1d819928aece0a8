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

export const uopLoop = (p: Partial<UopLoop>): UopLoop => ({ iterOut: 1, iterIn: 1, dstOut: 0, dstIn: 0, srcOut: 0, srcIn: 0, wgtOut: 0, wgtIn: 0, ...p });

/** Ops over `n` contiguous ACC tiles from `base`: one uop, loops split to fit 14 bits. */
export function contiguous(n: number, make: (uops: KUop[], l: UopLoop) => KOp, base: number, src = base): KOp[] {
  const out: KOp[] = [];
  let done = 0;
  while (done < n) {
    const len = Math.min(n - done, MAX_ITER);
    out.push(make([{ dst: base + done, src: src + done, wgt: 0 }], uopLoop({ iterIn: len, dstIn: 1, srcIn: 1 })));
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
    if (plane > 0) ops.push(...contiguous(n, (uops, l) => ({ kind: 'alu', aluOp: ALU_OP.SHR, imm: 8, uops, loop: l }), base));
    for (const st of stores) {
      if (st.kind === 'store') ops.push({ ...st, dram: { ...st.dram, offset: st.dram.offset + plane * bufs.int32PlaneTiles } });
    }
  }
  return ops;
}

/** max(max(x, a), b) = max(x, max(a, b)), likewise for min: relu followed by clip is one MAX. */
function mergeBounds(ep: EpilogueOp[]): EpilogueOp[] {
  const merged: EpilogueOp[] = [];
  for (const e of ep) {
    const last = merged[merged.length - 1];
    if (last && (e.kind === 'max' || e.kind === 'min') && last.kind === e.kind) {
      merged[merged.length - 1] = { ...last, value: e.kind === 'max' ? Math.max(last.value, e.value) : Math.min(last.value, e.value) };
    } else merged.push(e);
  }
  return merged;
}

/** The epilogue on an accumulator region [base, base+n) laid out [oc][rows] (rows = n / oc). */
export function aluEpilogue(ep: EpilogueOp[], base: number, oc: number, n: number, biasBase: (op: EpilogueOp) => number): KOp[] {
  const ops: KOp[] = [];
  const imm = (aluOp: number, value: number) => contiguous(n, (uops, l) => ({ kind: 'alu', aluOp, imm: value, uops, loop: l }), base);
  for (const e of mergeBounds(ep)) {
    switch (e.kind) {
      case 'bias': {
        // Broadcast: the bias tile of channel block c is added to every pixel of that block
        // (source factor 0 along the pixels).
        const rows = n / oc;
        ops.push({
          kind: 'alu',
          aluOp: ALU_OP.ADD,
          imm: undefined,
          uops: [{ dst: base, src: biasBase(e), wgt: 0 }],
          loop: uopLoop({ iterOut: oc, dstOut: rows, srcOut: 1, iterIn: rows, dstIn: 1, srcIn: 0 }),
        });
        break;
      }
      case 'requantize':
        ops.push(...requantizeOps(e, imm));
        break;
      case 'max':
        ops.push(...imm(ALU_OP.MAX, e.value));
        break;
      case 'min':
        ops.push(...imm(ALU_OP.MIN, e.value));
        break;
    }
  }
  return ops;
}

function requantizeOps(e: Extract<EpilogueOp, { kind: 'requantize' }>, imm: (aluOp: number, value: number) => KOp[]): KOp[] {
  const ops: KOp[] = [];
  if (e.multiplier !== 1) {
    // x·m + 2^(s−1) as ADD pre, MUL m, ADD post (lib/rounding.ts roundingSplit), then SHR s.
    const { pre, post } = roundingSplit(e.shift, e.multiplier);
    for (const part of immediateParts(pre)) ops.push(...imm(ALU_OP.ADD, part));
    ops.push(...imm(ALU_OP.MUL, e.multiplier));
    for (const part of immediateParts(post)) ops.push(...imm(ALU_OP.ADD, part));
    if (e.shift > 0) ops.push(...imm(ALU_OP.SHR, e.shift));
    return ops;
  }
  if (e.shift === 0) return ops;
  // Round half up: add 2^(shift-1) (at most 16384 per 16-bit immediate), then shift.
  let rest = 2 ** (e.shift - 1);
  while (rest > 0) {
    const part = Math.min(rest, 16384);
    ops.push(...imm(ALU_OP.ADD, part));
    rest -= part;
  }
  ops.push(...imm(ALU_OP.SHR, e.shift));
  return ops;
}

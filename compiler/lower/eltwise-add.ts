/**
 * Kernel kind `eltwise-add`: two int8 tile images loaded with ACC_8BIT, each multiplied by its
 * scale (a rescaled add), added on the ALU, the epilogue on the sum, stored; in chunks of
 * contiguous tiles alternating between two slots. The second operand's region is the epilogue's
 * scratch once the sum is formed.
 */
import type { VtaConfig } from '../../config/config.ts';
import { ALU_OP, MEM_TYPE } from '../../isa/index.ts';
import { accumulatorInit, aluEpilogue, contiguous, needsScratch, residentConstants, storePlanes, uopLoop } from '../epilogue.ts';
import { loadConstants } from '../tensorize.ts';
import type { EpilogueOp, VtaGroup } from '../fuse.ts';
import type { KOp } from '../kernel-ir.ts';
import { type ImageAllocator, gridTiles, packWeight, tileGrid } from '../pack.ts';
import { chooseEltwiseChunk } from '../tile.ts';
import type { KernelBuffers } from './buffers.ts';
import type { KindLowering } from './kind.ts';
import { appendAll } from '../../lib/array-loops.ts';

export interface EltwiseProblem {
  /** Tiles of each operand and of the result. */
  tiles: number;
}

export interface EltwiseChunking {
  chunk: number;
  slots: number;
}

/** One product operand·factor·2^shl the sum accumulates. */
interface Term {
  buffer: string;
  factor: number;
  shl: number;
}

const fits16 = (v: number) => v >= -32768 && v <= 32767;

/** The terms of operand·scale: one MUL immediate, or two (low and high 16 bits) for a wide scale. */
function termsOf(buffer: string, scale: number): Term[] {
  if (fits16(scale)) return [{ buffer, factor: scale, shl: 0 }];
  const lo = (scale << 16) >> 16;
  return [{ buffer, factor: lo, shl: 0 }, { buffer, factor: (scale - lo) / 0x10000, shl: 16 }];
}

/** Ops of an element-wise add of two int8 tile images of `tiles` tiles, `chunk` tiles at a time. */
export function tensorizeAdd(tiles: number, chunk: number, slots: number, bufs: KernelBuffers, ep: EpilogueOp[], cfg: VtaConfig, scales: [number, number] = [1, 1]): KOp[] {
  const constants = residentConstants(ep);
  const constRegion = cfg.accDepth - constants.length;
  const constantAt = new Map(constants.map((v, i) => [v, constRegion + i]));
  const ops: KOp[] = loadConstants(bufs, { constantAt });
  const slotSize = Math.floor(constRegion / slots);
  const terms = [...termsOf(bufs.input, scales[0]), ...termsOf(bufs.input2!, scales[1])];
  let n = 0;
  for (let t0 = 0; t0 < tiles; t0 += chunk) {
    const len = Math.min(chunk, tiles - t0);
    const a = (n++ % slots) * slotSize;
    const b = a + chunk;
    const imm = (base: number, aluOp: number, value: number) => contiguous(len, (uops, l) => ({ kind: 'alu', aluOp, imm: value, uops, loop: l }), base);
    // The first term lands in A; each other term is loaded into B, scaled there and added to A.
    for (const [i, term] of terms.entries()) {
      const base = i === 0 ? a : b;
      ops.push({ kind: 'load', memType: MEM_TYPE.ACC_8BIT, sram: base, dram: { buffer: term.buffer, offset: t0 }, y: 1, x: len, stride: len, pad: [0, 0, 0, 0] });
      if (term.factor !== 1) appendAll(ops, imm(base, ALU_OP.MUL, term.factor));
      if (term.shl !== 0) appendAll(ops, imm(base, ALU_OP.SHR, -term.shl));
      if (i > 0) appendAll(ops, contiguous(len, (uops, l) => ({ kind: 'alu', aluOp: ALU_OP.ADD, imm: undefined, uops, loop: l }), a, b));
    }
    // B, the scratch, holds the last term: an int8 operand times a 16-bit factor stays far below the
    // tie multiplier (≥ 2^30); a wide scale's shifted term does not.
    appendAll(ops, aluEpilogue(ep, a, 1, len, () => 0, b, (v) => constantAt.get(v)!, false, terms.every((t) => t.shl === 0)));
    appendAll(ops, storePlanes([{ kind: 'store', sram: a, dram: { buffer: bufs.output, offset: t0 }, y: 1, x: len, stride: len }], a, len, bufs));
  }
  ops.push({ kind: 'finish' });
  return ops;
}

/**
 * The scales of a rescaled add whose GEMM does the scaling: both fit a weight (scale · identity
 * tiles, square tiles needed), so the operands come in as INP tiles on the load stage and one
 * GEMM per operand forms scale_a·a + scale_b·b, where ACC_8BIT loads, MULs and an ADD took the
 * compute stage. Undefined for a plain add or scales wider than a weight.
 */
export function gemmScales(g: VtaGroup, cfg: VtaConfig): [number, number] | undefined {
  // (A half-even epilogue's scratch region stays with the ACC_8BIT form, whose second operand it reuses.)
  if (!g.scaled || cfg.blockIn !== cfg.blockOut || needsScratch(g.epilogue)) return undefined;
  const limit = 2 ** (cfg.wgtWidth - 1);
  const scales: [number, number] = [g.scaled[0].scale, g.scaled[1].scale];
  return scales.every((s) => s >= -limit && s < limit) ? scales : undefined;
}

/** The weight of a GEMM add: two tiles, scale_a · identity and scale_b · identity. */
function identityWeights(scales: [number, number], cfg: VtaConfig, allocate?: ImageAllocator): Uint8Array {
  const B = cfg.blockOut;
  const data = new Int8Array(B * 2 * B);
  for (let o = 0; o < B; o++) {
    data[o * 2 * B + o] = scales[0];
    data[o * 2 * B + B + o] = scales[1];
  }
  return packWeight([B, 2 * B, 1, 1], data, cfg, allocate).bytes;
}

/**
 * Ops of a GEMM add (gemmScales): per chunk, both operands' tiles loaded into an INP slot, the
 * accumulator initialised (a MAX with the epilogue's starting constant once the slot holds final
 * values, fold-epilogue.ts initByMax; else a GEMM reset), one GEMM whose outer loop runs over the
 * two operands and weight tiles, the epilogue, the store.
 */
function tensorizeAddOnGemm(tiles: number, chunk: number, slots: number, bufs: KernelBuffers, ep: EpilogueOp[], cfg: VtaConfig): KOp[] {
  const constants = residentConstants(ep);
  const constRegion = cfg.accDepth - constants.length;
  const constantAt = new Map(constants.map((v, i) => [v, constRegion + i]));
  const start = ep[0]?.kind === 'addConst' && ep[0].initMax ? ep[0] : undefined;
  const ops: KOp[] = [
    ...loadConstants(bufs, { constantAt }),
    { kind: 'load', memType: MEM_TYPE.WGT, sram: 0, dram: { buffer: bufs.weight!, offset: 0 }, y: 1, x: 2, stride: 2, pad: [0, 0, 0, 0] },
  ];
  const accSlot = Math.floor(constRegion / slots);
  const inpSlot = Math.floor(cfg.inpDepth / slots);
  const settled = new Uint8Array(cfg.accDepth);
  let n = 0;
  for (let t0 = 0; t0 < tiles; t0 += chunk) {
    const len = Math.min(chunk, tiles - t0);
    const slot = n++ % slots;
    const acc = slot * accSlot;
    const inp = slot * inpSlot;
    const init = start && { src: constantAt.get(start.value)!, settled: settled.subarray(acc, acc + len).every((v) => v === 1), uniform: true };
    appendAll(ops, accumulatorInit(acc, 1, len, init));
    for (const [i, buffer] of [bufs.input, bufs.input2!].entries()) {
      ops.push({ kind: 'load', memType: MEM_TYPE.INP, sram: inp + i * chunk, dram: { buffer, offset: t0 }, y: 1, x: len, stride: len, pad: [0, 0, 0, 0] });
    }
    ops.push({ kind: 'gemm', reset: false, uops: [{ dst: acc, src: inp, wgt: 0 }], loop: uopLoop({ iterOut: 2, srcOut: chunk, wgtOut: 1, iterIn: len, dstIn: 1, srcIn: 1 }) });
    appendAll(ops, aluEpilogue(ep, acc, 1, len, () => 0, undefined, (v) => constantAt.get(v)!, init?.settled));
    ops.push({ kind: 'store', sram: acc, dram: { buffer: bufs.output, offset: t0 }, y: 1, x: len, stride: len });
    settled.fill(1, acc, acc + len);
  }
  ops.push({ kind: 'finish' });
  return ops;
}

export const eltwiseAddLowering: KindLowering<EltwiseProblem, EltwiseChunking> = {
  matches: (g) => g.anchor.op === 'add',
  operands: (g) => (g.scaled ? g.scaled.map((o) => o.input) : [g.anchor.inputs[0]!, g.anchor.inputs[1]!]),
  problem: (g, cx) => ({ tiles: gridTiles(tileGrid(cx.types.get(g.output)!.shape, cx.cfg)) }),
  weight(g, _p, cx) {
    const scales = gemmScales(g, cx.cfg);
    return scales && { buffer: `const:identity:${scales.join(',')}`, pack: (allocate) => identityWeights(scales, cx.cfg, allocate) };
  },
  tile: (g, p, cfg) => chooseEltwiseChunk(p.tiles, cfg, residentConstants(g.epilogue).length, gemmScales(g, cfg) !== undefined),
  tensorize: (g, p, t, bufs, cfg) =>
    gemmScales(g, cfg)
      ? tensorizeAddOnGemm(p.tiles, t.chunk, t.slots, bufs, g.epilogue, cfg)
      : tensorizeAdd(p.tiles, t.chunk, t.slots, bufs, g.epilogue, cfg, g.scaled ? [g.scaled[0].scale, g.scaled[1].scale] : undefined),
  minDramBytes: (_g, b, plan) => plan.get(b.input).bytes + plan.get(b.input2!).bytes + plan.get(b.output).bytes + (b.weight ? plan.get(b.weight).bytes : 0),
  info: () => ({}),
  checkProblem(g, p, cx) {
    const want = gridTiles(tileGrid(cx.types.get(g.output)!.shape, cx.cfg));
    return p.tiles === want ? undefined : `${p.tiles} tiles, but ${g.output} has ${want}`;
  },
  checkTiling: (p, t, cfg) => (t.chunk >= 1 && 2 * t.chunk * t.slots <= cfg.accDepth ? undefined : `chunk of ${t.chunk} tiles in ${t.slots} slots does not fit ACC for ${p.tiles} tiles`),
  describeProblem: (p) => `${p.tiles} tiles`,
  describeTiling: (t) => `chunk ${t.chunk} x${t.slots}`,
};

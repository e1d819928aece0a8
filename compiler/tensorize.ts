/**
 * Tensorization: turn one fused group with its tiling into kernel-IR ops (loads, GEMMs with uop
 * kernels whose loops fold into iter_out/iter_in, the ALU epilogue, stores). SRAM is split into
 * `slots` halves that consecutive tiles alternate between (two virtual threads), so the load of
 * the next tile and the store of the previous one overlap the current GEMM; the sync pass adds
 * exactly the tokens those overlaps need.
 */
import type { VtaConfig } from '../config/config.ts';
import { ALU_OP, MEM_TYPE } from '../isa/index.ts';
import type { EpilogueOp } from './fuse.ts';
import { immediateParts, roundingSplit } from '../lib/rounding.ts';
import type { ConvBand } from './group-bands.ts';
import type { KOp, KUop, UopLoop } from './kernel-ir.ts';
import { MAX_ITER, type ConvProblem, type ConvTiling } from './tile.ts';

/** DRAM buffer names a kernel reads and writes. */
export interface KernelBuffers {
  input: string;
  /** Second operand of an element-wise add. */
  input2?: string;
  weight?: string;
  /** Bias buffer per bias_add epilogue node, by node name. */
  bias: Record<string, string>;
  output: string;
  /** Set for an int32 output: tiles per 8-bit plane (the output buffer holds four planes). */
  int32PlaneTiles?: number;
}

const loop = (p: Partial<UopLoop>): UopLoop => ({ iterOut: 1, iterIn: 1, dstOut: 0, dstIn: 0, srcOut: 0, srcIn: 0, wgtOut: 0, wgtIn: 0, ...p });

/** Ops over `n` contiguous ACC tiles from `base`: one uop, loops split to fit 14 bits. */
function contiguous(n: number, make: (uops: KUop[], l: UopLoop) => KOp, base: number, src = base): KOp[] {
  const out: KOp[] = [];
  let done = 0;
  while (done < n) {
    const len = Math.min(n - done, MAX_ITER);
    out.push(make([{ dst: base + done, src: src + done, wgt: 0 }], loop({ iterIn: len, dstIn: 1, srcIn: 1 })));
    done += len;
  }
  return out;
}

/**
 * The stores of accumulator region [base, base+n). An int32 output is four 8-bit planes, low
 * byte first: STORE keeps the low 8 bits, then SHR 8 brings the next byte down (an arithmetic
 * shift, so the top plane carries the sign) and the next plane is stored `int32PlaneTiles` on.
 */
function storePlanes(stores: KOp[], base: number, n: number, bufs: KernelBuffers): KOp[] {
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

/** The epilogue on an accumulator region [base, base+n) laid out [oc][rows] (rows = n / oc). */
function epilogueOps(
  ep: EpilogueOp[],
  base: number,
  oc: number,
  n: number,
  biasBase: (op: EpilogueOp) => number,
): KOp[] {
  const ops: KOp[] = [];
  // max(max(x, a), b) = max(x, max(a, b)), likewise for min: relu followed by clip is one MAX.
  const merged: EpilogueOp[] = [];
  for (const e of ep) {
    const last = merged[merged.length - 1];
    if (last && (e.kind === 'max' || e.kind === 'min') && last.kind === e.kind) {
      merged[merged.length - 1] = { ...last, value: e.kind === 'max' ? Math.max(last.value, e.value) : Math.min(last.value, e.value) };
    } else merged.push(e);
  }
  const imm = (aluOp: number, value: number) =>
    contiguous(n, (uops, l) => ({ kind: 'alu', aluOp, imm: value, uops, loop: l }), base);
  for (const e of merged) {
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
          loop: loop({ iterOut: oc, dstOut: rows, srcOut: 1, iterIn: rows, dstIn: 1, srcIn: 0 }),
        });
        break;
      }
      case 'requantize': {
        if (e.multiplier !== 1) {
          // x·m + 2^(s−1) as ADD pre, MUL m, ADD post (lib/rounding.ts roundingSplit), then SHR s.
          const { pre, post } = roundingSplit(e.shift, e.multiplier);
          for (const part of immediateParts(pre)) ops.push(...imm(ALU_OP.ADD, part));
          ops.push(...imm(ALU_OP.MUL, e.multiplier));
          for (const part of immediateParts(post)) ops.push(...imm(ALU_OP.ADD, part));
          if (e.shift > 0) ops.push(...imm(ALU_OP.SHR, e.shift));
          break;
        }
        if (e.shift === 0) break;
        // Round half up: add 2^(shift-1) (at most 16384 per 16-bit immediate), then shift.
        let rest = 2 ** (e.shift - 1);
        while (rest > 0) {
          const part = Math.min(rest, 16384);
          ops.push(...imm(ALU_OP.ADD, part));
          rest -= part;
        }
        ops.push(...imm(ALU_OP.SHR, e.shift));
        break;
      }
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

/** One band of a grouped convolution with its problem (CT/OT = the band's widths) and tiling. */
export interface BandLowering {
  band: ConvBand;
  problem: ConvProblem;
  tiling: ConvTiling;
}

/**
 * Lower a grouped convolution band by band (compiler/group-bands.ts). The slot counters run on
 * across bands, so one band's loads overlap the previous band's GEMM and store.
 */
export function lowerGroupedConv(parts: BandLowering[], totalCT: number, totalOT: number, bufs: KernelBuffers, ep: EpilogueOp[], cfg: VtaConfig): KOp[] {
  const ops: KOp[] = [];
  const counters = { tile: 0, chunk: 0, wgt: 0 };
  for (const { band, problem, tiling } of parts) {
    lowerConvInto(ops, problem, tiling, bufs, ep, cfg, { ...band, totalCT, totalOT }, counters);
  }
  ops.push({ kind: 'finish' });
  return ops;
}

/** Lower a convolution (or dense) group. */
export function lowerConv(p: ConvProblem, t: ConvTiling, bufs: KernelBuffers, ep: EpilogueOp[], cfg: VtaConfig): KOp[] {
  const ops: KOp[] = [];
  const whole = { oc0: 0, OT: p.OT, ic0: 0, CT: p.CT, wgtOffset: 0, totalCT: p.CT, totalOT: p.OT };
  lowerConvInto(ops, p, t, bufs, ep, cfg, whole, { tile: 0, chunk: 0, wgt: 0 });
  ops.push({ kind: 'finish' });
  return ops;
}

/**
 * Append the ops of a convolution over input channel tiles [ic0, ic0+p.CT) into output channel
 * tiles [oc0, oc0+p.OT) of tensors with totalCT / totalOT channel tiles (the whole tensors for a
 * plain convolution, one band of a grouped one), weights from tile wgtOffset on.
 */
function lowerConvInto(
  ops: KOp[],
  p: ConvProblem,
  t: ConvTiling,
  bufs: KernelBuffers,
  ep: EpilogueOp[],
  cfg: VtaConfig,
  place: ConvBand & { totalCT: number; totalOT: number },
  counters: { tile: number; chunk: number; wgt: number },
): void {
  const inpSlot = Math.floor(cfg.inpDepth / t.slots);
  const wgtSlot = Math.floor(cfg.wgtDepth / t.slots);
  const biasCount = ep.filter((e) => e.kind === 'bias').length;
  const biasRegion = cfg.accDepth - biasCount * t.tOC;
  const accSlot = Math.floor(biasRegion / t.slots);
  const biasIndex = new Map<EpilogueOp, number>();
  ep.filter((e) => e.kind === 'bias').forEach((e, i) => biasIndex.set(e, i));
  const KK = p.KH * p.KW;
  const { totalCT, totalOT } = place;

  const loadWeights = (slot: number, oc0: number, ocs: number, ic0: number, ics: number) => {
    ops.push({
      kind: 'load',
      memType: MEM_TYPE.WGT,
      sram: slot * wgtSlot,
      dram: { buffer: bufs.weight!, offset: place.wgtOffset + (oc0 * p.CT + ic0) * KK },
      y: ocs,
      x: ics * KK,
      stride: p.CT * KK,
      pad: [0, 0, 0, 0],
    });
  };

  for (let nb = 0; nb < p.NB; nb++) {
    for (let oc0 = 0; oc0 < p.OT; oc0 += t.tOC) {
      const ocs = Math.min(t.tOC, p.OT - oc0);
      for (const [e, i] of biasIndex) {
        ops.push({
          kind: 'load',
          memType: MEM_TYPE.ACC,
          sram: biasRegion + i * t.tOC,
          dram: { buffer: bufs.bias[e.node.name]!, offset: place.oc0 + oc0 },
          y: 1,
          x: ocs,
          stride: ocs,
          pad: [0, 0, 0, 0],
        });
      }
      let residentSlot = -1;
      if (t.weightsResident) {
        residentSlot = counters.wgt++ % t.slots;
        loadWeights(residentSlot, oc0, ocs, 0, p.CT);
      }
      for (let oh0 = 0; oh0 < p.OH; oh0 += t.tOH) {
        const ohs = Math.min(t.tOH, p.OH - oh0);
        for (let ow0 = 0; ow0 < p.OW; ow0 += t.tOW) {
          const ows = Math.min(t.tOW, p.OW - ow0);
          const accBase = (counters.tile++ % t.slots) * accSlot;
          const nAcc = ocs * ohs * ows;
          ops.push(...contiguous(nAcc, (uops, l) => ({ kind: 'gemm', reset: true, uops, loop: l }), accBase));
          // Input window of this output tile, in input rows/cols (may reach into the padding).
          const IHt = (ohs - 1) * p.sh + p.KH;
          const IWt = (ows - 1) * p.sw + p.KW;
          const ih0 = oh0 * p.sh - p.pt;
          const iw0 = ow0 * p.sw - p.pl;
          const padTop = Math.max(0, -ih0);
          const padLeft = Math.max(0, -iw0);
          const padBottom = Math.max(0, ih0 + IHt - p.H);
          const padRight = Math.max(0, iw0 + IWt - p.W);
          const rows = IHt - padTop - padBottom;
          const cols = IWt - padLeft - padRight;
          for (let ic0 = 0; ic0 < p.CT; ic0 += t.tIC) {
            const ics = t.weightsResident ? p.CT : Math.min(t.tIC, p.CT - ic0);
            const inpBase = (counters.chunk++ % t.slots) * inpSlot;
            if (padTop + padBottom + padLeft + padRight === 0 && cols === p.W) {
              // Unpadded full-width windows are contiguous per channel: one 2-D load for all
              // channels of the step (rows = channels), e.g. every dense layer.
              ops.push({
                kind: 'load',
                memType: MEM_TYPE.INP,
                sram: inpBase,
                dram: { buffer: bufs.input, offset: ((nb * totalCT + place.ic0 + ic0) * p.H + ih0) * p.W },
                y: ics,
                x: rows * cols,
                stride: p.H * p.W,
                pad: [0, 0, 0, 0],
              });
            } else for (let c = 0; c < ics; c++) {
              ops.push({
                kind: 'load',
                memType: MEM_TYPE.INP,
                sram: inpBase + c * IHt * IWt,
                dram: { buffer: bufs.input, offset: ((nb * totalCT + place.ic0 + ic0 + c) * p.H + ih0 + padTop) * p.W + iw0 + padLeft },
                y: rows,
                x: cols,
                stride: p.W,
                pad: [padTop, padBottom, padLeft, padRight],
              });
            }
            let wgtBase: number;
            if (t.weightsResident) wgtBase = residentSlot * wgtSlot;
            else {
              const slot = counters.wgt++ % t.slots;
              loadWeights(slot, oc0, ocs, ic0, ics);
              wgtBase = slot * wgtSlot;
            }
            // uops: (ic, kh, kw, ow) with ow innermost so consecutive uops write different tiles;
            // the loops fold output channels (outer) and output rows (inner).
            const uops: KUop[] = [];
            for (let c = 0; c < ics; c++)
              for (let kh = 0; kh < p.KH; kh++)
                for (let kw = 0; kw < p.KW; kw++)
                  for (let ow = 0; ow < ows; ow++)
                    uops.push({
                      dst: accBase + ow,
                      src: inpBase + c * IHt * IWt + kh * IWt + ow * p.sw + kw,
                      wgt: wgtBase + (c * p.KH + kh) * p.KW + kw,
                    });
            ops.push({
              kind: 'gemm',
              reset: false,
              uops,
              loop: loop({ iterOut: ocs, dstOut: ohs * ows, wgtOut: ics * KK, iterIn: ohs, dstIn: ows, srcIn: p.sh * IWt }),
            });
            if (t.weightsResident) break;
          }
          ops.push(...epilogueOps(ep, accBase, ocs, nAcc, (e) => biasRegion + biasIndex.get(e)! * t.tOC));
          const stores: KOp[] = [];
          if (ohs === p.OH && ows === p.OW) {
            stores.push({ kind: 'store', sram: accBase, dram: { buffer: bufs.output, offset: (nb * totalOT + place.oc0 + oc0) * p.OH * p.OW }, y: ocs, x: p.OH * p.OW, stride: p.OH * p.OW });
          } else {
            for (let c = 0; c < ocs; c++) {
              stores.push({
                kind: 'store',
                sram: accBase + c * ohs * ows,
                dram: { buffer: bufs.output, offset: ((nb * totalOT + place.oc0 + oc0 + c) * p.OH + oh0) * p.OW + ow0 },
                y: ohs,
                x: ows,
                stride: p.OW,
              });
            }
          }
          ops.push(...storePlanes(stores, accBase, nAcc, bufs));
        }
      }
    }
  }
}

/** Lower an element-wise add of two int8 tile images of `tiles` tiles. */
export function lowerAdd(tiles: number, chunk: number, slots: number, bufs: KernelBuffers, ep: EpilogueOp[], cfg: VtaConfig): KOp[] {
  const ops: KOp[] = [];
  const slotSize = Math.floor(cfg.accDepth / slots);
  let n = 0;
  for (let t0 = 0; t0 < tiles; t0 += chunk) {
    const len = Math.min(chunk, tiles - t0);
    const a = (n++ % slots) * slotSize;
    const b = a + chunk;
    for (const [buf, base] of [[bufs.input, a], [bufs.input2!, b]] as const) {
      ops.push({ kind: 'load', memType: MEM_TYPE.ACC_8BIT, sram: base, dram: { buffer: buf, offset: t0 }, y: 1, x: len, stride: len, pad: [0, 0, 0, 0] });
    }
    ops.push(...contiguous(len, (uops, l) => ({ kind: 'alu', aluOp: ALU_OP.ADD, imm: undefined, uops, loop: l }), a, b));
    ops.push(...epilogueOps(ep, a, 1, len, () => 0));
    ops.push(...storePlanes([{ kind: 'store', sram: a, dram: { buffer: bufs.output, offset: t0 }, y: 1, x: len, stride: len }], a, len, bufs));
  }
  ops.push({ kind: 'finish' });
  return ops;
}

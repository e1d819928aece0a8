/**
 * Tensorization of a convolution (dense is the 1x1 case): one fused group with its tiling becomes
 * kernel-IR ops, in the steps of docs/compiler.md "Tensorization":
 *
 *   for each output tile (channel block x rows x columns):
 *     reset the accumulators
 *     per reduction step: load the input tile (borders as DMA zero padding), load the weights,
 *                         one GEMM whose uop loop folds output channels and rows
 *     run the epilogue on the ALU, store the tile
 *
 * SRAM is split into `slots` halves that consecutive tiles alternate between (two virtual
 * threads), so the load of the next tile and the store of the previous one overlap the current
 * GEMM; the sync pass adds exactly the tokens those overlaps need.
 */
import type { VtaConfig } from '../config/config.ts';
import { MEM_TYPE } from '../isa/index.ts';
import { accumulatorInit, aluEpilogue, channelVectorOf, clearScratch, needsScratch, residentConstants, storePlanes, uopLoop } from './epilogue.ts';
import type { EpilogueOp } from './fuse.ts';
import type { ConvBand } from './group-bands.ts';
import type { KOp, KUop } from './kernel-ir.ts';
import type { KernelBuffers } from './lower/buffers.ts';
import type { ConvProblem, ConvTiling } from './tile.ts';
import { appendAll } from '../lib/array-loops.ts';

/** Where a (band of a) convolution sits in its tensors, which have totalCT / totalOT channel tiles. */
export type ConvPlacement = ConvBand & { totalCT: number; totalOT: number };

/** Slot counters that run on across the bands of a grouped convolution. */
export interface SlotCounters {
  tile: number;
  chunk: number;
  wgt: number;
  /** ACC tiles holding a final epilogue value of an earlier output tile (for a bias with initMax). */
  settled?: Uint8Array;
}

export const freshCounters = (): SlotCounters => ({ tile: 0, chunk: 0, wgt: 0 });

/** Whether every ACC tile of [base, base+n) is settled. */
const allSettled = (settled: Uint8Array, base: number, n: number) => settled.subarray(base, base + n).every((v) => v === 1);

/** The whole of a plain convolution's tensors. */
export const wholeTensors = (p: ConvProblem): ConvPlacement => ({ oc0: 0, OT: p.OT, ic0: 0, CT: p.CT, wgtOffset: 0, totalCT: p.CT, totalOT: p.OT });

/** The SRAM plan of a convolution: slot sizes and the bias tiles at the top of ACC. */
interface SramLayout {
  inpSlot: number;
  wgtSlot: number;
  accSlot: number;
  biasRegion: number;
  /** The resident epilogue constants: one tile each at the top of ACC, by value. */
  constantAt: Map<number, number>;
  /** Index of each channel vector's tiles (bias_add, per-channel multiplier) in the bias region. */
  biasIndex: Map<EpilogueOp, number>;
  /** The epilogue's scratch region (one accumulator tile's worth, below the bias region). */
  scratch?: number;
}

function sramLayout(t: ConvTiling, ep: EpilogueOp[], cfg: VtaConfig): SramLayout {
  const vectors = ep.filter((e) => channelVectorOf(e) !== undefined);
  const constants = residentConstants(ep);
  const constRegion = cfg.accDepth - constants.length;
  const biasRegion = constRegion - vectors.length * t.tOC;
  const scratch = needsScratch(ep) ? biasRegion - t.tOC * t.tOH * t.tOW : undefined;
  return {
    inpSlot: Math.floor(cfg.inpDepth / t.slots),
    wgtSlot: Math.floor(cfg.wgtDepth / t.slots),
    accSlot: Math.floor((scratch ?? biasRegion) / t.slots),
    biasRegion,
    constantAt: new Map(constants.map((v, i) => [v, constRegion + i])),
    biasIndex: new Map(vectors.map((e, i) => [e, i])),
    ...(scratch !== undefined ? { scratch } : {}),
  };
}

/** One output-channel block of one batch tile: the biases and (resident) weights it shares. */
interface ChannelBlock {
  nb: number;
  oc0: number;
  ocs: number;
}

/** One output tile: rows [oh0, oh0+ohs) x columns [ow0, ow0+ows) of a channel block. */
interface SpatialTile {
  oh0: number;
  ohs: number;
  ow0: number;
  ows: number;
}

function* channelBlocks(p: ConvProblem, t: ConvTiling): Generator<ChannelBlock> {
  for (let nb = 0; nb < p.NB; nb++) for (let oc0 = 0; oc0 < p.OT; oc0 += t.tOC) yield { nb, oc0, ocs: Math.min(t.tOC, p.OT - oc0) };
}

function* spatialTiles(p: ConvProblem, t: ConvTiling): Generator<SpatialTile> {
  for (let oh0 = 0; oh0 < p.OH; oh0 += t.tOH) {
    for (let ow0 = 0; ow0 < p.OW; ow0 += t.tOW) yield { oh0, ohs: Math.min(t.tOH, p.OH - oh0), ow0, ows: Math.min(t.tOW, p.OW - ow0) };
  }
}

/** Input channel tiles [ic0, ic0+ics) reduced per GEMM: all of them at once when weights are resident. */
function reductionSteps(p: ConvProblem, t: ConvTiling): { ic0: number; ics: number }[] {
  if (t.weightsResident) return [{ ic0: 0, ics: p.CT }];
  const steps = [];
  for (let ic0 = 0; ic0 < p.CT; ic0 += t.tIC) steps.push({ ic0, ics: Math.min(t.tIC, p.CT - ic0) });
  return steps;
}

/** The input window of an output tile, in input rows/columns, and how much of it is padding. */
interface InputWindow {
  IHt: number;
  IWt: number;
  ih0: number;
  iw0: number;
  /** [top, bottom, left, right]: the DMA's y_pad_0, y_pad_1, x_pad_0, x_pad_1. */
  pad: [number, number, number, number];
  rows: number;
  cols: number;
}

function inputWindow(p: ConvProblem, s: SpatialTile): InputWindow {
  const IHt = (s.ohs - 1) * p.sh + p.KH;
  const IWt = (s.ows - 1) * p.sw + p.KW;
  const ih0 = s.oh0 * p.sh - p.pt;
  const iw0 = s.ow0 * p.sw - p.pl;
  const top = Math.max(0, -ih0);
  const left = Math.max(0, -iw0);
  const bottom = Math.max(0, ih0 + IHt - p.H);
  const right = Math.max(0, iw0 + IWt - p.W);
  return { IHt, IWt, ih0, iw0, pad: [top, bottom, left, right], rows: IHt - top - bottom, cols: IWt - left - right };
}

/** Load the bias tiles of a channel block into the bias region. */
function loadBiases(b: ChannelBlock, at: ConvPlacement, bufs: KernelBuffers, t: ConvTiling, sram: SramLayout): KOp[] {
  return [...sram.biasIndex].map(([e, i]): KOp => ({
    kind: 'load',
    memType: MEM_TYPE.ACC,
    sram: sram.biasRegion + i * t.tOC,
    dram: { buffer: bufs.bias.get(e.node.name)!, offset: at.oc0 + b.oc0 },
    y: 1,
    x: b.ocs,
    stride: b.ocs,
    pad: [0, 0, 0, 0],
  }));
}

/** Load each resident epilogue constant's tile (once per kernel, or per band of a grouped one). */
export function loadConstants(bufs: KernelBuffers, sram: { constantAt: Map<number, number> }): KOp[] {
  return [...sram.constantAt].map(([v, tile]): KOp => ({
    kind: 'load', memType: MEM_TYPE.ACC, sram: tile, dram: { buffer: bufs.constants!.get(v)!, offset: 0 }, y: 1, x: 1, stride: 1, pad: [0, 0, 0, 0],
  }));
}

/** Load weight tiles [oc0, oc0+ocs) x [ic0, ic0+ics) x KH x KW into a WGT slot. */
function loadWeights(p: ConvProblem, at: ConvPlacement, bufs: KernelBuffers, sramBase: number, b: ChannelBlock, ic0: number, ics: number): KOp {
  const KK = p.KH * p.KW;
  return {
    kind: 'load',
    memType: MEM_TYPE.WGT,
    sram: sramBase,
    dram: { buffer: bufs.weight!, offset: at.wgtOffset + (b.oc0 * p.CT + ic0) * KK },
    y: b.ocs,
    x: ics * KK,
    stride: p.CT * KK,
    pad: [0, 0, 0, 0],
  };
}

/** Load the input window of channel tiles [ic0, ic0+ics) into an INP slot, borders as zero padding. */
function loadInputTile(p: ConvProblem, at: ConvPlacement, bufs: KernelBuffers, inpBase: number, nb: number, ic0: number, ics: number, w: InputWindow): KOp[] {
  const [top, bottom, left, right] = w.pad;
  const channel = (c: number) => nb * at.totalCT + at.ic0 + ic0 + c;
  if (top + bottom + left + right === 0 && w.cols === p.W) {
    // Unpadded full-width windows are contiguous per channel: one 2-D load for all channels of
    // the step (rows = channels), e.g. every dense layer.
    return [{ kind: 'load', memType: MEM_TYPE.INP, sram: inpBase, dram: { buffer: bufs.input, offset: (channel(0) * p.H + w.ih0) * p.W }, y: ics, x: w.rows * w.cols, stride: p.H * p.W, pad: [0, 0, 0, 0] }];
  }
  const ops: KOp[] = [];
  for (let c = 0; c < ics; c++) {
    ops.push({
      kind: 'load',
      memType: MEM_TYPE.INP,
      sram: inpBase + c * w.IHt * w.IWt,
      dram: { buffer: bufs.input, offset: (channel(c) * p.H + w.ih0 + top) * p.W + w.iw0 + left },
      y: w.rows,
      x: w.cols,
      stride: p.W,
      pad: [top, bottom, left, right],
    });
  }
  return ops;
}

/**
 * The uop list of a GEMM step, built once per distinct list: tiles of the same shape in the same
 * slots share one array (read-only from here on), so later passes that key or scan uop lists see
 * a few hundred lists rather than one per step.
 */
const gemmUopLists = new WeakMap<ConvProblem, Map<string, KUop[]>>();

function gemmUops(p: ConvProblem, ows: number, ics: number, accBase: number, inpBase: number, wgtBase: number, w: InputWindow): KUop[] {
  let lists = gemmUopLists.get(p);
  if (!lists) gemmUopLists.set(p, (lists = new Map()));
  const key = `${ows},${ics},${accBase},${inpBase},${wgtBase},${w.IHt},${w.IWt}`;
  const known = lists.get(key);
  if (known) return known;
  const uops: KUop[] = [];
  for (let c = 0; c < ics; c++)
    for (let kh = 0; kh < p.KH; kh++)
      for (let kw = 0; kw < p.KW; kw++)
        for (let ow = 0; ow < ows; ow++)
          uops.push({ dst: accBase + ow, src: inpBase + c * w.IHt * w.IWt + kh * w.IWt + ow * p.sw + kw, wgt: wgtBase + (c * p.KH + kh) * p.KW + kw });
  lists.set(key, uops);
  return uops;
}

/**
 * One GEMM over a reduction step: uops (ic, kh, kw, ow) with ow innermost so consecutive uops
 * write different tiles; the loops fold output channels (outer) and output rows (inner).
 */
function gemmStep(p: ConvProblem, s: SpatialTile, ocs: number, ics: number, accBase: number, inpBase: number, wgtBase: number, w: InputWindow): KOp {
  const uops = gemmUops(p, s.ows, ics, accBase, inpBase, wgtBase, w);
  const loop = uopLoop({ iterOut: ocs, dstOut: s.ohs * s.ows, wgtOut: ics * p.KH * p.KW, iterIn: s.ohs, dstIn: s.ows, srcIn: p.sh * w.IWt });
  return { kind: 'gemm', reset: false, uops, loop };
}

/** Store an output tile: one STORE for a tile covering the whole plane, else one per channel tile. */
function storeTile(p: ConvProblem, at: ConvPlacement, bufs: KernelBuffers, b: ChannelBlock, s: SpatialTile, accBase: number): KOp[] {
  const plane = p.OH * p.OW;
  const channel = (c: number) => b.nb * at.totalOT + at.oc0 + b.oc0 + c;
  const stores: KOp[] = [];
  if (s.ohs === p.OH && s.ows === p.OW) {
    stores.push({ kind: 'store', sram: accBase, dram: { buffer: bufs.output, offset: channel(0) * plane }, y: b.ocs, x: plane, stride: plane });
  } else {
    for (let c = 0; c < b.ocs; c++) {
      stores.push({ kind: 'store', sram: accBase + c * s.ohs * s.ows, dram: { buffer: bufs.output, offset: (channel(c) * p.OH + s.oh0) * p.OW + s.ow0 }, y: s.ohs, x: s.ows, stride: p.OW });
    }
  }
  return storePlanes(stores, accBase, b.ocs * s.ohs * s.ows, bufs);
}

/**
 * The ops of a convolution over input channel tiles [at.ic0, at.ic0+p.CT) into output channel
 * tiles [at.oc0, at.oc0+p.OT) (the whole tensors for a plain convolution, one band of a grouped
 * one), weights from tile at.wgtOffset on. Slots are taken from `counters`.
 */
export function tensorizeConv(p: ConvProblem, t: ConvTiling, bufs: KernelBuffers, ep: EpilogueOp[], cfg: VtaConfig, at: ConvPlacement, counters: SlotCounters): KOp[] {
  const ops: KOp[] = [];
  const sram = sramLayout(t, ep, cfg);
  const nextSlot = (counter: 'tile' | 'chunk' | 'wgt') => counters[counter]++ % t.slots;
  const biasAt = (e: EpilogueOp) => sram.biasRegion + sram.biasIndex.get(e)! * t.tOC;
  appendAll(ops, loadConstants(bufs, sram));
  appendAll(ops, clearScratch(ep, sram.scratch, t.tOC * t.tOH * t.tOW));
  const init = ep.find((e) => e.kind === 'bias' && e.initMax);
  const settled = (counters.settled ??= new Uint8Array(cfg.accDepth));
  // This band's channel vectors, constants and scratch overwrite what an earlier band left there.
  settled.fill(0, sram.scratch ?? sram.biasRegion);
  for (const b of channelBlocks(p, t)) {
    appendAll(ops, loadBiases(b, at, bufs, t, sram));
    let residentWgt: number | undefined;
    if (t.weightsResident) {
      residentWgt = nextSlot('wgt') * sram.wgtSlot;
      ops.push(loadWeights(p, at, bufs, residentWgt, b, 0, p.CT));
    }
    for (const s of spatialTiles(p, t)) {
      const accBase = nextSlot('tile') * sram.accSlot;
      const nAcc = b.ocs * s.ohs * s.ows;
      const initBias = init && { src: biasAt(init), settled: allSettled(settled, accBase, nAcc) };
      appendAll(ops, accumulatorInit(accBase, b.ocs, nAcc, initBias));
      const w = inputWindow(p, s);
      for (const { ic0, ics } of reductionSteps(p, t)) {
        const inpBase = nextSlot('chunk') * sram.inpSlot;
        appendAll(ops, loadInputTile(p, at, bufs, inpBase, b.nb, ic0, ics, w));
        let wgtBase = residentWgt;
        if (wgtBase === undefined) {
          wgtBase = nextSlot('wgt') * sram.wgtSlot;
          ops.push(loadWeights(p, at, bufs, wgtBase, b, ic0, ics));
        }
        ops.push(gemmStep(p, s, b.ocs, ics, accBase, inpBase, wgtBase, w));
      }
      appendAll(ops, aluEpilogue(ep, accBase, b.ocs, nAcc, biasAt, sram.scratch, (v) => sram.constantAt.get(v)!, initBias?.settled, true, at.oc0 + b.oc0));
      appendAll(ops, storeTile(p, at, bufs, b, s, accBase));
      settled.fill(1, accBase, accBase + nAcc);
    }
  }
  return ops;
}

/**
 * Tiling: choose block sizes so that every tile fits the SRAM buffers of the config (with two
 * slots each for double buffering when possible) and every loop and field fits its encoding,
 * minimising DRAM traffic plus a per-instruction overhead.
 *
 * A convolution (dense is the 1x1 case over rows of BATCH samples) is, in tiles:
 *   out[nb][ot][oh][ow] += inp[nb][ct][oh*sh+kh-pt][ow*sw+kw-pl] . wgt[ot][ct][kh][kw]
 * and a tile covers tOC output-channel tiles x tOH rows x tOW columns, reducing over tIC input
 * channel tiles per step.
 */
import type { VtaConfig } from '../config/config.ts';
import type { ConvWindow } from './pack.ts';

export interface ConvProblem {
  NB: number;
  CT: number;
  H: number;
  W: number;
  OT: number;
  KH: number;
  KW: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
  pb: number;
  pr: number;
  OH: number;
  OW: number;
  /** Accumulator tiles per output-channel tile reserved for channel vectors (biases, per-channel multipliers). */
  biasCount: number;
  /** The input is the im2col image cut with this window (the problem is the 1×1 convolution over it). */
  im2col?: ConvWindow;
  /** Accumulator tiles reserved for resident epilogue constants (epilogue.ts residentConstants). */
  constants?: number;
  /** The epilogue needs a scratch region as large as the accumulator tile (epilogue.ts needsScratch). */
  scratch?: boolean;
}

export interface ConvTiling {
  tOC: number;
  tIC: number;
  tOH: number;
  tOW: number;
  /** 2 = double buffering (two virtual threads alternate SRAM halves), 1 = single buffers. */
  slots: number;
  /** Whole reduction in one step: the weight block is loaded once per output-channel block. */
  weightsResident: boolean;
  /** Estimated DRAM bytes moved and instructions, for reports. */
  bytes: number;
  insns: number;
}

/** Hardware loop counts are 14 bits. */
export const MAX_ITER = (1 << 14) - 1;
/** DMA sizes and strides are 16 bits. */
export const MAX_XFER_FIELD = (1 << 16) - 1;
/** Per-instruction overhead in the cost model, in cycles (fetch + issue: 64 bytes' worth of DMA). */
const INSN_CYCLES = 8;
/** DRAM bytes per cycle the cost model assumes: the default 64-bit bus. */
const DMA_BYTES_PER_CYCLE = 8;

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** Candidate block sizes for an extent: every value up to 64, then divisors and halvings. */
export function candidates(extent: number): number[] {
  const s = new Set<number>();
  for (let v = 1; v <= Math.min(extent, 64); v++) s.add(v);
  for (let v = extent; v >= 1; v = Math.ceil(v / 2)) {
    s.add(v);
    if (v === 1) break;
  }
  for (let d = 1; d * d <= extent; d++) if (extent % d === 0) s.add(d).add(extent / d);
  return [...s].sort((a, b) => b - a);
}

export interface TileCheck {
  ok: boolean;
  why?: string;
}

/** What the search learns from a tiling that does not fit: no reason (formatting one for each costs more than the check). */
const DOES_NOT_FIT: TileCheck = Object.freeze({ ok: false });
const FITS: TileCheck = Object.freeze({ ok: true });

/** Whether one tiling fits the config; `why` names the first limit it breaks (unless `explain` is false). */
export function checkConvTiling(p: ConvProblem, t: Omit<ConvTiling, 'bytes' | 'insns' | 'weightsResident'>, cfg: VtaConfig, explain = true): TileCheck {
  const IHt = (t.tOH - 1) * p.sh + p.KH;
  const IWt = (t.tOW - 1) * p.sw + p.KW;
  const inpSlot = Math.floor(cfg.inpDepth / t.slots);
  const wgtSlot = Math.floor(cfg.wgtDepth / t.slots);
  const accTiles = t.tOC * t.tOH * t.tOW;
  const accSlot = Math.floor((cfg.accDepth - (p.constants ?? 0) - p.biasCount * t.tOC - (p.scratch ? accTiles : 0)) / t.slots);
  const gemmUops = t.tIC * p.KH * p.KW * t.tOW;
  if (t.tIC * IHt * IWt > inpSlot) return explain ? { ok: false, why: `input window ${t.tIC}x${IHt}x${IWt} tiles exceeds the ${inpSlot}-tile INP slot` } : DOES_NOT_FIT;
  if (t.tOC * t.tIC * p.KH * p.KW > wgtSlot) return explain ? { ok: false, why: `weights ${t.tOC}x${t.tIC}x${p.KH}x${p.KW} tiles exceed the ${wgtSlot}-tile WGT slot` } : DOES_NOT_FIT;
  if (accTiles > accSlot) return explain ? { ok: false, why: `accumulator ${t.tOC}x${t.tOH}x${t.tOW} tiles exceeds the ${accSlot}-tile ACC slot` } : DOES_NOT_FIT;
  if (accTiles > MAX_ITER) return explain ? { ok: false, why: `accumulator tile count ${accTiles} exceeds the 14-bit ALU loop` } : DOES_NOT_FIT;
  // All uop kernels of the layer (a few edge variants) should stay resident together.
  if (gemmUops > cfg.uopDepth / 4) return explain ? { ok: false, why: `${gemmUops} GEMM uops exceed a quarter of the ${cfg.uopDepth}-entry uop buffer` } : DOES_NOT_FIT;
  if (t.tOC > MAX_ITER || t.tOH > MAX_ITER) return explain ? { ok: false, why: 'loop count exceeds 14 bits' } : DOES_NOT_FIT;
  if (IWt > MAX_XFER_FIELD || p.W > MAX_XFER_FIELD || p.OW > MAX_XFER_FIELD) return explain ? { ok: false, why: 'row length exceeds the 16-bit DMA size/stride' } : DOES_NOT_FIT;
  if (p.CT * p.KH * p.KW > MAX_XFER_FIELD) return explain ? { ok: false, why: 'weight row stride exceeds the 16-bit DMA stride' } : DOES_NOT_FIT;
  return explain ? { ok: true } : FITS;
}

export function cost(p: ConvProblem, t: Omit<ConvTiling, 'bytes' | 'insns'>, cfg: VtaConfig): { bytes: number; insns: number } {
  const nOC = ceilDiv(p.OT, t.tOC);
  const nOH = ceilDiv(p.OH, t.tOH);
  const nOW = ceilDiv(p.OW, t.tOW);
  const nIC = ceilDiv(p.CT, t.tIC);
  const spatial = nOH * nOW;
  const IHt = (t.tOH - 1) * p.sh + p.KH;
  const IWt = (t.tOW - 1) * p.sw + p.KW;
  const inpBytes = p.NB * nOC * spatial * p.CT * Math.min(IHt, p.H) * Math.min(IWt, p.W) * cfg.inpElemBytes;
  const wgtTiles = p.OT * p.CT * p.KH * p.KW;
  const wgtBytes = (t.weightsResident ? p.NB : p.NB * spatial) * wgtTiles * cfg.wgtElemBytes;
  const outBytes = p.NB * p.OT * p.OH * p.OW * cfg.outElemBytes;
  const tiles = p.NB * nOC * spatial;
  const fullPlane = t.tOH >= p.OH && t.tOW >= p.OW;
  const insns = tiles * (2 + nIC * (1 + t.tIC + (t.weightsResident ? 0 : 1)) + (fullPlane ? 1 : t.tOC) + 3);
  return { bytes: inpBytes + wgtBytes + outBytes, insns };
}

/**
 * Cycles a tiling should take: the GEMM's uop-iterations (the same for every tiling) and the DMA
 * overlap with double buffering (two slots: the slower of the two), add up without it; each
 * instruction costs its issue. Less traffic breaks ties between tilings whose DMA is hidden.
 */
export function estimatedCycles(p: ConvProblem, t: Omit<ConvTiling, 'bytes' | 'insns'>, c: { bytes: number; insns: number }, cfg: VtaConfig): number {
  const gemm = p.NB * p.OT * p.OH * p.OW * p.CT * p.KH * p.KW;
  const dma = c.bytes / DMA_BYTES_PER_CYCLE;
  const overlapped = t.slots === 2 ? Math.max(gemm, dma) : gemm + dma;
  return overlapped + pipelineFill(p, t, cfg) + INSN_CYCLES * c.insns + dma / 8;
}

/**
 * Cycles nothing overlaps: the first reduction step's input window and weights are loaded before
 * the first GEMM, and the last tile is stored after the last one (a large first weight block of a
 * deep layer costs thousands of cycles).
 */
function pipelineFill(p: ConvProblem, t: Omit<ConvTiling, 'bytes' | 'insns'>, cfg: VtaConfig): number {
  const IHt = Math.min((t.tOH - 1) * p.sh + p.KH, p.H);
  const IWt = Math.min((t.tOW - 1) * p.sw + p.KW, p.W);
  const first = t.tIC * IHt * IWt * cfg.inpElemBytes + t.tOC * t.tIC * p.KH * p.KW * cfg.wgtElemBytes;
  const last = t.tOC * t.tOH * t.tOW * cfg.outElemBytes;
  return (first + last) / DMA_BYTES_PER_CYCLE;
}

/**
 * The index in `descending` of the largest block size for which `fits` holds (-1: none), given that
 * a block that fits stays fitting when made smaller (every limit of checkConvTiling grows with the
 * tile): the same answer as trying each size from the largest. `known` is an index already known to
 * fit (-1: none): the search gallops down from it, so a boundary that barely moved costs one or two
 * checks, then bisects.
 */
function largestFittingIndex(descending: readonly number[], fits: (v: number) => boolean, known = -1): number {
  let hi = known; // descending[hi] fits
  if (hi < 0) {
    hi = descending.length - 1;
    if (hi < 0 || !fits(descending[hi]!)) return -1;
  }
  let lo = -1; // descending[lo] is known not to fit (-1: none known)
  for (let step = 1; hi - step > lo; step *= 2) {
    if (!fits(descending[hi - step]!)) {
      lo = hi - step;
      break;
    }
    hi -= step;
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (fits(descending[mid]!)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Searches done, per config and problem: a network repeats its layer shapes. */
const chosenTilings = new WeakMap<VtaConfig, Map<string, ConvTiling | { why: string }>>();

/** The cheapest tiling that fits, or the reason none does (from the smallest candidate). */
export function chooseConvTiling(p: ConvProblem, cfg: VtaConfig): ConvTiling | { why: string } {
  let chosen = chosenTilings.get(cfg);
  if (!chosen) chosenTilings.set(cfg, (chosen = new Map()));
  const key = JSON.stringify(p);
  let result = chosen.get(key);
  if (!result) chosen.set(key, (result = searchConvTiling(p, cfg)));
  return { ...result };
}

function searchConvTiling(p: ConvProblem, cfg: VtaConfig): ConvTiling | { why: string } {
  let best: ConvTiling | undefined;
  let bestCost = Infinity;
  const [icCandidates, ocCandidates, owCandidates, ohCandidates] = [candidates(p.CT), candidates(p.OT), candidates(p.OW), candidates(p.OH)];
  // One tiling object, changed in place for each candidate (copied when it is the best so far): the
  // search tries some 10^5 candidates per layer shape, an object (and a closure) each otherwise.
  const t = { tOC: 0, tIC: 0, tOH: 0, tOW: 0, slots: 0, weightsResident: false };
  const fits = (h: number): boolean => {
    t.tOH = h;
    return checkConvTiling(p, t, cfg, false).ok;
  };
  for (const slots of [2, 1]) {
    t.slots = slots;
    for (const tIC of icCandidates) {
      t.tIC = tIC;
      t.weightsResident = tIC === p.CT;
      for (const tOC of ocCandidates) {
        if (tOC * tIC * p.KH * p.KW > cfg.wgtDepth / slots) continue;
        t.tOC = tOC;
        // tOW falls through the loop, so the tOH that fits can only grow: each search starts from the last.
        let fitting = -1;
        for (const tOW of owCandidates) {
          t.tOW = tOW;
          // Larger tOH first: the largest that fits is the best for this (tOC, tIC, tOW).
          fitting = largestFittingIndex(ohCandidates, fits, fitting);
          if (fitting < 0) continue;
          t.tOH = ohCandidates[fitting]!;
          const c = cost(p, t, cfg);
          const total = estimatedCycles(p, t, c, cfg);
          if (total < bestCost) {
            bestCost = total;
            best = { ...t, ...c };
          }
        }
      }
    }
  }
  if (!best) {
    // Some candidate fits whenever the smallest does, so its reason is the reason none fits.
    const smallest = checkConvTiling(p, { tOC: 1, tIC: 1, tOH: 1, tOW: 1, slots: 1 }, cfg);
    return { why: smallest.why ?? '' };
  }
  return best;
}

/** Element-wise kernels process contiguous runs of tiles: two operands per slot (below `reserved` constant tiles). */
export function chooseEltwiseChunk(tiles: number, cfg: VtaConfig, reserved = 0, onGemm = false): { chunk: number; slots: number } {
  const slots = 2;
  return { chunk: Math.max(1, largestEltwiseChunk(tiles, slots, cfg, reserved, onGemm)), slots };
}

/** The largest chunk of `tiles` that fits `slots` slots below `reserved` constant tiles, and the fields. */
export function largestEltwiseChunk(tiles: number, slots: number, cfg: VtaConfig, reserved: number, onGemm: boolean): number {
  // ACC_8BIT: both operands in an ACC slot; on the GEMM (lower/eltwise-add.ts): both in an INP slot.
  const perSlot = onGemm ? Math.min(Math.floor((cfg.accDepth - reserved) / slots), Math.floor(cfg.inpDepth / slots / 2)) : Math.floor((cfg.accDepth - reserved) / slots / 2);
  return Math.min(tiles, perSlot, MAX_ITER, MAX_XFER_FIELD);
}

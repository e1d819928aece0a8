/**
 * The tilings `vta tune` may choose from, per kernel: generated from the config's limits (buffer
 * depths, loop and DMA field widths), so every candidate fits, ranked by the compiler's own cost
 * model (tile.ts), and cut into the phases the search times (SEARCH_PHASES). A choice is a plain
 * record (JSON in a tuning file); `tilingOfChoice` turns it into the kind's tiling.
 *
 * The freedom a kernel has today: a convolution's block sizes (output and input channel tiles,
 * output rows and columns per tile) and single or double buffering; whether the weights stay
 * resident follows from the block (the whole reduction in one step). An element-wise add's chunk
 * of tiles and its buffering. The loop order is fixed by the tensorizer (channel blocks outer).
 */
import type { VtaConfig } from '../config/config.ts';
import type { PackedKernel } from './passes/pack-constants.ts';
import type { KernelKind, TilingOf } from './lower/table.ts';
import type { TiledKernel } from './passes/choose-tilings.ts';
import type { BandLowering, GroupedConvProblem } from './lower/grouped-conv.ts';
import { gemmScales, type EltwiseChunking, type EltwiseProblem } from './lower/eltwise-add.ts';
import { residentConstants } from './epilogue.ts';
import { candidates, checkConvTiling, cost, estimatedCycles, largestEltwiseChunk, MAX_ITER, MAX_XFER_FIELD, type ConvProblem, type ConvTiling } from './tile.ts';

/** A convolution's block: channel tiles out and in, output rows and columns, buffer slots. */
export interface ConvChoice {
  tOC: number;
  tIC: number;
  tOH: number;
  tOW: number;
  slots: number;
}

/** An element-wise kernel's chunk of tiles and buffer slots. */
export interface ChunkChoice {
  chunk: number;
  slots: number;
}

export type TilingChoice = ConvChoice | ChunkChoice;

/** The fields of each kind's choice, in the order a tuning file and the reports write them. */
export const CHOICE_FIELDS: Record<KernelKind, readonly string[]> = {
  conv: ['tOC', 'tIC', 'tOH', 'tOW', 'slots'],
  'grouped-conv': ['tOC', 'tIC', 'tOH', 'tOW', 'slots'],
  'eltwise-add': ['chunk', 'slots'],
};

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

export const describeChoice = (c: TilingChoice): string =>
  'chunk' in c ? `chunk ${c.chunk} x${c.slots}` : `oc${c.tOC} ic${c.tIC} h${c.tOH} w${c.tOW} x${c.slots}`;

/** The one convolution problem a grouped kernel's bands share, or undefined when their widths differ. */
function sharedBandProblem(p: GroupedConvProblem): ConvProblem | undefined {
  const [first, ...rest] = p.bands;
  if (!first || rest.some((b) => b.CT !== first.CT || b.OT !== first.OT)) return undefined;
  return { ...p.whole, CT: first.CT, OT: first.OT };
}

/** The convolution problem whose tiling a conv or grouped-conv kernel chooses (undefined: not tunable). */
function convProblemOf(k: PackedKernel): ConvProblem | undefined {
  if (k.kind === 'conv') return k.problem as ConvProblem;
  if (k.kind === 'grouped-conv') return sharedBandProblem(k.problem as GroupedConvProblem);
  return undefined;
}

/** Whether vta tune can choose this kernel's tiling (a grouped conv only when its bands are alike). */
export const isTunable = (k: PackedKernel): boolean => k.kind === 'eltwise-add' || convProblemOf(k) !== undefined;

/** A conv choice as the tiling the tensorizer takes (weights resident when one step reduces everything). */
function convTiling(p: ConvProblem, c: ConvChoice, cfg: VtaConfig): ConvTiling {
  const t = { tOC: c.tOC, tIC: c.tIC, tOH: c.tOH, tOW: c.tOW, slots: c.slots, weightsResident: c.tIC === p.CT };
  return { ...t, ...cost(p, t, cfg) };
}

/** A choice as the kind's tiling; `why` when it does not fit this kernel on this config. */
export function tilingOfChoice<K extends KernelKind>(k: PackedKernel<K>, c: TilingChoice, cfg: VtaConfig): { tiling: TilingOf<K> } | { why: string } {
  if (k.kind === 'eltwise-add') {
    if (!('chunk' in c)) return { why: 'an element-wise kernel takes a chunk, not a block' };
    const why = chunkProblem(k.problem as EltwiseProblem, c, reservedTiles(k), addOnGemm(k, cfg), cfg);
    return why ? { why } : { tiling: { chunk: c.chunk, slots: c.slots } as TilingOf<K> };
  }
  const p = convProblemOf(k);
  if (!p) return { why: 'its group bands differ in width, so no one block fits them all' };
  if ('chunk' in c) return { why: 'a convolution takes a block (tOC, tIC, tOH, tOW), not a chunk' };
  const shape = blockProblem(p, c);
  if (shape) return { why: shape };
  const fit = checkConvTiling(p, c, cfg);
  if (!fit.ok) return { why: fit.why! };
  const tiling = convTiling(p, c, cfg);
  if (k.kind === 'conv') return { tiling: tiling as TilingOf<K> };
  const g = k.problem as GroupedConvProblem;
  const parts: BandLowering[] = g.bands.map((band) => ({ band, problem: { ...g.whole, CT: band.CT, OT: band.OT }, tiling }));
  return { tiling: parts as TilingOf<K> };
}

/** Block sizes outside the problem's extents (checkConvTiling takes them as given). */
function blockProblem(p: ConvProblem, c: ConvChoice): string | undefined {
  const extents: [keyof ConvChoice, number][] = [['tOC', p.OT], ['tIC', p.CT], ['tOH', p.OH], ['tOW', p.OW]];
  for (const [field, extent] of extents) {
    if (c[field] < 1 || c[field] > extent) return `${field} ${c[field]} is outside 1..${extent}`;
  }
  return c.slots === 1 || c.slots === 2 ? undefined : `slots ${c.slots} is neither 1 nor 2`;
}

/** Accumulator tiles an element-wise kernel keeps for its resident constants. */
const reservedTiles = (k: PackedKernel): number => residentConstants(k.group.epilogue).length;

/** Whether the kernel's add runs on the GEMM (its operands in INP slots: lower/eltwise-add.ts). */
const addOnGemm = (k: PackedKernel, cfg: VtaConfig): boolean => gemmScales(k.group, cfg) !== undefined;

function chunkProblem(p: EltwiseProblem, c: ChunkChoice, reserved: number, onGemm: boolean, cfg: VtaConfig): string | undefined {
  if (c.slots !== 1 && c.slots !== 2) return `slots ${c.slots} is neither 1 nor 2`;
  const most = largestEltwiseChunk(p.tiles, c.slots, cfg, reserved, onGemm);
  return c.chunk >= 1 && c.chunk <= most ? undefined : `chunk ${c.chunk} is outside 1..${most} (${p.tiles} tiles, ${c.slots} slots)`;
}

/** The tiling the compiler chose for the kernel (its cost model's), as a choice. */
export function defaultChoice(k: TiledKernel): TilingChoice {
  if (k.kind === 'eltwise-add') {
    const t = k.tiling as EltwiseChunking;
    return { chunk: t.chunk, slots: t.slots };
  }
  const c = k.kind === 'conv' ? (k.tiling as ConvTiling) : (k.tiling as BandLowering[])[0]!.tiling;
  return { tOC: c.tOC, tIC: c.tIC, tOH: c.tOH, tOW: c.tOW, slots: c.slots };
}

/**
 * The tallest tile (output rows) that fits a block of tOC x tIC channel tiles and tOW columns in
 * `slots` slots, from the limits themselves: the INP slot bounds the input window's rows, the ACC
 * slot (less the bias, constant and scratch tiles) and the 14-bit ALU loop bound the accumulator
 * tiles. 0 when nothing fits.
 */
function tallestRows(p: ConvProblem, cfg: VtaConfig, slots: number, tOC: number, tIC: number, tOW: number): number {
  const IWt = (tOW - 1) * p.sw + p.KW;
  const inputRows = Math.floor(Math.floor(cfg.inpDepth / slots) / (tIC * IWt));
  const byInput = inputRows < p.KH ? 0 : Math.floor((inputRows - p.KH) / p.sh) + 1;
  const accFree = cfg.accDepth - (p.constants ?? 0) - p.biasCount * tOC;
  // With a scratch region as large as the tile, T tiles need T·(slots + 1) entries.
  const accTiles = p.scratch ? Math.floor(accFree / (slots + 1)) : Math.floor(accFree / slots);
  const byAcc = Math.floor(Math.min(accTiles, MAX_ITER) / (tOC * tOW));
  return Math.min(p.OH, byInput, byAcc, MAX_ITER);
}

/**
 * Every block worth timing: for each buffering, channel block and column count within the
 * weight, uop and DMA limits, the tallest row count that fits and the balanced one (equal tiles,
 * no short last tile). Nothing is generated and then discarded: the tests hold every block to the
 * compiler's own check (tile.ts checkConvTiling).
 */
function convSpace(p: ConvProblem, cfg: VtaConfig): ConvChoice[] {
  const out: ConvChoice[] = [];
  for (const slots of [2, 1]) {
    for (const tIC of candidates(p.CT)) {
      for (const tOC of candidates(p.OT)) {
        if (tOC * tIC * p.KH * p.KW > Math.floor(cfg.wgtDepth / slots) || tOC > MAX_ITER) continue;
        for (const tOW of candidates(p.OW)) {
          if (tIC * p.KH * p.KW * tOW > cfg.uopDepth / 4 || (tOW - 1) * p.sw + p.KW > MAX_XFER_FIELD) continue;
          const tallest = tallestRows(p, cfg, slots, tOC, tIC, tOW);
          if (tallest < 1) continue;
          const balanced = ceilDiv(p.OH, ceilDiv(p.OH, tallest));
          for (const tOH of new Set([tallest, balanced])) out.push({ tOC, tIC, tOH, tOW, slots });
        }
      }
    }
  }
  return out;
}

/** Chunks worth timing: per buffering the largest, the balanced one and halvings of it. */
function chunkSpace(p: EltwiseProblem, reserved: number, onGemm: boolean, cfg: VtaConfig): ChunkChoice[] {
  const out: ChunkChoice[] = [];
  for (const slots of [2, 1]) {
    const most = largestEltwiseChunk(p.tiles, slots, cfg, reserved, onGemm);
    if (most < 1) continue;
    const chunks = new Set([most, ceilDiv(p.tiles, ceilDiv(p.tiles, most))]);
    for (let c = most >> 1; c >= 1; c >>= 1) chunks.add(c);
    for (const chunk of chunks) out.push({ chunk, slots });
  }
  return out;
}

/** Estimated cycles of a conv block (tile.ts's cost model), for ranking. */
function convEstimate(p: ConvProblem, c: ConvChoice, cfg: VtaConfig): number {
  const t = { ...c, weightsResident: c.tIC === p.CT };
  return estimatedCycles(p, t, cost(p, t, cfg), cfg);
}

/** Estimated cycles of a chunking: instructions per chunk, with loads overlapped when double buffered. */
function chunkEstimate(p: EltwiseProblem, c: ChunkChoice): number {
  const chunks = ceilDiv(p.tiles, c.chunk);
  return chunks * 16 + (c.slots === 2 ? 0 : p.tiles);
}

/** The kernel's whole space, best estimate of the cost model first (empty: not tunable). */
export function rankedSpace(k: PackedKernel, cfg: VtaConfig): TilingChoice[] {
  const rank = <C>(space: C[], estimate: (c: C) => number): C[] =>
    space.map((c) => ({ c, e: estimate(c) })).sort((a, b) => a.e - b.e).map((x) => x.c);
  if (k.kind === 'eltwise-add') {
    const p = k.problem as EltwiseProblem;
    return rank(chunkSpace(p, reservedTiles(k), addOnGemm(k, cfg), cfg), (c) => chunkEstimate(p, c));
  }
  const p = convProblemOf(k);
  return p ? rank(convSpace(p, cfg), (c) => convEstimate(p, c, cfg)) : [];
}

/**
 * The search runs in phases, each narrowing around the best measured so far. The cost model ranks
 * blocks but misjudges how finely the reduction should be cut (smaller input-channel steps let
 * loads interleave with the GEMM and often win by 3-10 %), so the first phase times one block per
 * reduction step (the halvings of the input channel tiles, and the best single-buffered block);
 * the second, one per output-channel block at the winning step; the third, the best-ranked
 * spatial shapes at the winning channel blocks. An element-wise kernel has one phase: its chunks.
 */
export const SEARCH_PHASES = ['reduction', 'output-channels', 'spatial'] as const;
export type SearchPhase = (typeof SEARCH_PHASES)[number];

/** The best-ranked member of each group, groups in the rank order of their best member. */
function bestPerGroup(ranked: TilingChoice[], key: (c: ConvChoice) => string | undefined): TilingChoice[] {
  const seen = new Set<string>();
  return ranked.filter((c) => {
    const g = 'chunk' in c ? undefined : key(c);
    if (g === undefined || seen.has(g)) return false;
    seen.add(g);
    return true;
  });
}

/** Halvings of n down to 1: the reduction steps phase one tries. */
function halvings(n: number): Set<number> {
  const out = new Set<number>();
  for (let v = n; v >= 1; v = v === 1 ? 0 : Math.ceil(v / 2)) out.add(v);
  return out;
}

/** Up to `n` candidates of `phase` given the best choice so far (`ranked`: rankedSpace of the kernel). */
export function phaseChoices(ranked: TilingChoice[], phase: SearchPhase, best: TilingChoice, n: number): TilingChoice[] {
  if ('chunk' in best) return phase === 'reduction' ? ranked.slice(0, n) : [];
  const convs = ranked.filter((c): c is ConvChoice => !('chunk' in c));
  if (phase === 'reduction') {
    const steps = halvings(Math.max(...convs.map((c) => c.tIC)));
    steps.add(best.tIC);
    const double = bestPerGroup(convs, (c) => (c.slots === 2 && steps.has(c.tIC) ? String(c.tIC) : undefined));
    const single = bestPerGroup(convs, (c) => (c.slots === 1 ? 'single' : undefined));
    return [...double, ...single].slice(0, n);
  }
  const sameStep = convs.filter((c) => c.slots === best.slots && c.tIC === best.tIC);
  if (phase === 'output-channels') return bestPerGroup(sameStep, (c) => String(c.tOC)).slice(0, n);
  return sameStep.filter((c) => c.tOC === best.tOC).slice(0, n);
}

/** How many of a kernel's `top` candidates each phase gets: the reduction steps first, the rest split. */
export function phaseShares(top: number, reduction: number): Record<SearchPhase, number> {
  const first = Math.min(top, reduction);
  const channels = Math.ceil((top - first) / 2);
  return { reduction: first, 'output-channels': channels, spatial: top - first - channels };
}

/** Kernel kind `conv`: a dense or an ungrouped conv2d anchor, lowered as one convolution in tiles. */
import type { VtaConfig } from '../../config/config.ts';
import type { OpAttrs } from '../../graph/ir.ts';
import { channelVectorOf, needsScratch, residentConstants } from '../epilogue.ts';
import { compileError } from '../errors.ts';
import type { VtaGroup } from '../fuse.ts';
import type { MemoryPlan } from '../memplan.ts';
import { type ConvWindow, constData, gridTiles, packWeight, tileGrid } from '../pack.ts';
import { freshCounters, tensorizeConv, wholeTensors } from '../tensorize.ts';
import { checkConvTiling, chooseConvTiling, type ConvProblem, type ConvTiling } from '../tile.ts';
import { constBuffer, im2colBuffer, type KernelBuffers } from './buffers.ts';
import type { KindLowering, LowerContext, PackedInput } from './kind.ts';
import { byName } from '../../lib/named.ts';

export const convAttrs = (g: VtaGroup): OpAttrs['conv2d'] => (g.anchor.op === 'conv2d' ? g.anchor.attrs ?? {} : {}) as OpAttrs['conv2d'];
export const groupsOf = (g: VtaGroup): number => convAttrs(g).groups ?? 1;

/**
 * Whether a conv2d reads its input as im2col (pack.ts im2colActivation): the host provides the
 * input (so the executor can rearrange it on the way in) and its few channels padded to BLOCK_IN
 * would at least double the GEMM work of its taps packed into the reduction (ResNet's first 7×7
 * convolution over 3 channels: 49 reduction tiles padded, 10 packed).
 */
function packsInputAsIm2col(g: VtaGroup, cx: LowerContext): boolean {
  const x = g.anchor.inputs[0]!;
  if (g.anchor.op !== 'conv2d' || groupsOf(g) !== 1 || !cx.fromHost?.has(x)) return false;
  const [, C, KH, KW] = cx.graph.tensors[g.anchor.inputs[1]!]!.shape as [number, number, number, number];
  const BI = cx.cfg.blockIn;
  return 2 * Math.ceil((C * KH * KW) / BI) <= Math.ceil(C / BI) * KH * KW;
}

/** The 1×1 convolution over the im2col image of a conv2d's input (its taps × channels as channels). */
function im2colProblem(p: ConvProblem, C: number, cfg: VtaConfig): ConvProblem {
  const im2col: ConvWindow = { KH: p.KH, KW: p.KW, sh: p.sh, sw: p.sw, pad: [p.pt, p.pl, p.pb, p.pr] };
  const CT = Math.ceil((C * p.KH * p.KW) / cfg.blockIn);
  return { ...p, CT, H: p.OH, W: p.OW, KH: 1, KW: 1, sh: 1, sw: 1, pt: 0, pl: 0, pb: 0, pr: 0, im2col };
}

/** The convolution of a dense or conv2d anchor in tiles (dense is 1x1 over rows of BATCH samples). */
export function convProblem(g: VtaGroup, cx: LowerContext): ConvProblem {
  const p = plainConvProblem(g, cx);
  return packsInputAsIm2col(g, cx) ? im2colProblem(p, cx.types.get(g.anchor.inputs[0]!)!.shape[1]!, cx.cfg) : p;
}

function plainConvProblem(g: VtaGroup, cx: LowerContext): ConvProblem {
  const a = g.anchor;
  const w = byName(cx.graph.tensors, a.inputs[1]!)!;
  const at = convAttrs(g);
  const ig = tileGrid(cx.types.get(a.inputs[0]!)!.shape, cx.cfg);
  const og = tileGrid(cx.types.get(g.output)!.shape, cx.cfg);
  const [sh, sw] = at.stride ?? [1, 1];
  const [pt, pl, pb, pr] = at.pad ?? [0, 0, 0, 0];
  const KH = w.shape.length === 4 ? w.shape[2]! : 1;
  const KW = w.shape.length === 4 ? w.shape[3]! : 1;
  const biasCount = g.epilogue.filter((e) => channelVectorOf(e) !== undefined).length;
  const scratch = needsScratch(g.epilogue);
  const constants = residentConstants(g.epilogue).length;
  return { NB: ig.NB, CT: ig.CT, H: ig.H, W: ig.W, OT: og.CT, KH, KW, sh, sw, pt, pl, pb, pr, OH: og.H, OW: og.W, biasCount, ...(constants ? { constants } : {}), ...(scratch ? { scratch } : {}) };
}

/** The problem's tile counts against the tile grids of its tensors. */
export function checkConvProblem(g: VtaGroup, p: ConvProblem, cx: LowerContext): string | undefined {
  const x = cx.types.get(g.anchor.inputs[0]!)!.shape;
  const ig = p.im2col ? tileGrid([x[0]!, x[1]! * p.im2col.KH * p.im2col.KW, p.OH, p.OW], cx.cfg) : tileGrid(x, cx.cfg);
  const og = tileGrid(cx.types.get(g.output)!.shape, cx.cfg);
  if (p.NB !== ig.NB || p.CT !== ig.CT || p.H !== ig.H || p.W !== ig.W) return `input grid ${p.NB}x${p.CT}x${p.H}x${p.W} is not the tile grid of ${g.anchor.inputs[0]}`;
  if (p.OT !== og.CT || p.OH !== og.H || p.OW !== og.W) return `output grid ${p.OT}x${p.OH}x${p.OW} is not the tile grid of ${g.output}`;
  return undefined;
}

export function chooseTilingOrFail(g: VtaGroup, p: ConvProblem, cfg: VtaConfig, what = ''): ConvTiling {
  const t = chooseConvTiling(p, cfg);
  if ('why' in t) throw compileError('E_UNTILEABLE', g.anchor, `${what}${t.why}`);
  return t;
}

export function checkTilingFits(p: ConvProblem, t: ConvTiling, cfg: VtaConfig): string | undefined {
  const c = checkConvTiling(p, t, cfg);
  return c.ok ? undefined : `tiling oc${t.tOC} ic${t.tIC} h${t.tOH} w${t.tOW} x${t.slots} does not fit: ${c.why}`;
}

/** Input read once, every weight, bias and output byte once. */
export function convMinDramBytes(g: VtaGroup, b: KernelBuffers, plan: MemoryPlan, cx: LowerContext): number {
  // An im2col kernel reads its own image of the input: that buffer, once.
  const input = b.input.startsWith('im2col:') ? plan.get(b.input).bytes : gridTiles(tileGrid(cx.types.get(g.anchor.inputs[0]!)!.shape, cx.cfg)) * cx.cfg.inpElemBytes;
  const biases = [...b.bias.values()].reduce((s, name) => s + plan.get(name).bytes, 0);
  return input + plan.get(b.weight!).bytes + biases + plan.get(b.output).bytes;
}

export const describeConvProblem = (p: ConvProblem) =>
  `${p.im2col ? `im2col ${p.im2col.KH}x${p.im2col.KW} stride ${p.im2col.sh},${p.im2col.sw} pad ${p.im2col.pad.join(',')}: ` : ''}NB${p.NB} CT${p.CT} ${p.H}x${p.W} -> OT${p.OT} ${p.OH}x${p.OW}, kernel ${p.KH}x${p.KW} stride ${p.sh},${p.sw} pad ${p.pt},${p.pl},${p.pb},${p.pr}, ${p.biasCount} bias${p.constants ? `, ${p.constants} constant` : ''}${p.scratch ? ', scratch' : ''}`;
export const describeConvTiling = (t: ConvTiling) => `oc${t.tOC} ic${t.tIC} h${t.tOH} w${t.tOW} x${t.slots}${t.weightsResident ? ' weights resident' : ''}`;
export const tilingInfo = (t: ConvTiling) => ({ tOC: t.tOC, tIC: t.tIC, tOH: t.tOH, tOW: t.tOW, slots: t.slots });

export const convLowering: KindLowering<ConvProblem, ConvTiling> = {
  matches: (g) => g.anchor.op === 'dense' || (g.anchor.op === 'conv2d' && groupsOf(g) === 1),
  operands: (g) => [g.anchor.inputs[0]!],
  problem: convProblem,
  weight(g, p, cx) {
    const name = g.anchor.inputs[1]!;
    const w = byName(cx.graph.tensors, name)!;
    if (!p.im2col) return { buffer: constBuffer(name), pack: (allocate) => packWeight(w.shape, constData(name, w) as Int8Array, cx.cfg, allocate).bytes };
    // OIHW reshaped to [O, C·KH·KW, 1, 1]: the same bytes, in im2col's channel order. A buffer of
    // its own, as the same constant used by a plain convolution packs differently.
    const [O, C, KH, KW] = w.shape as [number, number, number, number];
    return { buffer: `${constBuffer(name)}:im2col`, pack: (allocate) => packWeight([O, C * KH * KW, 1, 1], constData(name, w) as Int8Array, cx.cfg, allocate).bytes };
  },
  tile: (g, p, cfg) => chooseTilingOrFail(g, p, cfg),
  tensorize: (g, p, t, bufs, cfg) => [...tensorizeConv(p, t, bufs, g.epilogue, cfg, wholeTensors(p), freshCounters()), { kind: 'finish' }],
  minDramBytes: convMinDramBytes,
  info: (t) => ({ tiling: tilingInfo(t) }),
  checkProblem: checkConvProblem,
  checkTiling: checkTilingFits,
  describeProblem: describeConvProblem,
  describeTiling: describeConvTiling,
  packedInput: (g, p, cfg) => (p.im2col ? im2colInput(g.anchor.inputs[0]!, p, cfg) : undefined),
};

function im2colInput(tensor: string, p: ConvProblem, cfg: VtaConfig): PackedInput {
  return { buffer: im2colBuffer(tensor), bytes: p.NB * p.CT * p.H * p.W * cfg.inpElemBytes, window: p.im2col! };
}

/** Kernel kind `conv`: a dense or an ungrouped conv2d anchor, lowered as one convolution in tiles. */
import type { VtaConfig } from '../../config/config.ts';
import type { OpAttrs } from '../../graph/ir.ts';
import { channelVectorOf, needsScratch } from '../epilogue.ts';
import { compileError } from '../errors.ts';
import type { VtaGroup } from '../fuse.ts';
import type { MemoryPlan } from '../memplan.ts';
import { constData, gridTiles, packWeight, tileGrid } from '../pack.ts';
import { freshCounters, tensorizeConv, wholeTensors } from '../tensorize.ts';
import { checkConvTiling, chooseConvTiling, type ConvProblem, type ConvTiling } from '../tile.ts';
import { constBuffer, type KernelBuffers } from './buffers.ts';
import type { KindLowering, LowerContext } from './kind.ts';
import { byName } from '../../lib/named.ts';

export const convAttrs = (g: VtaGroup): OpAttrs['conv2d'] => (g.anchor.op === 'conv2d' ? g.anchor.attrs ?? {} : {}) as OpAttrs['conv2d'];
export const groupsOf = (g: VtaGroup): number => convAttrs(g).groups ?? 1;

/** The convolution of a dense or conv2d anchor in tiles (dense is 1x1 over rows of BATCH samples). */
export function convProblem(g: VtaGroup, cx: LowerContext): ConvProblem {
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
  return { NB: ig.NB, CT: ig.CT, H: ig.H, W: ig.W, OT: og.CT, KH, KW, sh, sw, pt, pl, pb, pr, OH: og.H, OW: og.W, biasCount, ...(scratch ? { scratch } : {}) };
}

/** The problem's tile counts against the tile grids of its tensors. */
export function checkConvProblem(g: VtaGroup, p: ConvProblem, cx: LowerContext): string | undefined {
  const ig = tileGrid(cx.types.get(g.anchor.inputs[0]!)!.shape, cx.cfg);
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
  const input = gridTiles(tileGrid(cx.types.get(g.anchor.inputs[0]!)!.shape, cx.cfg)) * cx.cfg.inpElemBytes;
  const biases = [...b.bias.values()].reduce((s, name) => s + plan.get(name).bytes, 0);
  return input + plan.get(b.weight!).bytes + biases + plan.get(b.output).bytes;
}

export const describeConvProblem = (p: ConvProblem) =>
  `NB${p.NB} CT${p.CT} ${p.H}x${p.W} -> OT${p.OT} ${p.OH}x${p.OW}, kernel ${p.KH}x${p.KW} stride ${p.sh},${p.sw} pad ${p.pt},${p.pl},${p.pb},${p.pr}, ${p.biasCount} bias${p.scratch ? ', scratch' : ''}`;
export const describeConvTiling = (t: ConvTiling) => `oc${t.tOC} ic${t.tIC} h${t.tOH} w${t.tOW} x${t.slots}${t.weightsResident ? ' weights resident' : ''}`;
export const tilingInfo = (t: ConvTiling) => ({ tOC: t.tOC, tIC: t.tIC, tOH: t.tOH, tOW: t.tOW, slots: t.slots });

export const convLowering: KindLowering<ConvProblem, ConvTiling> = {
  matches: (g) => g.anchor.op === 'dense' || (g.anchor.op === 'conv2d' && groupsOf(g) === 1),
  operands: (g) => [g.anchor.inputs[0]!],
  problem: convProblem,
  weight(g, _p, cx) {
    const name = g.anchor.inputs[1]!;
    const w = byName(cx.graph.tensors, name)!;
    return { buffer: constBuffer(name), pack: () => packWeight(w.shape, constData(name, w) as Int8Array, cx.cfg).bytes };
  },
  tile: (g, p, cfg) => chooseTilingOrFail(g, p, cfg),
  tensorize: (g, p, t, bufs, cfg) => [...tensorizeConv(p, t, bufs, g.epilogue, cfg, wholeTensors(p), freshCounters()), { kind: 'finish' }],
  minDramBytes: convMinDramBytes,
  info: (t) => ({ tiling: tilingInfo(t) }),
  checkProblem: checkConvProblem,
  checkTiling: checkTilingFits,
  describeProblem: describeConvProblem,
  describeTiling: describeConvTiling,
};

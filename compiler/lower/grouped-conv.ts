/**
 * Kernel kind `grouped-conv`: a conv2d with groups > 1, lowered band by band (compiler/group-bands.ts).
 * The slot counters run on across bands, so one band's loads overlap the previous band's GEMM and store.
 */
import { type ConvBand, groupBands, packGroupedWeight } from '../group-bands.ts';
import { constData } from '../pack.ts';
import { freshCounters, tensorizeConv } from '../tensorize.ts';
import type { ConvProblem, ConvTiling } from '../tile.ts';
import type { KOp } from '../kernel-ir.ts';
import { checkConvProblem, checkTilingFits, chooseTilingOrFail, convMinDramBytes, convProblem, describeConvProblem, describeConvTiling, groupsOf, tilingInfo } from './conv.ts';
import type { KindLowering } from './kind.ts';
import { byName } from '../../lib/named.ts';
import { appendAll } from '../../lib/array-loops.ts';

export interface GroupedConvProblem {
  /** The convolution over the whole tensors (CT / OT: all channel tiles). */
  whole: ConvProblem;
  groups: number;
  bands: ConvBand[];
}

/** One band with its problem (CT/OT = the band's widths) and tiling. */
export interface BandLowering {
  band: ConvBand;
  problem: ConvProblem;
  tiling: ConvTiling;
}

export const groupedConvLowering: KindLowering<GroupedConvProblem, BandLowering[]> = {
  matches: (g) => g.anchor.op === 'conv2d' && groupsOf(g) > 1,
  operands: (g) => [g.anchor.inputs[0]!],
  problem(g, cx) {
    const whole = convProblem(g, cx);
    const groups = groupsOf(g);
    const cin = cx.types.get(g.anchor.inputs[0]!)!.shape[1]!;
    const cout = byName(cx.graph.tensors, g.anchor.inputs[1]!)!.shape[0]!;
    return { whole, groups, bands: groupBands(cin, cout, groups, whole.KH, whole.KW, cx.cfg) };
  },
  weight(g, p, cx) {
    // Packed band by band, so the buffer is not shareable with a dense use of the same weight.
    const name = g.anchor.inputs[1]!;
    const w = byName(cx.graph.tensors, name)!;
    const cin = cx.types.get(g.anchor.inputs[0]!)!.shape[1]!;
    return { buffer: `const:${name}:groups${p.groups}`, pack: () => packGroupedWeight(w.shape, constData(name, w) as Int8Array, cin, p.groups, p.bands, cx.cfg) };
  },
  tile(g, p, cfg) {
    // Bands of the same widths (all of them, for a regular grouped conv) share one tiling.
    const cache = new Map<string, ConvTiling>();
    return p.bands.map((band) => {
      const problem: ConvProblem = { ...p.whole, CT: band.CT, OT: band.OT };
      const key = `${band.CT}x${band.OT}`;
      let tiling = cache.get(key);
      if (!tiling) {
        tiling = chooseTilingOrFail(g, problem, cfg, `group band of ${band.CT} input x ${band.OT} output channel tiles: `);
        cache.set(key, tiling);
      }
      return { band, problem, tiling };
    });
  },
  tensorize(g, p, parts, bufs, cfg) {
    const ops: KOp[] = [];
    const counters = freshCounters();
    const placement = { totalCT: p.whole.CT, totalOT: p.whole.OT };
    for (const { band, problem, tiling } of parts) appendAll(ops, tensorizeConv(problem, tiling, bufs, g.epilogue, cfg, { ...band, ...placement }, counters));
    ops.push({ kind: 'finish' });
    return ops;
  },
  minDramBytes: convMinDramBytes,
  info: (parts) => ({ tiling: tilingInfo(parts[0]!.tiling), bands: parts.length }),
  checkProblem(g, p, cx) {
    const whole = checkConvProblem(g, p.whole, cx);
    if (whole) return whole;
    let next = 0;
    for (const b of p.bands) {
      if (b.oc0 !== next) return `band at output tile ${b.oc0} leaves a gap or overlap (expected ${next})`;
      if (b.ic0 + b.CT > p.whole.CT) return `band at output tile ${b.oc0} reads past input channel tile ${p.whole.CT}`;
      next = b.oc0 + b.OT;
    }
    return next === p.whole.OT ? undefined : `bands cover ${next} of ${p.whole.OT} output channel tiles`;
  },
  checkTiling(_p, parts, cfg) {
    for (const { band, problem, tiling } of parts) {
      const why = checkTilingFits(problem, tiling, cfg);
      if (why) return `band at output tile ${band.oc0}: ${why}`;
    }
    return undefined;
  },
  describeProblem: (p) => `${describeConvProblem(p.whole)}; ${p.groups} groups in ${p.bands.length} bands`,
  describeTiling: (parts) => parts.map((b) => `[oc ${b.band.oc0}+${b.band.OT} ic ${b.band.ic0}+${b.band.CT}] ${describeConvTiling(b.tiling)}`).join('; '),
};

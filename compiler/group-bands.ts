/**
 * Grouped and depthwise convolution as block-diagonal GEMM work.
 *
 * The grouped weight, seen as a dense OIHW{BLOCK}o{BLOCK}i tile grid over all input channels, is
 * block-diagonal: output channel o only reads the input channels of its group. For each output
 * channel tile the input tiles it needs form one contiguous range (its groups are consecutive, and
 * so are their input channels). Consecutive output tiles with the same range make a *band*; a band
 * is an ordinary convolution over a slice of the input channel tiles into a slice of the output
 * channel tiles, so the dense lowering runs it unchanged and no GEMM uop or weight tile is ever
 * spent on a tile outside every band. When Cin/groups and Cout/groups are multiples of BLOCK, each
 * band is one group and the GEMM work equals the grouped convolution's own MACs; otherwise the
 * zeros inside a band's tiles (channel padding, neighbouring groups) are the only waste.
 * Depthwise (one channel per group) gives one band per output tile reading one input tile: a
 * diagonal weight tile, so 1/BLOCK_IN of the GEMM's MACs are useful.
 * (The tensor ALU is no better for depthwise: per tap it needs a MUL and an ADD, each II >= 2, on
 * ACC_8BIT-loaded int32 copies of the input: about 4 cycles per BATCH x BLOCK tile of MACs, where
 * the diagonal GEMM does the same useful work in 1 cycle.)
 */
import { packSigned } from '../isa/elements.ts';
import type { VtaConfig } from '../config/config.ts';

/** A band, in tiles: output tiles [oc0, oc0+OT) read input tiles [ic0, ic0+CT). */
export interface ConvBand {
  oc0: number;
  OT: number;
  ic0: number;
  CT: number;
  /** First weight tile of the band's dense [OT][CT][KH][KW] block in the packed weight. */
  wgtOffset: number;
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** The bands of a convolution with `groups` groups, in output channel order. */
export function groupBands(cin: number, cout: number, groups: number, KH: number, KW: number, cfg: VtaConfig): ConvBand[] {
  const BO = cfg.blockOut;
  const BI = cfg.blockIn;
  const cg = cin / groups;
  const og = cout / groups;
  const bands: ConvBand[] = [];
  let wgtOffset = 0;
  for (let ot = 0; ot < ceilDiv(cout, BO); ot++) {
    const gLo = Math.floor((ot * BO) / og);
    const gHi = Math.floor((Math.min(cout, (ot + 1) * BO) - 1) / og);
    const ic0 = Math.floor((gLo * cg) / BI);
    const ic1 = ceilDiv((gHi + 1) * cg, BI);
    const last = bands[bands.length - 1];
    if (last && last.ic0 === ic0 && last.ic0 + last.CT === ic1) {
      last.OT++;
      wgtOffset += last.CT * KH * KW;
      continue;
    }
    bands.push({ oc0: ot, OT: 1, ic0, CT: ic1 - ic0, wgtOffset });
    wgtOffset += (ic1 - ic0) * KH * KW;
  }
  return bands;
}

/** Weight tiles the bands hold (the packed weight's size in tiles). */
export const bandWeightTiles = (bands: ConvBand[], KH: number, KW: number) => bands.reduce((s, b) => s + b.OT * b.CT * KH * KW, 0);

/**
 * Pack an OIHW grouped weight (I = Cin/groups) into each band's dense [OT][CT][KH][KW] block of
 * BLOCK_OUT x BLOCK_IN tiles, the bands one after another; entries outside the group are zero.
 */
export function packGroupedWeight(shape: number[], data: Int8Array, cin: number, groups: number, bands: ConvBand[], cfg: VtaConfig): Uint8Array {
  const [O, I, KH, KW] = shape as [number, number, number, number];
  const BO = cfg.blockOut;
  const BI = cfg.blockIn;
  const og = O / groups;
  const out = new Int8Array(bandWeightTiles(bands, KH, KW) * BO * BI);
  for (const b of bands) {
    for (let o = b.oc0 * BO; o < Math.min(O, (b.oc0 + b.OT) * BO); o++) {
      const g = Math.floor(o / og);
      for (let i = 0; i < I; i++) {
        const ci = g * I + i;
        if (ci >= cin) continue;
        const ct = Math.floor(ci / BI) - b.ic0;
        for (let kh = 0; kh < KH; kh++)
          for (let kw = 0; kw < KW; kw++) {
            const tile = b.wgtOffset + (((Math.floor(o / BO) - b.oc0) * b.CT + ct) * KH + kh) * KW + kw;
            out[(tile * BO + (o % BO)) * BI + (ci % BI)] = data[((o * I + i) * KH + kh) * KW + kw]!;
          }
      }
    }
  }
  return packSigned(out, cfg.wgtWidth);
}

/**
 * The tiling cost model (tile.ts): cycles, with DMA hidden behind the GEMM when a tiling is double
 * buffered and added to it when not. On ResNet-18's convolutions with the QDQ epilogue's ACC
 * reservations (three channel vectors, three resident constants, a scratch region) every layer
 * gets two slots; before, four 3×3 layers of stages 2 and 3 ran single-buffered.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { candidates, checkConvTiling, chooseConvTiling, cost, estimatedCycles, type ConvProblem, type ConvTiling } from '../../compiler/tile.ts';

const cfg = defaultVtaConfig();

/** A ResNet-18 convolution in tiles of 16 channels, with the QDQ epilogue's reservations. */
function resnetConv(cin: number, cout: number, size: number, k: number, stride: number): ConvProblem {
  const pad = k === 3 ? 1 : 0;
  const out = Math.floor((size + 2 * pad - k) / stride) + 1;
  return {
    NB: 1, CT: cin / 16, H: size + 2 * pad, W: size + 2 * pad, OT: cout / 16, KH: k, KW: k, sh: stride, sw: stride,
    pt: 0, pl: 0, pb: 0, pr: 0, OH: out, OW: out, biasCount: 3, constants: 3, scratch: true,
  };
}

const LAYERS: [string, ConvProblem][] = [
  ['stage 1 3x3', resnetConv(64, 64, 56, 3, 1)],
  ['stage 2 3x3/2', resnetConv(64, 128, 56, 3, 2)],
  ['stage 2 3x3', resnetConv(128, 128, 28, 3, 1)],
  ['stage 2 1x1/2', resnetConv(64, 128, 56, 1, 2)],
  ['stage 3 3x3/2', resnetConv(128, 256, 28, 3, 2)],
  ['stage 3 3x3', resnetConv(256, 256, 14, 3, 1)],
  ['stage 4 3x3', resnetConv(512, 512, 7, 3, 1)],
  ['stage 4 1x1/2', resnetConv(256, 512, 14, 1, 2)],
];

describe('tiling cost model', () => {
  for (const [name, p] of LAYERS) {
    it(`${name}: double buffered, and the tiling fits`, () => {
      const t = chooseConvTiling(p, cfg);
      if ('why' in t) throw new Error(t.why);
      expect(t.slots).toBe(2);
      expect(checkConvTiling(p, t, cfg)).toEqual({ ok: true });
    });
  }

  it('single buffers when no two-slot tiling fits', () => {
    // The smallest input window (3x3 tiles for one output pixel) fits a 12-tile INP, not a 6-tile half.
    const tiny = { ...cfg, inpDepth: 12, wgtDepth: 64, accDepth: 64 };
    const p = { ...resnetConv(16, 16, 4, 3, 1), biasCount: 0, constants: 0, scratch: false };
    const t = chooseConvTiling(p, tiny);
    if ('why' in t) throw new Error(t.why);
    expect(t.slots).toBe(1);
    expect(checkConvTiling(p, { ...t, slots: 2, tOH: 1, tOW: 1, tOC: 1, tIC: 1 }, tiny).ok).toBe(false);
  });
});

describe('tiling search reuse', () => {
  it('a repeated problem gets an equal tiling that the caller may change freely', () => {
    const p = resnetConv(64, 64, 56, 3, 1);
    const first = chooseConvTiling(p, cfg);
    if ('why' in first) throw new Error(first.why);
    const kept = { ...first };
    first.tOC = -1;
    expect(chooseConvTiling({ ...p }, cfg)).toEqual(kept);
  });

  it('a search check without a reason fails the same tilings', () => {
    const p = resnetConv(256, 256, 14, 3, 1);
    for (const t of [{ tOC: 16, tIC: 16, tOH: 14, tOW: 14, slots: 2 }, { tOC: 1, tIC: 1, tOH: 1, tOW: 1, slots: 2 }]) {
      const explained = checkConvTiling(p, t, cfg);
      expect(checkConvTiling(p, t, cfg, false).ok).toBe(explained.ok);
      if (!explained.ok) expect(explained.why).toBeTruthy();
    }
  });
});

/** The search done the slow way: every (slots, tIC, tOC, tOW) in the search's order, each tOH tried from the largest. */
function searchedOneByOne(p: ConvProblem, config: typeof cfg): ConvTiling | undefined {
  let best: ConvTiling | undefined;
  let bestCost = Infinity;
  for (const slots of [2, 1])
    for (const tIC of candidates(p.CT))
      for (const tOC of candidates(p.OT))
        for (const tOW of candidates(p.OW)) {
          const tOH = candidates(p.OH).find((h) => checkConvTiling(p, { tOC, tIC, tOH: h, tOW, slots }, config).ok);
          if (tOH === undefined) continue;
          const t = { tOC, tIC, tOH, tOW, slots, weightsResident: tIC === p.CT };
          const c = cost(p, t, config);
          const total = estimatedCycles(p, t, c, config);
          if (total < bestCost) [bestCost, best] = [total, { ...t, ...c }];
        }
  return best;
}

describe('tiling search shortcuts', () => {
  it('finds the tiling that trying every size finds, on roomy and cramped configs', () => {
    const cramped = { ...cfg, inpDepth: 96, wgtDepth: 80, accDepth: 160 };
    for (const config of [cfg, cramped])
      for (const [name, p] of [LAYERS[0]!, LAYERS[3]!, LAYERS[6]!, ['3x3 on 9x13', { ...resnetConv(32, 48, 9, 3, 1), W: 15, OW: 13 }] as const]) {
        const expected = searchedOneByOne(p, config);
        expect(chooseConvTiling(p, config), `${name} (INP ${config.inpDepth})`).toEqual(expected ?? expect.objectContaining({ why: expect.any(String) }));
      }
  });
});

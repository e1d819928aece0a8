/**
 * vta tune's search space (compiler/tuning-space.ts): every candidate is generated from the
 * config's limits, so every one fits and compiles (IR checks on), and a sample of them runs
 * race-free and bit-exact with the reference on fsim, on the default, b2x8 and a tiny-buffer config.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, makeConfig, type VtaConfig } from '../../config/config.ts';
import { tiledState } from '../../compiler/kernel-alone.ts';
import type { TilingOverride } from '../../compiler/passes/choose-tilings.ts';
import { defaultChoice, describeChoice, phaseChoices, rankedSpace, SEARCH_PHASES, tilingOfChoice, type TilingChoice } from '../../compiler/tuning-space.ts';
import type { Graph } from '../../graph/ir.ts';
import { compileAndCheck } from './harness.ts';
import { addGraph, convGraph, denseGraph, groupedConvGraph, randInt, rng, scaledAddGraph } from './helpers.ts';

const CONFIGS: [string, VtaConfig][] = [
  ['default', loadConfig()],
  ['b2x8', loadConfig('config/b2x8.json')],
  ['tiny 1x8x8', makeConfig({ LOG_INP_WIDTH: 3, LOG_WGT_WIDTH: 3, LOG_ACC_WIDTH: 5, LOG_BATCH: 0, LOG_BLOCK: 3, LOG_UOP_BUFF_SIZE: 11, LOG_INP_BUFF_SIZE: 10, LOG_WGT_BUFF_SIZE: 12, LOG_ACC_BUFF_SIZE: 12 })],
];

/** A compile option giving kernel 0 the tiling `choice` (the others keep theirs). */
function forcing(choice: TilingChoice): TilingOverride {
  return (k, cfg) => {
    const r = tilingOfChoice(k, choice, cfg);
    if ('why' in r) throw new Error(`candidate ${describeChoice(choice)} of ${k.name} does not fit: ${r.why}`);
    return r.tiling;
  };
}

function graphs(seed: number): Graph[] {
  const r = rng(seed);
  const conv = { n: 1, c: 8 * randInt(r, 1, 6), h: randInt(r, 3, 14), w: randInt(r, 3, 14), o: 8 * randInt(r, 1, 6), k: [1, 3][randInt(r, 0, 1)]!, stride: randInt(r, 1, 2), pad: 0 };
  conv.pad = conv.k === 3 ? randInt(r, 0, 1) : 0;
  return [
    convGraph(r, conv, { bias: true, shift: 6, relu: true }),
    denseGraph(r, 2, 8 * randInt(r, 2, 40), 8 * randInt(r, 1, 8), { bias: true, shift: 7 }),
    groupedConvGraph(r, 4),
    addGraph(),
    // A rescaled add whose scales fit a weight runs on the GEMM, its operands in INP slots.
    scaledAddGraph(2, 1, 1, true, 8 * randInt(r, 2, 5)),
  ];
}

describe('tuning space', () => {
  for (const [name, cfg] of CONFIGS) {
    it(`every candidate fits on ${name}; a sample compiles with IR checks and runs bit-exact and race-free`, async () => {
      for (const seed of [1, 2]) {
        for (const g of graphs(seed)) {
          const state = tiledState(g, { config: cfg });
          const k = state.kernels[0]!;
          const space = rankedSpace(k, cfg);
          expect(space.length, `${g.name}: empty space`).toBeGreaterThan(0);
          for (const c of space) {
            const r = tilingOfChoice(k, c, cfg);
            expect('why' in r ? `${describeChoice(c)}: ${r.why}` : undefined, g.name).toBeUndefined();
          }
          // The default, the first candidate of each phase, and the last-ranked: compile and run.
          const best = defaultChoice(k);
          const sample = [best, ...SEARCH_PHASES.flatMap((p) => phaseChoices(space, p, best, 1)), space[space.length - 1]!];
          for (const c of sample) {
            const { races } = await compileAndCheck(g, cfg, seed, { tilings: forcing(c) });
            expect(races, `${g.name} with ${describeChoice(c)}`).toEqual([]);
          }
        }
      }
    }, 120_000);
  }

  it('the space holds the tilings the cost model does not pick: single buffering and every reduction step', () => {
    const cfg = loadConfig();
    const g = convGraph(rng(3), { n: 1, c: 64, h: 14, w: 14, o: 64, k: 3, stride: 1, pad: 1 }, { bias: true, shift: 8 });
    const k = tiledState(g, { config: cfg }).kernels[0]!;
    const space = rankedSpace(k, cfg).filter((c): c is Exclude<TilingChoice, { chunk: number }> => !('chunk' in c));
    expect(new Set(space.map((c) => c.slots))).toEqual(new Set([1, 2]));
    expect(new Set(space.map((c) => c.tIC))).toEqual(new Set([1, 2, 3, 4]));
    const reduction = phaseChoices(space, 'reduction', defaultChoice(k), Infinity) as typeof space;
    // One per halving of the 4 input tiles (4, 2, 1), double buffered, and one single-buffered.
    expect(reduction.filter((c) => c.slots === 2).map((c) => c.tIC).sort()).toEqual([1, 2, 4]);
    expect(reduction.filter((c) => c.slots === 1)).toHaveLength(1);
  });
});

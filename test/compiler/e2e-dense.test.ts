import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig } from '../../config/config.ts';
import { compileAndCheck } from './harness.ts';
import { denseGraph, rng } from './helpers.ts';

const cfg = defaultVtaConfig();

describe('dense with fused epilogue, end to end on fsim', () => {
  it('16x32x48 + bias, >>8, relu, clip, cast is bit-exact and race-free', async () => {
    const g = denseGraph(rng(7), 16, 32, 48, { bias: true, shift: 8, relu: true, clip: [0, 127] });
    const r = await compileAndCheck(g, cfg);
    expect(r.races).toEqual([]);
    expect(r.model.kernels).toHaveLength(1);
    expect(r.model.partition.every((l) => l.startsWith('vta'))).toBe(true);
  });
  it('odd sizes 3x20x5 (padded channels and rows) on b2x8', async () => {
    const b2x8 = loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname);
    const g = denseGraph(rng(8), 3, 20, 5, { shift: 4, clip: [-100, 100] });
    const r = await compileAndCheck(g, b2x8);
    expect(r.races).toEqual([]);
  });
});

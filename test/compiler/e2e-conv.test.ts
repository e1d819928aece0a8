import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig } from '../../config/config.ts';
import { compileAndCheck } from './harness.ts';
import { convGraph, rng, type ConvSpec } from './helpers.ts';

const cfg = defaultVtaConfig();
const b2x8 = loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname);

const cases: [string, ConvSpec][] = [
  ['3x3 pad 1 stride 1, 16->32 on 8x8', { n: 1, c: 16, h: 8, w: 8, o: 32, k: 3, stride: 1, pad: 1 }],
  ['3x3 pad 1 stride 2, odd sizes 20->24 on 9x7', { n: 1, c: 20, h: 9, w: 7, o: 24, k: 3, stride: 2, pad: 1 }],
  ['1x1 stride 2, 32->48 on 10x10', { n: 1, c: 32, h: 10, w: 10, o: 48, k: 1, stride: 2, pad: 0 }],
  ['5x5 pad 2, batch 2, 3->16 on 6x5', { n: 2, c: 3, h: 6, w: 5, o: 16, k: 5, stride: 1, pad: 2 }],
];

describe('conv2d with fused epilogue, end to end on fsim', () => {
  for (const [name, spec] of cases) {
    it(name, async () => {
      const g = convGraph(rng(spec.h * 31 + spec.o), spec, { bias: true, shift: 8, relu: true, clip: [0, 127] });
      const r = await compileAndCheck(g, cfg);
      expect(r.races).toEqual([]);
    });
  }
  it('3x3 pad 1 on b2x8 with batch 3 (padded batch)', async () => {
    const g = convGraph(rng(3), { n: 3, c: 12, h: 6, w: 6, o: 10, k: 3, stride: 1, pad: 1 }, { shift: 6, clip: [-128, 127] });
    const r = await compileAndCheck(g, b2x8);
    expect(r.races).toEqual([]);
  });
});

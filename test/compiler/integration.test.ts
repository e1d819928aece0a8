/**
 * TVM's VTA integration cases as strict tests (spec §6.2): bit-exact against the reference and
 * race-free. The other ResNet-18 layers run in bench/compiler-bench.ts.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { compileAndCheck } from './harness.ts';
import { convGraph, denseGraph, rng } from './helpers.ts';

const cfg = defaultVtaConfig();

describe('TVM integration cases', () => {
  it('test_benchmark_gemm: 128x128x128, >>8, relu, min 127, cast', async () => {
    const g = denseGraph(rng(128), 128, 128, 128, { shift: 8, relu: true, clip: [0, 127] });
    const r = await compileAndCheck(g, cfg);
    expect(r.races).toEqual([]);
  });

  it('test_benchmark_topi_dense main: 16x512x1008, >>8, clip(0,127), cast', async () => {
    const g = denseGraph(rng(1008), 16, 512, 1008, { shift: 8, clip: [0, 127] });
    const r = await compileAndCheck(g, cfg);
    expect(r.races).toEqual([]);
  });

  // (H=W, Cin, Cout, k, pad, stride): >>8, + bias (±2^14), clip(0,127), cast.
  const layers: [string, number, number, number, number, number, number][] = [
    ['C7', 28, 128, 256, 1, 0, 2],
    ['C11', 7, 512, 512, 3, 1, 1],
  ];
  for (const [name, hw, ci, co, k, pad, s] of layers) {
    it(`ResNet-18 ${name}: ${hw}x${hw} ${ci}->${co} k${k} pad ${pad} stride ${s}`, async () => {
      const g = convGraph(rng(hw * co), { n: 1, c: ci, h: hw, w: hw, o: co, k, stride: s, pad }, { shift: 8, bias: true, shiftFirst: true, clip: [0, 127] });
      const r = await compileAndCheck(g, cfg);
      expect(r.races).toEqual([]);
    });
  }
});

/**
 * Property tests: random shapes, strides, paddings, epilogues and configs (default 1x16x16,
 * b2x8, and a tiny-buffer config that forces many tiles and single buffering). Every compiled
 * program must run to FINISH on fsim, match the reference bit for bit, and be race-free.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig, makeConfig, type VtaConfig } from '../../config/config.ts';
import type { Graph } from '../../graph/ir.ts';
import { compileAndCheck } from './harness.ts';
import { GraphBuilder, convGraph, denseGraph, randInt, randomTensor, rng, type EpilogueSpec } from './helpers.ts';

const configs: [string, VtaConfig][] = [
  ['1x16x16', defaultVtaConfig()],
  ['b2x8', loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname)],
  [
    'tiny 1x8x8',
    makeConfig({ LOG_INP_WIDTH: 3, LOG_WGT_WIDTH: 3, LOG_ACC_WIDTH: 5, LOG_BATCH: 0, LOG_BLOCK: 3, LOG_UOP_BUFF_SIZE: 11, LOG_INP_BUFF_SIZE: 10, LOG_WGT_BUFF_SIZE: 12, LOG_ACC_BUFF_SIZE: 12 }),
  ],
];

function randomEpilogue(r: () => number): EpilogueSpec {
  const lo = randInt(r, -128, 0);
  return {
    bias: r() < 0.6,
    ...(r() < 0.8 ? { shift: randInt(r, 0, 12) } : {}),
    relu: r() < 0.4,
    ...(r() < 0.7 ? { clip: [lo, randInt(r, lo, 127)] as [number, number] } : {}),
    shiftFirst: r() < 0.5,
  };
}

function randomAdd(r: () => number): Graph {
  const rank4 = r() < 0.6;
  const shape = rank4 ? [randInt(r, 1, 3), randInt(r, 1, 40), randInt(r, 1, 9), randInt(r, 1, 9)] : [randInt(r, 1, 9), randInt(r, 1, 70)];
  const b = new GraphBuilder('add', [
    { name: 'x', shape, dtype: 'int8' },
    { name: 'y', shape, dtype: 'int8' },
  ]);
  let t = b.node('add', ['x', 'y'], undefined, 'add');
  if (r() < 0.5) t = b.node('requantize', [t], { shift: randInt(r, 0, 3) });
  if (r() < 0.5) t = b.node('clip', [t], { min: -100, max: 100 });
  return b.output(b.node('cast', [t], { dtype: 'int8' }));
}

describe('random layers on random configs', () => {
  for (const [cname, cfg] of configs) {
    for (let seed = 1; seed <= 5; seed++) {
      it(`${cname}: conv2d #${seed}`, async () => {
        const r = rng(seed * 7919 + cname.length);
        const k = randInt(r, 1, 4);
        const spec = {
          n: randInt(r, 1, 3),
          c: randInt(r, 1, 40),
          h: randInt(r, k, 12),
          w: randInt(r, k, 12),
          o: randInt(r, 1, 40),
          k,
          stride: randInt(r, 1, 3),
          pad: randInt(r, 0, k - 1),
        };
        const res = await compileAndCheck(convGraph(r, spec, randomEpilogue(r)), cfg, seed);
        expect(res.races).toEqual([]);
        expect(res.model.kernels).toHaveLength(1);
      });
    }
    for (let seed = 1; seed <= 3; seed++) {
      it(`${cname}: dense #${seed}`, async () => {
        const r = rng(seed * 104729 + cname.length);
        const g = denseGraph(r, randInt(r, 1, 20), randInt(r, 1, 100), randInt(r, 1, 100), randomEpilogue(r));
        const res = await compileAndCheck(g, cfg, seed);
        expect(res.races).toEqual([]);
        expect(res.model.kernels).toHaveLength(1);
      });
      it(`${cname}: add #${seed}`, async () => {
        const res = await compileAndCheck(randomAdd(rng(seed * 31 + cname.length)), cfg, seed);
        expect(res.races).toEqual([]);
        expect(res.model.kernels).toHaveLength(1);
      });
    }
  }
});

describe('random tensor values do not hide wrapping', () => {
  it('int32 wrap-around in a long reduction matches the reference', async () => {
    // 1024 products of -128*-128 overflow nothing, but a bias near 2^31 wraps on ADD.
    const b = new GraphBuilder('wrap', [{ name: 'x', shape: [2, 1024], dtype: 'int8' }]);
    let t = b.node('dense', ['x', b.constant('w', randomTensor(rng(9), [16, 1024], 'int8'))], undefined, 'fc');
    t = b.node('bias_add', [t, b.constant('b', randomTensor(rng(10), [16], 'int32', 2 ** 31 - 3000000, 2 ** 31 - 1))]);
    t = b.node('requantize', [t], { shift: 16 });
    const g = b.output(b.node('cast', [t], { dtype: 'int8' }));
    const res = await compileAndCheck(g, defaultVtaConfig());
    expect(res.races).toEqual([]);
  });
});

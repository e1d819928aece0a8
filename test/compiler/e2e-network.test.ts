import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig } from '../../config/config.ts';
import type { Graph } from '../../graph/ir.ts';
import { compileAndCheck } from './harness.ts';
import { GraphBuilder, randomTensor, rng } from './helpers.ts';

/** A small residual network: conv -> conv -> add(skip) -> maxpool -> flatten -> dense. */
function residualNet(seed: number): Graph {
  const r = rng(seed);
  const b = new GraphBuilder('resnet_block', [{ name: 'x', shape: [1, 8, 10, 10], dtype: 'int8' }]);
  const conv = (x: string, ci: number, co: number, k: number, pad: number, name: string, relu: boolean) => {
    const w = b.constant(`${name}_w`, randomTensor(r, [co, ci, k, k], 'int8', -20, 20));
    let t = b.node('conv2d', [x, w], { stride: [1, 1], pad: [pad, pad, pad, pad] }, name);
    t = b.node('bias_add', [t, b.constant(`${name}_b`, randomTensor(r, [co], 'int32', -500, 500))]);
    t = b.node('requantize', [t], { shift: 6 });
    if (relu) t = b.node('relu', [t]);
    t = b.node('clip', [t], { min: -128, max: 127 });
    return b.node('cast', [t], { dtype: 'int8' });
  };
  const c1 = conv('x', 8, 24, 3, 1, 'conv1', true);
  const c2 = conv(c1, 24, 24, 3, 1, 'conv2', true);
  const c3 = conv(c2, 24, 24, 1, 0, 'conv3', false);
  let s = b.node('add', [c3, c2], undefined, 'skip');
  s = b.node('requantize', [s], { shift: 1 });
  s = b.node('relu', [s]);
  s = b.node('clip', [s], { min: 0, max: 127 });
  s = b.node('cast', [s], { dtype: 'int8' });
  const p = b.node('max_pool', [s], { kernel: [2, 2], stride: [2, 2] }, 'pool');
  const f = b.node('flatten', [p], { axis: 1 }, 'flat');
  const fw = b.constant('fc_w', randomTensor(r, [10, 24 * 5 * 5], 'int8', -10, 10));
  let y = b.node('dense', [f, fw], undefined, 'fc');
  y = b.node('requantize', [y], { shift: 5 });
  y = b.node('clip', [y], { min: -128, max: 127 });
  y = b.node('cast', [y], { dtype: 'int8' });
  return b.output(y);
}

describe('multi-layer network end to end', () => {
  it('residual block + pool + dense: partition and bit-exact result', async () => {
    const r = await compileAndCheck(residualNet(5), defaultVtaConfig());
    expect(r.races).toEqual([]);
    expect(r.model.kernels.map((k) => k.rule)).toEqual(['gemm-epilogue', 'gemm-epilogue', 'gemm-epilogue', 'eltwise-add', 'gemm-epilogue']);
    expect(r.model.partition.filter((l) => l.startsWith('host')).map((l) => l.split(':')[0])).toEqual(['host pool (max_pool)', 'host flat (flatten)']);
  });
  it('the same network on b2x8', async () => {
    const b2x8 = loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname);
    const r = await compileAndCheck(residualNet(6), b2x8);
    expect(r.races).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig } from '../../config/config.ts';
import { compileAndCheck } from './harness.ts';
import { residualNet } from './helpers.ts';

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

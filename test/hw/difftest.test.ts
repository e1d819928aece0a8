/**
 * Differential test: seeded random valid programs (random-program.ts) run on fsim and tsim must
 * give identical output bytes and identical fsim counters. A failure prints the seed; replay one
 * with VTA_DIFF_SEED=<seed> (and VTA_DIFF_CONFIG=config/b2x8.json for the other shape). The
 * narrow-width configs (int4: 4-bit tiles of one bus beat; int2: 2-bit tiles of half a beat, several
 * per beat on load and store) run too, each where its tsim is built (make -C hw rtl).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, type VtaConfig } from '../../config/config.ts';
import type { Driver } from '../../drivers/api.ts';
import fsim from '../../drivers/backends/fsim.ts';
import tsim, { addonPath } from '../../drivers/backends/tsim.ts';
import { existsSync } from 'node:fs';
import { randomProgram } from './random-program.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const FSIM_KEYS = [
  'load_insns', 'compute_insns', 'store_insns', 'uop_load_nbytes', 'inp_load_nbytes', 'wgt_load_nbytes',
  'acc_load_nbytes', 'acc8_load_nbytes', 'out_store_nbytes', 'gemm_counter', 'gemm_reset_counter', 'alu_counter',
];

async function runOn(driver: Driver, cfg: VtaConfig, seed: number) {
  const p = randomProgram(cfg, seed);
  const buf = driver.memAllocAt(p.base, p.image.length);
  try {
    driver.copyFromHost(buf, p.image);
    const { counters } = await driver.run(p.insnAddr, p.insnCount);
    const out = new Uint8Array(p.out.bytes);
    driver.copyToHost(out, buf, p.out.addr - p.base);
    return { out, counters };
  } finally {
    driver.memFree(buf);
  }
}

const configs = process.env.VTA_DIFF_CONFIG ? [process.env.VTA_DIFF_CONFIG] : ['config/vta_config.json', 'config/b2x8.json', 'config/int4.json', 'config/int2.json', 'config/bus128.json'];
const seeds = process.env.VTA_DIFF_SEED ? [Number(process.env.VTA_DIFF_SEED)] : Array.from({ length: 150 }, (_, i) => 1000 + i);

for (const path of configs) {
  const cfg = loadConfig(join(ROOT, path));
  describe.skipIf(!existsSync(addonPath(cfg)))(`fsim vs tsim on ${cfg.bitstream}`, () => {
    it(`${seeds.length} random programs give identical bytes and counters`, async () => {
      const a = await fsim.open(cfg);
      const b = await tsim.open(cfg);
      try {
        for (const seed of seeds) {
          const ref = await runOn(a, cfg, seed);
          const got = await runOn(b, cfg, seed);
          const where = `seed ${seed} (replay: VTA_DIFF_SEED=${seed} VTA_DIFF_CONFIG=${path} npx vitest run test/hw)`;
          expect(got.counters.cycles, where).toBeGreaterThan(0);
          const firstDiff = ref.out.findIndex((v, i) => got.out[i] !== v);
          expect(firstDiff, `${where}: output byte ${firstDiff} differs`).toBe(-1);
          for (const k of FSIM_KEYS) expect(got.counters[k], `${where}: counter ${k}`).toBe(ref.counters[k]);
        }
      } finally {
        a.close();
        b.close();
      }
    });
  });
}

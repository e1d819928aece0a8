/**
 * The program of the tsim bench's whole-process figure (`vta replay` of a large GEMM bundle): a
 * valid vta-bundle/1 whose replay does the GEMM work it claims and stores what the GEMMs computed.
 * Replayed on fsim (bytes and counters are tsim's exactly, test/hw/difftest.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeGemmBundle } from '../../bench/tsim-throughput.ts';
import { defaultVtaConfig } from '../../config/config.ts';
import { loadBundle, replayBundle } from '../../drivers/bundle.ts';
import fsim from '../../drivers/backends/fsim.ts';

const cfg = defaultVtaConfig();
const dir = mkdtempSync(join(tmpdir(), 'vta-gemm-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tsim bench GEMM bundle', () => {
  it('loads as a bundle and replays 128 GEMMs of 16 x 128 x 64 uop-iterations, storing 16 OUT tiles', async () => {
    const path = join(dir, 'gemm.bundle.json');
    writeGemmBundle(cfg, path);
    const bundle = loadBundle(path);
    expect(bundle.config.bitstream).toBe(cfg.bitstream);
    const driver = await fsim.open(bundle.config);
    try {
      const { outputs, counters } = await replayBundle(driver, bundle);
      expect(counters.gemm_counter).toBe(128 * 16 * 128 * 64);
      expect(counters.store_insns).toBe(1);
      expect(counters.out_store_nbytes).toBe(16 * cfg.outElemBytes);
      const out = outputs.out!;
      expect(out.length).toBe(16 * cfg.outElemBytes);
      // Random INP and WGT tiles: the stored sums are not all zero.
      expect(out.some((b) => b !== 0)).toBe(true);
    } finally {
      driver.close();
    }
  });
});

/**
 * The bridge skips the falling clock edge's evaluation when the cycle's bus inputs equal those of
 * the last evaluation (hw/bridge/bridge.cc, FallingEdge); with a trace open it evaluates every
 * edge. So the same random programs run with and without a trace must agree in everything the
 * run reports: output bytes, every counter (cycles, stall causes, beats) and every timeline span,
 * under the ideal memory and under one with long latencies and few bursts in flight (where the
 * inputs change on other cycles than under the ideal one).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import type { Driver } from '../../drivers/api.ts';
import tsim, { addonPath } from '../../drivers/backends/tsim.ts';
import { memoryModel } from '../../drivers/memory-model.ts';
import { randomProgram } from './random-program.ts';

const cfg = defaultVtaConfig();
const SEEDS = Array.from({ length: 5 }, (_, i) => 2000 + i);

async function runSeed(d: Driver, seed: number, trace?: string) {
  const p = randomProgram(cfg, seed);
  const buf = d.memAllocAt(p.base, p.image.length);
  try {
    d.copyFromHost(buf, p.image);
    const r = await d.run(p.insnAddr, p.insnCount, { timeline: true, trace });
    const out = new Uint8Array(p.out.bytes);
    d.copyToHost(out, buf, p.out.addr - p.base);
    return { out, counters: r.counters, spans: r.spans };
  } finally {
    d.memFree(buf);
  }
}

describe.skipIf(!existsSync(addonPath(cfg)))('tsim falling-edge evaluation skipped when nothing changed', () => {
  for (const memory of [memoryModel('ideal'), memoryModel('pynq', { readLatency: 7, outstanding: 2, writeLatency: 5 })]) {
    it(`random programs report the same with every edge evaluated (traced) and without, ${memory.name} memory`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vta-edge-'));
      const d = await tsim.open(cfg, { memory });
      try {
        for (const seed of SEEDS) {
          const vcd = join(dir, `${seed}.vcd`);
          const traced = await runSeed(d, seed, vcd);
          expect(readFileSync(vcd, 'utf8')).toContain('$enddefinitions');
          rmSync(vcd);
          const fast = await runSeed(d, seed);
          expect(fast.counters.cycles, `seed ${seed}`).toBeGreaterThan(0);
          expect(fast.counters, `seed ${seed}: counters`).toEqual(traced.counters);
          expect(fast.spans, `seed ${seed}: timeline`).toEqual(traced.spans);
          expect(Buffer.from(fast.out).equals(Buffer.from(traced.out)), `seed ${seed}: output bytes`).toBe(true);
        }
      } finally {
        d.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

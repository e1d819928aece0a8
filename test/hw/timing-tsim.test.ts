/**
 * The `timing` driver against tsim, the RTL it models: on the conformance kit (every bundle under
 * the ideal memory, every fourth under each board preset), on seeded random programs
 * (test/hw/random-program.ts) on every built config and several memory models, and on a compiled
 * network kernel by kernel, it must give tsim's cycle count within CYCLE_TOLERANCE and every other
 * counter tsim reports (busy, stall and wait cycles, bus beats) within COUNTER_TOLERANCE, per
 * program. The tolerances are zero: the model follows the RTL cycle by cycle (docs/profiling.md).
 * The ResNet-18-shaped comparison, too slow for the suite on tsim, is `make bench` area `timing`.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelInputs, openModel, runModel } from '../../api/index.ts';
import { defaultVtaConfig, loadConfig, type VtaConfig } from '../../config/config.ts';
import type { Driver } from '../../drivers/api.ts';
import timing from '../../drivers/backends/timing.ts';
import tsim, { addonPath } from '../../drivers/backends/tsim.ts';
import { type Bundle, loadBundle, replayBundle } from '../../drivers/bundle.ts';
import { MEMORY_PRESETS, configForMemory, memoryModel, type MemoryModel } from '../../drivers/memory-model.ts';
import { COUNTERS } from '../../hw/regmap.ts';
import type { Counters } from '../../sim/api.ts';
import { randomProgram } from './random-program.ts';

/** Largest relative cycle error allowed per program. */
const CYCLE_TOLERANCE = 0;
/** Largest difference allowed in any other counter, per program, as a fraction of the run's cycles. */
const COUNTER_TOLERANCE = 0;

const ROOT = join(import.meta.dirname, '..', '..');
const KIT = join(ROOT, 'conformance');
const cfg = defaultVtaConfig();
const built = (c: VtaConfig, m: MemoryModel) => existsSync(addonPath(configForMemory(c, m)));
const COMPARED = [...COUNTERS, 'acc_wr_count'];

/** Every way `got` (timing) is further from `want` (tsim) than the tolerances allow. */
function mismatches(want: Counters, got: Counters): string[] {
  const cycles = want.cycles!;
  const out: string[] = [];
  if (Math.abs(got.cycles! - cycles) > CYCLE_TOLERANCE * cycles) out.push(`cycles: tsim ${cycles}, timing ${got.cycles}`);
  for (const k of COMPARED) {
    if (Math.abs(got[k]! - want[k]!) > COUNTER_TOLERANCE * cycles) out.push(`${k}: tsim ${want[k]}, timing ${got[k]}`);
  }
  return out;
}

async function pair(c: VtaConfig, memory: MemoryModel): Promise<[Driver, Driver]> {
  return [await tsim.open(c, { memory }), await timing.open(c, { memory })];
}

const kit: { name: string; bundle: Bundle }[] = readdirSync(KIT)
  .filter((f) => f.endsWith('.bundle.json'))
  .sort()
  .map((f) => ({ name: f, bundle: loadBundle(join(KIT, f)) }));

describe.skipIf(!existsSync(addonPath(cfg)))('timing vs tsim', () => {
  for (const memory of MEMORY_PRESETS.values()) {
    const set = memory.name === 'ideal' ? kit : kit.filter((_, i) => i % 4 === 0);
    it.skipIf(!built(cfg, memory))(`the conformance kit (${set.length} bundles), memory ${memory.name}: cycles and counters per bundle`, async () => {
      const [a, b] = await pair(cfg, memory);
      try {
        for (const { name, bundle } of set) {
          let want;
          try {
            want = await replayBundle(a, bundle);
          } catch (e) {
            // A refused bundle is refused by timing too (fsim's checks); the kit test checks the code.
            await expect(replayBundle(b, bundle), name).rejects.toThrow();
            continue;
          }
          const got = await replayBundle(b, bundle);
          expect(got.outputs, name).toEqual(want.outputs);
          expect(mismatches(want.counters, got.counters), name).toEqual([]);
        }
      } finally {
        a.close();
        b.close();
      }
    });
  }

  const configs = ['vta_config', 'b2x8', 'int4', 'int2'].map((n) => loadConfig(join(ROOT, 'config', `${n}.json`)));
  const memories = [memoryModel('ideal'), memoryModel('pynq'), memoryModel('zcu104'), memoryModel('pynq', { readLatency: 7, outstanding: 1, writeLatency: 3 })];
  for (const c of configs) {
    it.skipIf(!existsSync(addonPath(c)))(`random programs on ${c.bitstream}, four memory models: cycles and counters per program`, async () => {
      for (const memory of memories.filter((m) => built(c, m))) {
        const [a, b] = await pair(c, memory);
        try {
          for (let seed = 7000; seed < 7030; seed++) {
            const p = randomProgram(c, seed);
            const runs = [];
            for (const d of [a, b]) {
              const buf = d.memAllocAt(p.base, p.image.length);
              d.copyFromHost(buf, p.image);
              runs.push((await d.run(p.insnAddr, p.insnCount)).counters);
              d.memFree(buf);
            }
            expect(mismatches(runs[0]!, runs[1]!), `seed ${seed}, memory ${memory.name} ${JSON.stringify(memory)}`).toEqual([]);
          }
        } finally {
          a.close();
          b.close();
        }
      }
    });
  }

  it('a compiled network, kernel by kernel, ideal and pynq memory; the same timeline as tsim', async () => {
    const model = openModel(join(ROOT, 'models', 'cnn.onnx'));
    const inputs = await modelInputs(model);
    for (const memory of [memoryModel('ideal'), memoryModel('pynq')]) {
      const want = await runModel(model, inputs, { driver: 'tsim', memory, timeline: memory.name === 'ideal' });
      const got = await runModel(model, inputs, { driver: 'timing', memory, timeline: memory.name === 'ideal' });
      expect([...got.outputs.values()]).toEqual([...want.outputs.values()]);
      expect(got.kernels.map((k) => k.name)).toEqual(want.kernels.map((k) => k.name));
      for (const [i, k] of want.kernels.entries()) {
        expect(mismatches(k.counters!, got.kernels[i]!.counters!), `${memory.name}: kernel ${k.name}`).toEqual([]);
      }
      if (want.timeline) expect(got.timeline).toEqual(want.timeline);
    }
  });
});

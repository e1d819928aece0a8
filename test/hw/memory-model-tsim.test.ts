/**
 * The DRAM model changes timing only: conformance bundles and a compiled model give fsim's bytes
 * on tsim under every memory preset (and the 128-bit bus build), and cycles never fall as the
 * read latency grows. Presets whose bus has no build here are skipped.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSession } from '../../api/session.ts';
import { defaultVtaConfig } from '../../config/config.ts';
import type { Driver } from '../../drivers/api.ts';
import tsim, { addonPath } from '../../drivers/backends/tsim.ts';
import fsim from '../../drivers/backends/fsim.ts';
import { type Bundle, loadBundle, replayBundle } from '../../drivers/bundle.ts';
import { MEMORY_PRESETS, configForMemory, memoryModel, type MemoryModel } from '../../drivers/memory-model.ts';
import type { Tensor } from '../../graph/ir.ts';
import { compile, GraphBuilder, randomTensor, rng } from '../compiler/helpers.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const KIT = join(ROOT, 'conformance');
const cfg = defaultVtaConfig();
const built = (m: MemoryModel) => existsSync(addonPath(configForMemory(cfg, m)));

/** Every fourth bundle of the kit: each instruction kind, both token disciplines, several bases. */
const bundles: Bundle[] = readdirSync(KIT)
  .filter((f) => f.endsWith('.bundle.json'))
  .sort()
  .filter((_, i) => i % 4 === 0)
  .map((f) => loadBundle(join(KIT, f)));

function convModel() {
  const r = rng(77);
  const b = new GraphBuilder('mem-conv', [{ name: 'x', shape: [1, 32, 8, 8], dtype: 'int8' }]);
  let t = b.node('conv2d', ['x', b.constant('w', randomTensor(r, [64, 32, 3, 3], 'int8', -3, 3))], { pad: [1, 1, 1, 1] }, 'conv');
  t = b.node('requantize', [t], { shift: 6 }, 'rq');
  t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
}
const model = compile(convModel(), { config: cfg });
const x: Tensor = randomTensor(rng(78), [1, 32, 8, 8], 'int8');

/** The model's output and its cycles (summed over kernels) on `driver` with `memory`. */
async function runModelOn(driver: string, memory?: MemoryModel): Promise<{ out: number[]; cycles: number; memory?: MemoryModel }> {
  const s = await loadSession(model, driver, memory);
  try {
    const o = await s.run({ x });
    const cycles = Object.values(o.counters).reduce((a, c) => a + (c.cycles ?? 0), 0);
    return { out: Array.from(o.outputs[model.graph.outputs[0]!]!.data), cycles, ...(s.memory ? { memory: s.memory } : {}) };
  } finally {
    s.close();
  }
}

async function replayAll(driver: Driver): Promise<{ outputs: Record<string, Uint8Array>[]; cycles: number[] }> {
  const outputs: Record<string, Uint8Array>[] = [];
  const cycles: number[] = [];
  for (const b of bundles) {
    const r = await replayBundle(driver, b);
    outputs.push(r.outputs);
    cycles.push(r.counters.cycles ?? 0);
  }
  return { outputs, cycles };
}

describe.skipIf(!built(memoryModel('ideal')))('memory models on tsim', () => {
  it(`conformance bundles (${bundles.length}) give fsim's bytes under every preset and report their model`, async () => {
    const ref = await fsim.open(cfg);
    const want = await replayAll(ref);
    ref.close();
    for (const m of MEMORY_PRESETS.values()) {
      if (!built(m)) continue;
      const d = await tsim.open(cfg, { memory: m });
      try {
        const got = await replayAll(d);
        got.outputs.forEach((o, i) => {
          for (const [name, bytes] of Object.entries(want.outputs[i]!)) {
            expect(Buffer.from(o[name]!).equals(Buffer.from(bytes)), `${bundles[i]!.source} ${name} under ${m.name}`).toBe(true);
          }
        });
        expect((await replayBundle(d, bundles[0]!)).memory).toEqual(m);
      } finally {
        d.close();
      }
    }
  });

  it("a compiled conv2d gives fsim's bytes under every preset, and reports the model it ran with", async () => {
    const want = await runModelOn('fsim');
    expect(want.memory).toBeUndefined();
    for (const m of MEMORY_PRESETS.values()) {
      if (!built(m)) continue;
      const got = await runModelOn('tsim', m);
      expect(got.out, m.name).toEqual(want.out);
      expect(got.memory).toEqual(m);
    }
    expect((await runModelOn('tsim')).memory).toEqual(memoryModel('ideal'));
  });

  it('cycles are monotone non-decreasing in read latency (1, 16, 32, 64, 128), and latency costs cycles', async () => {
    for (const busBits of [64, 128]) {
      if (!built(memoryModel('ideal', { busBits }))) continue;
      const cycles: number[] = [];
      for (const readLatency of [1, 16, 32, 64, 128]) {
        cycles.push((await runModelOn('tsim', memoryModel('ideal', { readLatency, outstanding: 8, busBits }))).cycles);
      }
      for (let i = 1; i < cycles.length; i++) expect(cycles[i], `${busBits}-bit: ${cycles.join(', ')}`).toBeGreaterThanOrEqual(cycles[i - 1]!);
      expect(cycles[4]).toBeGreaterThan(cycles[0]!);
    }
  });

  it('per bundle too: no conformance program gets faster when the latency grows from 1 to 64', async () => {
    const cycles: number[][] = [];
    for (const readLatency of [1, 64]) {
      const d = await tsim.open(cfg, { memory: memoryModel('pynq', { readLatency }) });
      cycles.push((await replayAll(d)).cycles);
      d.close();
    }
    cycles[1]!.forEach((c, i) => expect(c, bundles[i]!.source).toBeGreaterThanOrEqual(cycles[0]![i]!));
  });

  it.skipIf(!built(memoryModel('ultra96')))('a 128-bit bus moves the same bytes in fewer read beats', async () => {
    const narrow = await tsim.open(cfg);
    const wide = await tsim.open(cfg, { memory: memoryModel('ideal', { busBits: 128 }) });
    try {
      const b = bundles.find((x) => x.source.includes('gemm')) ?? bundles[0]!;
      const [n, w] = [await replayBundle(narrow, b), await replayBundle(wide, b)];
      expect(w.outputs).toEqual(n.outputs);
      expect(w.counters.mem_read_beats).toBeLessThan(n.counters.mem_read_beats!);
    } finally {
      narrow.close();
      wide.close();
    }
  });
});

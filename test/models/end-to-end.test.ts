/**
 * The example models end to end on VTA: ONNX import -> fusion, tiling, tensorization -> run on the
 * simulated accelerator with the race checker on every kernel -> every materialised tensor bit-exact
 * against the reference executor, and the outputs within one unit of onnxruntime. The same program
 * runs on tsim (when the RTL is built) and for a BATCH 2 / BLOCK 8 config.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, defaultVtaConfig, type VtaConfig } from '../../config/config.ts';
import { checkAgainstReference, describeMismatch } from '../../compiler/check.ts';
import { compileGraph } from '../../compiler/compile.ts';
import { runCompiled } from '../../compiler/execute.ts';
import { getDriver } from '../../drivers/registry.ts';
import { importOnnx } from '../../frontend/onnx/import.ts';
import { compareWithOrt, floatInput } from '../frontend/ort-compare.ts';
import { parseNpy } from '../../lib/npy.ts';
import { RaceChecker } from '../../sim/race-checker.ts';

const MODELS = join(import.meta.dirname, '..', '..', 'models');
const b2x8 = loadConfig(join(import.meta.dirname, '..', '..', 'config', 'b2x8.json'));
const tsimReady = await getDriver('tsim').then(
  (d) => d.unavailable?.() === undefined,
  () => false,
);

async function runOnVta(name: string, cfg: VtaConfig, driver = 'fsim') {
  const imp = importOnnx(join(MODELS, `${name}.onnx`));
  const q = parseNpy(readFileSync(join(MODELS, `${name}.input.npy`)), `${name}.input.npy`);
  const x = floatInput(imp.graph, 'input', q);
  const inputs = { input: x };
  const model = compileGraph(imp.graph, { config: cfg });
  const checkers: RaceChecker[] = [];
  const outcome = await runCompiled(model, inputs, {
    driver,
    keepAll: true,
    ...(driver === 'fsim'
      ? {
          observe: (_k: number, base: number) => {
            const c = new RaceChecker(cfg, { insnBase: base });
            checkers.push(c);
            return c;
          },
        }
      : {}),
  });
  return { imp, x, model, inputs, outcome, races: checkers.flatMap((c) => c.report()) };
}

describe.each(['mlp', 'cnn'])('example model %s on VTA', (name) => {
  it('runs on fsim race-free, bit-exact with the reference, within 1 ulp of onnxruntime', async () => {
    const r = await runOnVta(name, defaultVtaConfig());
    expect(r.model.kernels.length).toBeGreaterThanOrEqual(3);
    expect(r.races).toEqual([]);
    const check = checkAgainstReference(r.model, r.inputs, r.outcome.tensors);
    expect(check.mismatch && describeMismatch(check.mismatch)).toBeUndefined();
    expect(check.compared).toBeGreaterThanOrEqual(r.model.kernels.length);
    for (const o of await compareWithOrt(join(MODELS, `${name}.onnx`), r.imp.graph, r.inputs, r.outcome.outputs)) {
      expect(o.argmaxAgrees).toBe(true);
      expect(o.maxDiff).toBeLessThanOrEqual(1);
    }
  });

  it('gives the same bytes for a BATCH 2, BLOCK 8 config', async () => {
    const a = await runOnVta(name, defaultVtaConfig());
    const b = await runOnVta(name, b2x8);
    expect(b.races).toEqual([]);
    const out = a.imp.outputs.logits!.tensor;
    expect(Array.from(b.outcome.outputs[out]!.data)).toEqual(Array.from(a.outcome.outputs[out]!.data));
  });

  it.skipIf(!tsimReady)('gives the same bytes on the RTL (tsim)', async () => {
    const a = await runOnVta(name, defaultVtaConfig());
    const t = await runOnVta(name, defaultVtaConfig(), 'tsim');
    const out = a.imp.outputs.logits!.tensor;
    expect(Array.from(t.outcome.outputs[out]!.data)).toEqual(Array.from(a.outcome.outputs[out]!.data));
    const cycles = Object.values(t.outcome.counters).reduce((s, c) => s + (c.cycles ?? 0), 0);
    expect(cycles).toBeGreaterThan(0);
  });
});

/**
 * models/requant.onnx (scales that are not powers of two) end to end on VTA in both modes:
 * 'vta' (fixed-point multiplier on the ALU) and 'host' (ONNX's float requantization on the host,
 * the GEMMs on VTA with int32 results as byte planes). VTA must equal the reference bit for bit in
 * both; against onnxruntime, 'host' is exact up to ties and 'vta' stays within the stated bound.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { checkAgainstReference, describeMismatch } from '../../compiler/check.ts';
import { compileGraph } from '../../compiler/compile.ts';
import { runCompiled } from '../../compiler/execute.ts';
import type { Tensor } from '../../graph/ir.ts';
import { importOnnx, type ScaleMode } from '../../frontend/onnx/import.ts';
import { compareWithOrt, floatInput } from '../frontend/ort-compare.ts';
import { parseNpy } from '../../lib/npy.ts';
import { RaceChecker } from '../../sim/race-checker.ts';

const MODEL = join(import.meta.dirname, '..', '..', 'models', 'requant.onnx');
const example = parseNpy(readFileSync(join(import.meta.dirname, '..', '..', 'models', 'requant.input.npy')), 'requant.input.npy');

/** Seeded smooth int8 inputs of the model's shape (like the example input). */
function inputs(count: number): Tensor[] {
  let a = 99;
  const rand = () => ((a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: count }, () => {
    const data = new Int8Array(3 * 12 * 12);
    let v = 0;
    for (let k = 0; k < data.length; k++) data[k] = v = Math.max(-128, Math.min(127, Math.round(0.8 * v + 80 * (rand() - 0.5))));
    return { shape: [1, 3, 12, 12], dtype: 'int8', data };
  });
}

async function runMode(scales: ScaleMode, x: Tensor) {
  const imp = importOnnx(MODEL, { scales });
  const cfg = defaultVtaConfig();
  const model = compileGraph(imp.graph, { config: cfg });
  const checkers: RaceChecker[] = [];
  const ins = { input: floatInput(imp.graph, 'input', x) };
  const outcome = await runCompiled(model, ins, {
    keepAll: true,
    observe: (_k, base) => {
      const c = new RaceChecker(cfg, { insnBase: base });
      checkers.push(c);
      return c;
    },
  });
  const check = checkAgainstReference(model, ins, outcome.tensors);
  expect(check.mismatch && describeMismatch(check.mismatch)).toBeUndefined();
  expect(checkers.flatMap((c) => c.report())).toEqual([]);
  const [ort] = await compareWithOrt(MODEL, imp.graph, ins, outcome.outputs);
  return { imp, model, ort: ort! };
}

describe('requant.onnx: non-power-of-two scales', () => {
  it('imports by default (issue 9: no ratio is refused, fixed point where precise enough); "exact" still refuses, naming both ways out', () => {
    expect(importOnnx(MODEL).notes.join('\n')).toMatch(/≈ \d+\/2\^\d+/);
    expect(() => importOnnx(MODEL, { scales: 'exact' })).toThrow(/not a power of two .* scales "vta" .* or "host"/);
  });

  it("scales 'vta': ALU multipliers, bit-exact with the reference, within the stated bound of onnxruntime", async () => {
    let argmaxAgree = 0;
    let worst = 0;
    const xs = [example, ...inputs(5)];
    for (const x of xs) {
      const { imp, model, ort } = await runMode('vta', x);
      expect(model.kernels).toHaveLength(2);
      expect(imp.graph.nodes.filter((n) => n.op === 'requantize').every((n) => (n.attrs as { multiplier?: number }).multiplier! > 1)).toBe(true);
      expect(imp.approximations).toHaveLength(2);
      // The last layer's bound, plus what the first layer's ≤ 1 per activation can move it:
      // each differing activation changes the logit by |w|·(pool scale · w scale / out scale).
      const [first, last] = imp.approximations as [typeof imp.approximations[0], typeof imp.approximations[0]];
      expect(first.outputBound).toBe(1);
      expect(last.outputBound).toBe(1);
      worst = Math.max(worst, ort.maxDiff);
      if (ort.argmaxAgrees) argmaxAgree++;
    }
    // Reported figures (see the report): differences stay at a couple of units of the logits.
    expect(worst).toBeLessThanOrEqual(3);
    expect(argmaxAgree).toBeGreaterThanOrEqual(xs.length - 1);
  });

  it("scales 'host': GEMMs on VTA with int32 byte planes, exact against onnxruntime up to ties", async () => {
    const xs = [example, ...inputs(5)];
    let exact = 0;
    for (const x of xs) {
      const { model, ort } = await runMode('host', x);
      expect(model.kernels).toHaveLength(2);
      expect(model.partition.filter((l) => l.includes('int32 as 4 byte planes'))).toHaveLength(2);
      expect(model.partition.filter((l) => l.includes('(requantize_float)'))).toHaveLength(2);
      expect(ort.maxDiff).toBeLessThanOrEqual(1);
      expect(ort.argmaxAgrees).toBe(true);
      if (ort.exact) exact++;
    }
    expect(exact).toBeGreaterThanOrEqual(xs.length - 1);
  });
});

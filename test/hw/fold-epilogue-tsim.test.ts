/**
 * Folded epilogues on the RTL (compiler/fold-epilogue.ts): the rounding term in the bias and the
 * accumulator initialised by a MAX with the bias over an earlier tile's final values, and rescaled
 * adds on the GEMM (lower/eltwise-add.ts), give the reference's bytes on tsim, as on fsim.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { runCompiled } from '../../compiler/execute.ts';
import { getDriver } from '../../drivers/registry.ts';
import { runReference } from '../../graph/reference.ts';
import { compile, foldConvGraph, randomTensor, rng, scaledAddGraph } from '../compiler/helpers.ts';

const cfg = defaultVtaConfig();
const tsimReady = await getDriver('tsim').then(
  (d) => d.unavailable?.() === undefined,
  () => false,
);

describe.skipIf(!tsimReady)('folded epilogues on tsim', () => {
  for (const relu of [true, false]) {
    for (const bias of [[-(1 << 14), 1 << 14], [-3_000_000, -2_000_000]] as [number, number][]) {
      it(`conv 3x3 32->48 on 28x28, bias in [${bias}], ${relu ? 'relu, ' : ''}>> 8, clip: the reference bytes`, async () => {
        const g = foldConvGraph(relu, bias);
        const model = compile(g, { config: cfg });
        const x = randomTensor(rng(5), [1, 32, 28, 28], 'int8');
        const want = runReference(model.graph, { x })[g.outputs[0]!]!;
        for (const driver of ['fsim', 'tsim']) {
          const got = (await runCompiled(model, { x }, { driver })).outputs[g.outputs[0]!]!;
          expect(Array.from(got.data), driver).toEqual(Array.from(want.data));
        }
      }, 120_000);
    }
  }
  for (const [sa, sb, shift, relu] of [[2, 1, 1, true], [-3, 127, 7, false]] as const) {
    it(`rescaled add (${sa}·a + ${sb}·b) >> ${shift} on the GEMM: the reference bytes`, async () => {
      const g = scaledAddGraph(sa, sb, shift, relu);
      const model = compile(g, { config: cfg });
      const r = rng(6);
      const inputs = { a: randomTensor(r, [1, 48, 24, 24], 'int8'), b: randomTensor(r, [1, 48, 24, 24], 'int8') };
      const want = runReference(model.graph, inputs)[g.outputs[0]!]!;
      for (const driver of ['fsim', 'tsim']) {
        const got = (await runCompiled(model, inputs, { driver })).outputs[g.outputs[0]!]!;
        expect(Array.from(got.data), driver).toEqual(Array.from(want.data));
      }
    }, 120_000);
  }
});

/**
 * The half-even, per-channel requantization epilogue on the RTL: a conv2d kernel whose ALU
 * epilogue uses the scratch region and the per-channel multiplier vector gives the reference's
 * bytes on tsim (the same as on fsim).
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { runCompiled } from '../../compiler/execute.ts';
import { getDriver } from '../../drivers/registry.ts';
import { runReference } from '../../graph/reference.ts';
import { compile, GraphBuilder, randomTensor, rng } from '../compiler/helpers.ts';

const cfg = defaultVtaConfig();
const tsimReady = await getDriver('tsim').then(
  (d) => d.unavailable?.() === undefined,
  () => false,
);

function graph() {
  const r = rng(31);
  const b = new GraphBuilder('pc-tsim', [{ name: 'x', shape: [1, 16, 4, 4], dtype: 'int8' }]);
  const m = Int32Array.from({ length: 32 }, (_, c) => [1, 77, 1500, 9000, 30000][c % 5]! * (c % 3 === 2 ? -1 : 1));
  let t = b.node('conv2d', ['x', b.constant('w', randomTensor(r, [32, 16, 3, 3], 'int8', -4, 4))], { pad: [1, 1, 1, 1] }, 'conv');
  t = b.node('bias_add', [t, b.constant('b', randomTensor(r, [32], 'int32', -500, 500))], undefined, 'bias');
  t = b.node('requantize', [t, b.constant('m', { shape: [32], dtype: 'int32', data: m })], { shift: 14, rounding: 'half_even' }, 'rq');
  t = b.node('add', [t, b.constant('zp', { shape: [1], dtype: 'int32', data: Int32Array.from([6]) })], undefined, 'zp');
  t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
}

describe.skipIf(!tsimReady)('quantized epilogue on tsim', () => {
  it('conv2d + bias + per-channel half-even requantize + zero point: the reference bytes', async () => {
    const g = graph();
    const model = compile(g, { config: cfg });
    expect(model.partition.every((l) => l.startsWith('vta'))).toBe(true);
    const x = randomTensor(rng(32), [1, 16, 4, 4], 'int8');
    const want = runReference(model.graph, { x })[g.outputs[0]!]!;
    for (const driver of ['fsim', 'tsim']) {
      const got = (await runCompiled(model, { x }, { driver })).outputs[g.outputs[0]!]!;
      expect(Array.from(got.data), driver).toEqual(Array.from(want.data));
    }
  });
});

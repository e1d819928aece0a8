/**
 * A first convolution over few channels reads its input as im2col (lower/conv.ts): taps × channels
 * packed into the reduction, so the GEMM does the layer's own work instead of padding 3 channels
 * to BLOCK_IN. Bit-exact with the reference executor on fsim (race checker attached), on the
 * default and b2x8 configs; only host-provided inputs are packed; the package keeps the window.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig } from '../../config/config.ts';
import { runCompiled } from '../../compiler/execute.ts';
import { im2colActivation } from '../../compiler/pack.ts';
import { readPackage, writePackage } from '../../compiler/package.ts';
import type { Graph, Tensor } from '../../graph/ir.ts';
import { runReference } from '../../graph/reference.ts';
import { compileAndCheck } from './harness.ts';
import { compile, convGraph, epilogue, GraphBuilder, randomTensor, rng, type ConvSpec } from './helpers.ts';

const cfg = defaultVtaConfig();
const b2x8 = loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname);
const FIRST: ConvSpec = { n: 1, c: 3, h: 19, w: 17, o: 32, k: 7, stride: 2, pad: 3 };
const outExtent = (x: number, s: ConvSpec) => Math.floor((x + 2 * s.pad - s.k) / s.stride) + 1;

/** Direct convolution of one output element, for the im2col image's own check. */
function directTap(x: Tensor, c: number, kh: number, kw: number, oh: number, ow: number, s: ConvSpec): number {
  const ih = oh * s.stride + kh - s.pad;
  const iw = ow * s.stride + kw - s.pad;
  return ih < 0 || ih >= s.h || iw < 0 || iw >= s.w ? 0 : x.data[(c * s.h + ih) * s.w + iw]!;
}

/** The first conv, then a second one reading its (VTA-computed) output. */
function twoConvs(): Graph {
  const r = rng(7);
  const b = new GraphBuilder('two-convs', [{ name: 'x', shape: [1, 3, 12, 12], dtype: 'int8' }]);
  let t = b.node('conv2d', ['x', b.constant('w1', randomTensor(r, [4, 3, 3, 3], 'int8'))], { pad: [1, 1, 1, 1] }, 'conv1');
  t = epilogue(b, r, t, 4, { bias: true, shift: 8, clip: [-128, 127] }, 'c1');
  t = b.node('conv2d', [t, b.constant('w2', randomTensor(r, [16, 4, 3, 3], 'int8'))], { pad: [1, 1, 1, 1] }, 'conv2');
  return b.output(epilogue(b, r, t, 16, { shift: 8, relu: true }, 'c2'));
}

describe('im2col first convolution', () => {
  it('the image holds every tap of every channel at its output pixel, zero in the padding', () => {
    const x = randomTensor(rng(3), [1, FIRST.c, FIRST.h, FIRST.w], 'int8');
    const img = im2colActivation(x, { KH: FIRST.k, KW: FIRST.k, sh: FIRST.stride, sw: FIRST.stride, pad: [FIRST.pad, FIRST.pad, FIRST.pad, FIRST.pad] });
    const OH = outExtent(FIRST.h, FIRST);
    const OW = outExtent(FIRST.w, FIRST);
    expect(img.shape).toEqual([1, FIRST.c * FIRST.k * FIRST.k, OH, OW]);
    for (let c = 0; c < FIRST.c; c++)
      for (let kh = 0; kh < FIRST.k; kh++)
        for (let kw = 0; kw < FIRST.k; kw++)
          for (let oh = 0; oh < OH; oh++)
            for (let ow = 0; ow < OW; ow++) {
              const ch = (c * FIRST.k + kh) * FIRST.k + kw;
              expect(img.data[(ch * OH + oh) * OW + ow]).toBe(directTap(x, c, kh, kw, oh, ow, FIRST));
            }
  });

  it('7x7 stride 2 over 3 channels: packed reduction, bit-exact and race-free, GEMM work of 10 tiles instead of 49', async () => {
    const g = convGraph(rng(11), FIRST, { bias: true, shift: 9, relu: true, clip: [0, 127] });
    const r = await compileAndCheck(g, cfg);
    expect(r.races).toEqual([]);
    const k = r.model.kernels[0]!;
    expect(k.im2col?.window).toEqual({ KH: 7, KW: 7, sh: 2, sw: 2, pad: [3, 3, 3, 3] });
    const x = randomTensor(rng(5), [1, FIRST.c, FIRST.h, FIRST.w], 'int8');
    const run = await runCompiled(r.model, { x });
    const pixels = outExtent(FIRST.h, FIRST) * outExtent(FIRST.w, FIRST);
    // GEMM uop-iterations: output tiles × reduction tiles (⌈3·49/16⌉ = 10, not 49).
    expect(run.counters[k.name]!.gemm_counter).toBe(2 * pixels * 10);
    expect(Array.from(run.outputs[g.outputs[0]!]!.data)).toEqual(Array.from(runReference(g, { x })[g.outputs[0]!]!.data));
  });

  it('b2x8 with a padded batch of 3', async () => {
    const g = convGraph(rng(12), { n: 3, c: 2, h: 9, w: 8, o: 10, k: 5, stride: 1, pad: 2 }, { shift: 7, clip: [-128, 127] });
    const r = await compileAndCheck(g, b2x8);
    expect(r.races).toEqual([]);
    expect(r.model.kernels[0]!.im2col).toBeDefined();
  });

  it('packs only inputs the host provides: a conv reading a kernel output stays plain', async () => {
    const r = await compileAndCheck(twoConvs(), cfg);
    expect(r.races).toEqual([]);
    expect(r.model.kernels.map((k) => k.im2col !== undefined)).toEqual([true, false]);
  });

  it('many input channels stay plain (packing would not halve the reduction)', () => {
    const m = compile(convGraph(rng(13), { n: 1, c: 16, h: 6, w: 6, o: 16, k: 3, stride: 1, pad: 1 }, { shift: 8 }));
    expect(m.kernels[0]!.im2col).toBeUndefined();
  });

  it('a package keeps the window and runs the same; a bad window is refused', async () => {
    const g = twoConvs();
    const m = compile(g);
    const again = readPackage(writePackage(m));
    expect(again.kernels[0]!.im2col).toEqual(m.kernels[0]!.im2col);
    const x = randomTensor(rng(9), [1, 3, 12, 12], 'int8');
    const [a, b] = await Promise.all([runCompiled(m, { x }), runCompiled(again, { x })]);
    expect(Array.from(b.outputs[g.outputs[0]!]!.data)).toEqual(Array.from(a.outputs[g.outputs[0]!]!.data));
    const bad = { ...m, kernels: m.kernels.map((k, i) => (i === 0 ? { ...k, im2col: { ...k.im2col!, window: { ...k.im2col!.window, sh: 0 } } } : k)) };
    expect(() => readPackage(writePackage(bad))).toThrow(/bad .vtapkg artifact: model.kernels\[0\].im2col.window.sh must be positive/);
    // A window whose image outgrows the buffer (padding 10 all round: 30x30 pixels, not 12x12) is refused too.
    const big = { ...m, kernels: m.kernels.map((k, i) => (i === 0 ? { ...k, im2col: { ...k.im2col!, window: { ...k.im2col!.window, pad: [10, 10, 10, 10] as [number, number, number, number] } } } : k)) };
    expect(() => readPackage(writePackage(big))).toThrow(/model.kernels\[0\].im2col: buffer im2col:x is too small for the image of x/);
  });
});

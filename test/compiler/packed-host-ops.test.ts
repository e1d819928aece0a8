/**
 * Host steps on packed tiles (compiler/packed-host-ops.ts) and the one-pass im2col packing
 * (compiler/pack.ts packIm2col) against the row-major reference: the packed result must be byte
 * for byte the packing of the reference's result, on random data with the int8 extremes, on the
 * default and b2x8 configs. Tensors with padding lanes must not qualify.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig, type VtaConfig } from '../../config/config.ts';
import { im2colActivation, im2colPackedBytes, packActivation, packIm2col, type ConvWindow } from '../../compiler/pack.ts';
import { runPacked, runsPacked } from '../../compiler/packed-host-ops.ts';
import type { GraphNode, Tensor, TensorType } from '../../graph/ir.ts';
import { evaluateNode } from '../../graph/reference.ts';
import { randomBytes } from '../../lib/random.ts';
import { loadSession } from '../../api/session.ts';
import { compile, epilogue, GraphBuilder, randomTensor, rng } from './helpers.ts';
import { interpret } from './harness.ts';

const cfg = defaultVtaConfig();
const b2x8 = loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname);

/** Random int8 values, every tenth one an extreme (-128 or 127). */
function randomInt8(shape: number[], seed: number): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Int8Array(randomBytes(size, seed).buffer);
  for (let i = 0; i < size; i += 10) data[i] = i % 20 ? 127 : -128;
  return { shape, dtype: 'int8', data };
}

const type = (shape: number[]): TensorType => ({ shape, dtype: 'int8' });

/** Run `node` both ways and compare the packed images, also written over a reused, dirty buffer. */
function expectSameAsReference(node: GraphNode, x: Tensor, outShape: number[], c: VtaConfig): void {
  expect(runsPacked(node, type(x.shape), type(outShape), c)).toBe(true);
  const reference = packActivation(evaluateNode(node, [x], type(outShape)), c);
  const packed = runPacked(node, { shape: x.shape, bytes: packActivation(x, c) }, type(outShape), c);
  expect(packed.shape).toEqual(outShape);
  expect(Buffer.from(packed.bytes).equals(Buffer.from(reference))).toBe(true);
  const dirty = new Uint8Array(reference.length).fill(0x5a);
  const into = runPacked(node, { shape: x.shape, bytes: packActivation(x, c) }, type(outShape), c, dirty);
  expect(into.bytes).toBe(dirty);
  expect(Buffer.from(dirty).equals(Buffer.from(reference))).toBe(true);
  // Images one byte off word alignment: max pooling then takes its byte-per-lane path.
  const oddIn = new Uint8Array(packActivation(x, c).length + 1).subarray(1);
  oddIn.set(packActivation(x, c));
  const oddOut = new Uint8Array(reference.length + 1).fill(0x5a).subarray(1);
  runPacked(node, { shape: x.shape, bytes: oddIn }, type(outShape), c, oddOut);
  expect(Buffer.from(oddOut).equals(Buffer.from(reference))).toBe(true);
}

const padNode = (pads: number[], value: number): GraphNode => ({ name: 'p', op: 'pad', inputs: ['x'], output: 'y', attrs: { pads, value } }) as GraphNode;
const poolNode = (kernel: [number, number], stride: [number, number], pad: [number, number, number, number]): GraphNode =>
  ({ name: 'm', op: 'max_pool', inputs: ['x'], output: 'y', attrs: { kernel, stride, pad } }) as GraphNode;

const configs: [string, VtaConfig, number[]][] = [
  ['default', cfg, [1, 32, 7, 9]],
  ['b2x8', b2x8, [4, 16, 6, 5]],
];

for (const [name, c, shape] of configs) {
  describe(`packed host ops, ${name}`, () => {
    const [n, ch, h, w] = shape as [number, number, number, number];
    it('pad over H and W equals the reference, for several pads and values', () => {
      const x = randomInt8(shape, 3);
      for (const [pads, value] of [
        [[0, 0, 1, 1, 0, 0, 1, 1], -128],
        [[0, 0, 3, 0, 0, 0, 0, 2], 127],
        [[0, 0, 0, 0, 0, 0, 0, 0], 5],
        [[0, 0, 2, 1, 0, 0, 1, 3], -7],
      ] as [number[], number][]) {
        expectSameAsReference(padNode(pads, value), x, [n, ch, h + pads[2]! + pads[6]!, w + pads[3]! + pads[7]!], c);
      }
    });

    it('max pooling equals the reference, padded windows included', () => {
      const x = randomInt8(shape, 11);
      const cases: [[number, number], [number, number], [number, number, number, number]][] = [
        [[3, 3], [2, 2], [1, 1, 1, 1]],
        [[2, 2], [2, 2], [0, 0, 0, 0]],
        [[3, 2], [1, 2], [0, 1, 2, 0]],
        [[1, 1], [1, 1], [0, 0, 0, 0]],
        // Ragged: strides past the kernel (skipped rows), windows wholly in the padding (stored 0).
        [[2, 2], [3, 3], [0, 0, 3, 2]],
        [[3, 3], [2, 1], [2, 2, 0, 1]],
        [[2, 3], [3, 2], [1, 2, 2, 2]],
        [[2, 2], [1, 2], [2, 0, 0, 3]],
      ];
      for (const [kernel, stride, pad] of cases) {
        const oh = Math.floor((h + pad[0] + pad[2] - kernel[0]) / stride[0]) + 1;
        const ow = Math.floor((w + pad[1] + pad[3] - kernel[1]) / stride[1]) + 1;
        expectSameAsReference(poolNode(kernel, stride, pad), x, [n, ch, oh, ow], c);
      }
    });

    it('the one-pass im2col packing equals packing the im2col image', () => {
      for (const [xs, win] of [
        [[n, 3, 13, 11], { KH: 7, KW: 7, sh: 2, sw: 2, pad: [3, 3, 3, 3] }],
        [[n, 5, 9, 8], { KH: 3, KW: 2, sh: 1, sw: 2, pad: [1, 0, 2, 1] }],
      ] as [number[], ConvWindow][]) {
        const x = randomInt8(xs, 21);
        const reference = Buffer.from(packActivation(im2colActivation(x, win), c));
        expect(Buffer.from(packIm2col(x, win, c)).equals(reference)).toBe(true);
        const dirty = new Uint8Array(im2colPackedBytes(xs, win, c)).fill(0x5a);
        expect(Buffer.from(packIm2col(x, win, c, dirty)).equals(reference)).toBe(true);
      }
    });
  });
}

describe('packed host ops: what does not qualify', () => {
  it('refuses channel counts with padding lanes, pads on batch or channels, other ops and dtypes', () => {
    const pool = poolNode([2, 2], [2, 2], [0, 0, 0, 0]);
    expect(runsPacked(pool, type([1, 32, 4, 4]), type([1, 32, 2, 2]), cfg)).toBe(true);
    expect(runsPacked(pool, type([1, 24, 4, 4]), type([1, 24, 2, 2]), cfg)).toBe(false);
    expect(runsPacked(pool, type([1, 16, 4, 4]), type([1, 16, 2, 2]), b2x8)).toBe(false); // batch 1 of 2
    expect(runsPacked(padNode([0, 1, 0, 0, 0, 0, 0, 0], 0), type([1, 16, 4, 4]), type([1, 17, 4, 4]), cfg)).toBe(false);
    expect(runsPacked(padNode([0, 0, -1, 0, 0, 0, 0, 0], 0), type([1, 16, 4, 4]), type([1, 16, 3, 4]), cfg)).toBe(false);
    const relu = { name: 'r', op: 'relu', inputs: ['x'], output: 'y' } as GraphNode;
    expect(runsPacked(relu, type([1, 16, 4, 4]), type([1, 16, 4, 4]), cfg)).toBe(false);
    expect(runsPacked(pool, { shape: [1, 16, 4, 4], dtype: 'float32' }, type([1, 16, 2, 2]), cfg)).toBe(false);
  });
});

describe('packed host ops in a compiled model', () => {
  /** conv -> max_pool -> pad -> conv, every channel count a multiple of BLOCK: both host ops run packed. */
  function poolPadNet() {
    const r = rng(9);
    const b = new GraphBuilder('pool-pad', [{ name: 'x', shape: [1, 16, 10, 10], dtype: 'int8' }]);
    let t = b.node('conv2d', ['x', b.constant('w1', randomTensor(r, [32, 16, 3, 3], 'int8'))], { pad: [1, 1, 1, 1] }, 'conv1');
    t = epilogue(b, r, t, 32, { bias: true, shift: 8, clip: [-128, 127] }, 'c1');
    t = b.node('max_pool', [t], { kernel: [3, 3], stride: [2, 2], pad: [1, 1, 1, 1] }, 'pool');
    t = b.node('pad', [t], { pads: [0, 0, 1, 1, 0, 0, 1, 1], value: -128 }, 'padded');
    t = b.node('conv2d', [t, b.constant('w2', randomTensor(r, [16, 32, 3, 3], 'int8'))], {}, 'conv2');
    return b.output(epilogue(b, r, t, 16, { shift: 8, relu: true }, 'c2'));
  }

  it('a loaded model run again and again (buffers reused) equals the reference every time', async () => {
    const g = poolPadNet();
    const model = compile(g);
    expect(model.partition.filter((l) => l.startsWith('host')).map((l) => l.split(':')[0])).toEqual(['host pool (max_pool)', 'host padded (pad)']);
    const session = await loadSession(model, 'fsim');
    try {
      for (const seed of [1, 2, 1, 3]) {
        const inputs = { x: randomTensor(rng(seed), [1, 16, 10, 10], 'int8') };
        const expected = interpret(g, inputs)[g.outputs[0]!]!;
        const got = (await session.run(inputs)).outputs[g.outputs[0]!]!;
        expect(Array.from(got.data)).toEqual(Array.from(expected.data));
      }
    } finally {
      session.close();
    }
  });
});

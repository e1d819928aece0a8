/**
 * The fast forms the host's quantize and dequantize run on every inference (graph/semantics/
 * quantize.ts, rounding.ts) against plain per-element formulas written here: the round-half-even
 * trick against roundHalfEven on ties, large values and non-finite ones; the per-run loops against
 * an element-by-element scale index on ragged shapes, every axis, int8 and uint8, per tensor and
 * per channel.
 */
import { describe, expect, it } from 'vitest';
import { DTYPE_INFO, type DType } from '../../lib/dtype.ts';
import type { GraphNode, Tensor } from '../../graph/ir.ts';
import { evaluateNode } from '../../graph/reference.ts';
import { roundHalfEven, roundHalfEvenToInteger } from '../../graph/semantics/rounding.ts';
import { rng } from '../compiler/helpers.ts';

/** Equal as integer stores see them (-0 and 0 are one value; NaN stores as 0). */
const asStored = (v: number) => new Int32Array([v])[0];

describe('roundHalfEvenToInteger', () => {
  it('equals roundHalfEven on ties, near-ties, large and non-finite values', () => {
    const values = [0, -0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, -0.49999999999999994, 1e-300, -1e-300, 3.4e38, -3.4e38, Infinity, -Infinity, NaN];
    for (const big of [2 ** 51 - 1.5, 2 ** 51 - 0.5, 2 ** 51 + 0.5, 2 ** 51 + 1.5, 2 ** 52 - 0.5, 2 ** 52 + 2, 2 ** 53]) values.push(big, -big);
    const r = rng(5);
    for (let i = 0; i < 3000; i++) {
      const v = (r() - 0.5) * 2 ** Math.floor(r() * 60);
      values.push(v, Math.round(v * 2) / 2, Math.fround(v));
    }
    for (const v of values) {
      const want = roundHalfEven(v);
      const got = roundHalfEvenToInteger(v);
      if (Number.isNaN(want)) expect(got).toBeNaN();
      else expect(got === want, `${v}: ${got} vs ${want}`).toBe(true);
      expect(asStored(got)).toBe(asStored(want));
    }
  });
});

/** Element k's scale index, the way the per-element form found it. */
function paramAt(shape: number[], count: number, axis: number, k: number): number {
  if (count === 1) return 0;
  const ax = axis < 0 ? axis + shape.length : axis;
  const inner = shape.slice(ax + 1).reduce((p, q) => p * q, 1);
  return Math.floor(k / inner) % shape[ax]!;
}

function randomFloats(shape: number[], seed: number): Tensor {
  const r = rng(seed);
  const n = shape.reduce((p, q) => p * q, 1);
  // Spread beyond the int8 range both ways, with exact halves of the scale among them.
  const data = Float32Array.from({ length: n }, (_, k) => (k % 7 === 0 ? (Math.floor(r() * 600) - 300) * 0.25 : (r() - 0.5) * 400));
  return { shape, dtype: 'float32', data };
}

const node = (op: 'quantize' | 'dequantize', attrs: object): GraphNode => ({ name: 'q', op, inputs: ['x'], output: 'y', attrs }) as GraphNode;

describe('quantize and dequantize by runs of one scale', () => {
  const shapes = [[2, 3, 5, 7], [1, 5, 1, 3], [3, 4], [7]];
  for (const shape of shapes) {
    for (let axis = -shape.length; axis < shape.length; axis++) {
      for (const perChannel of [false, true]) {
        it(`shape [${shape}], axis ${axis}, ${perChannel ? 'per channel' : 'per tensor'}`, () => {
          const count = perChannel ? shape[axis < 0 ? axis + shape.length : axis]! : 1;
          const scale = Array.from({ length: count }, (_, i) => 0.5 + 0.25 * i);
          const x = randomFloats(shape, 3 + axis);
          for (const dtype of ['int8', 'uint8'] as DType[]) {
            const zero_point = Array.from({ length: count }, (_, i) => (dtype === 'int8' ? -3 + 2 * i : 7 + 3 * i));
            const q = evaluateNode(node('quantize', { scale, zero_point, axis, dtype }), [x], { shape, dtype });
            const { min, max } = DTYPE_INFO[dtype];
            const want = Array.from(x.data, (v, k) => {
              const i = paramAt(shape, count, axis, k);
              return Math.min(max, Math.max(min, roundHalfEven(Math.fround(v / Math.fround(scale[i]!))) + zero_point[i]!));
            });
            expect(Array.from(q.data)).toEqual(want);
            expect(new Set(want).size).toBeGreaterThan(2);
            const d = evaluateNode(node('dequantize', { scale, zero_point, axis }), [q], { shape, dtype: 'float32' });
            expect(Array.from(d.data)).toEqual(Array.from(q.data, (v, k) => {
              const i = paramAt(shape, count, axis, k);
              return Math.fround((v - zero_point[i]!) * Math.fround(scale[i]!));
            }));
          }
        });
      }
    }
  }
});

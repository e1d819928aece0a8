import { describe, expect, it } from 'vitest';
import { maxOf, minOf, rowSums } from '../../lib/array-loops.ts';

describe('rowSums', () => {
  it('sums each row of consecutive values', () => {
    expect(rowSums(Int8Array.of(1, -2, 3, 4, -5, 6), 2)).toEqual([2, 5]);
    expect(rowSums([1, 2, 3, 4], 4)).toEqual([1, 2, 3, 4]);
  });

  it('sums absolute values when asked', () => {
    expect(rowSums(Int32Array.of(1, -2, 3, 4, -5, 6), 3, true)).toEqual([3, 7, 11]);
  });

  it('answers a repeated absolute sum of the same array with its own copy, per row count', () => {
    const w = Int8Array.of(1, -2, 3, -4);
    const first = rowSums(w, 2, true);
    first[0] = 99;
    expect(rowSums(w, 2, true)).toEqual([3, 7]);
    expect(rowSums(w, 4, true)).toEqual([1, 2, 3, 4]);
    expect(rowSums(w, 2)).toEqual([-1, -1]);
  });

  it('gives one zero per row of an empty run and nothing for no rows', () => {
    expect(rowSums(new Int8Array(0), 2)).toEqual([0, 0]);
    expect(rowSums([], 0)).toEqual([]);
  });
});

describe('maxOf and minOf', () => {
  it('agree with Math.max and Math.min on arrays, typed arrays and other iterables', () => {
    const values = [3, -7, 12, 0, 5];
    for (const v of [values, Int16Array.from(values), Float64Array.from(values), new Set(values)]) {
      expect(maxOf(v)).toBe(12);
      expect(minOf(v)).toBe(-7);
    }
  });

  it('give NaN when a value is NaN and the empty extremes for no values', () => {
    expect(maxOf([1, NaN, 2])).toBeNaN();
    expect(minOf(Float32Array.of(1, NaN))).toBeNaN();
    expect(maxOf(new Set([NaN]))).toBeNaN();
    expect(maxOf(new Int8Array(0))).toBe(-Infinity);
    expect(minOf([])).toBe(Infinity);
  });
});

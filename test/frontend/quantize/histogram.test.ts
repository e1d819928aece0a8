import { describe, expect, it } from 'vitest';
import { TensorHistogram } from '../../../frontend/quantize/histogram.ts';
import { gaussian, uniform } from './samples.ts';

/** The bin whose [left edge, right edge) holds x, found from the exposed edges alone (R in the last bin). */
function binOf(h: TensorHistogram, x: number): number {
  let lo = 0;
  let hi = h.binCount - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (h.binEdge(mid) <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Three batches of growing magnitude (the range must double twice or more), with exact zeros. */
function growingBatches(): Float32Array[] {
  const a = uniform(5000, 1, -0.3, 0.2);
  a[17] = 0;
  const b = gaussian(5000, 2, 3);
  const c = uniform(5000, 3, -100, 40);
  c[5] = 0;
  return [a, b, c];
}

function concat(batches: Float32Array[]): Float32Array {
  const out = new Float32Array(batches.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of batches) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

describe('TensorHistogram', () => {
  it('growth keeps every value in the bin that holds it, and exact count, min, max, sum', () => {
    const batches = growingBatches();
    const all = concat(batches);
    const h = new TensorHistogram();
    const radii: number[] = [];
    for (const b of batches) {
      h.observe(b);
      radii.push(h.halfRange);
    }
    expect(radii[2]).toBeGreaterThanOrEqual(4 * radii[0]!);
    expect(h.count).toBe(all.length);
    expect(h.counts.reduce((a, c) => a + c, 0)).toBe(all.length);
    expect(h.min).toBe(all.reduce((m, x) => Math.min(m, x), Infinity));
    expect(h.max).toBe(all.reduce((m, x) => Math.max(m, x), -Infinity));
    const sum = all.reduce((s, x) => s + x, 0);
    const sumSquares = all.reduce((s, x) => s + x * x, 0);
    expect(Math.abs(h.sum - sum)).toBeLessThan(1e-9 * sumSquares);
    expect(h.sumSquares).toBeCloseTo(sumSquares, 6);
    expect(h.zeros).toBe(2);
    const absMax = Math.max(-h.min, h.max);
    expect(h.halfRange).toBeGreaterThanOrEqual(absMax);
    expect(h.halfRange / 2).toBeLessThan(absMax);
    const expected = new Float64Array(h.binCount);
    for (const x of all) expected[binOf(h, x)]!++;
    expect(Array.from(h.counts)).toEqual(Array.from(expected));
  });

  it('all-zero batches first: the zeros stay in the zero bin when the range appears', () => {
    const h = new TensorHistogram(64);
    h.observe(new Float32Array(10));
    expect(h.halfRange).toBe(0);
    expect(h.count).toBe(10);
    h.observe(Float32Array.from([0.75, -0.1, 0]));
    expect(h.halfRange).toBe(1);
    expect(h.counts[h.zeroBin]).toBe(11);
    expect(h.zeros).toBe(11);
    expect(h.counts.reduce((a, c) => a + c, 0)).toBe(13);
    expect([h.min, h.max]).toEqual([Math.fround(-0.1), 0.75]);
  });

  it('counts NaN and ±Inf without binning them or letting them into the statistics', () => {
    const h = new TensorHistogram();
    h.observe(Float32Array.from([1, NaN, -2, Infinity, -Infinity, 0.5]));
    expect(h.nonFinite).toBe(3);
    expect(h.count).toBe(3);
    expect(h.counts.reduce((a, c) => a + c, 0)).toBe(3);
    expect([h.min, h.max, h.sum, h.sumSquares, h.halfRange]).toEqual([-2, 1, -0.5, 5.25, 2]);
  });

  it('merge equals observing both, in either direction', () => {
    const [small, , large] = growingBatches() as [Float32Array, Float32Array, Float32Array];
    for (const [first, second] of [[small, large], [large, small]] as const) {
      const merged = new TensorHistogram();
      merged.observe(first);
      const other = new TensorHistogram();
      other.observe(second);
      merged.merge(other);
      const both = new TensorHistogram();
      both.observe(first);
      both.observe(second);
      expect(Array.from(merged.counts)).toEqual(Array.from(both.counts));
      expect([merged.count, merged.zeros, merged.min, merged.max, merged.halfRange]).toEqual([both.count, both.zeros, both.min, both.max, both.halfRange]);
      expect(merged.sum).toBeCloseTo(both.sum, 6);
      expect(merged.sumSquares).toBeCloseTo(both.sumSquares, 6);
    }
  });

  it('merging an all-zero histogram adds its zeros to the zero bin', () => {
    const h = new TensorHistogram(16);
    h.observe(Float32Array.from([3, -1]));
    const zeros = new TensorHistogram(16);
    zeros.observe(new Float32Array(4));
    h.merge(zeros);
    expect(h.counts[h.zeroBin]).toBe(4);
    expect([h.count, h.zeros, h.min, h.max]).toEqual([6, 4, -1, 3]);
  });

  it('refuses a bin count that cannot pair up when the range doubles, and merges of different bin counts', () => {
    expect(() => new TensorHistogram(6)).toThrow(/multiple of 4/);
    expect(() => new TensorHistogram(16).merge(new TensorHistogram(32))).toThrow(/bin counts differ/);
  });
});

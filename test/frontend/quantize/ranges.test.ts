import { describe, expect, it } from 'vitest';
import { TensorHistogram } from '../../../frontend/quantize/histogram.ts';
import {
  affineParams, chooseRange, entropyCandidates, powerOfTwoScale, quantizationMse, quantizedBounds,
  type AffineParams, type RealRange,
} from '../../../frontend/quantize/ranges.ts';
import { gaussian, laplace, uniform } from './samples.ts';

function histogramOf(values: Float32Array, binCount?: number): TensorHistogram {
  const h = new TensorHistogram(binCount);
  h.observe(values);
  return h;
}

/** Fake quantization of every sample on the affine grid of `range`: the error the methods estimate. */
function sampleMse(values: Float32Array, range: RealRange, bits: number): number {
  const { qmin, qmax } = quantizedBounds(bits);
  const { scale, zeroPoint } = affineParams(range, bits);
  let sum = 0;
  for (const x of values) {
    const q = Math.min(qmax, Math.max(qmin, Math.round(x / scale) + zeroPoint));
    sum += (x - (q - zeroPoint) * scale) ** 2;
  }
  return sum / values.length;
}

/** Does (scale, zeroPoint) cover [min(lo, 0), max(hi, 0)] in the type's range? */
function covers(p: AffineParams, range: RealRange, bits: number, signed: boolean): boolean {
  const { qmin, qmax } = quantizedBounds(bits, signed);
  return Number.isInteger(p.zeroPoint) && p.zeroPoint >= qmin && p.zeroPoint <= qmax
    && (qmin - p.zeroPoint) * p.scale <= Math.min(range.min, 0) && (qmax - p.zeroPoint) * p.scale >= Math.max(range.max, 0);
}

/** KL(P‖Q) of one candidate straight from the definition, on whole arrays. */
/** KL(P‖Q) straight from the definition, exact zeros left out (0 is exact in every candidate). */
function referenceDivergence(h: TensorHistogram, firstBin: number, endBin: number, bits: number): number {
  const counts = Array.from(h.counts);
  counts[h.zeroBin]! -= h.zeros;
  const n = endBin - firstBin;
  const inRange = counts.slice(firstBin, endBin);
  const p = inRange.slice();
  p[0]! += counts.slice(0, firstBin).reduce((a, c) => a + c, 0);
  p[n - 1]! += counts.slice(endBin).reduce((a, c) => a + c, 0);
  const levels = 2 ** bits;
  const q = new Array<number>(n).fill(0);
  for (let k = 0; k < levels; k++) {
    const a = Math.floor((k * n) / levels);
    const b = Math.floor(((k + 1) * n) / levels);
    let mass = 0;
    let nonzero = 0;
    for (let i = a; i < b; i++) {
      mass += inRange[i]!;
      if (p[i]! > 0) nonzero++;
    }
    for (let i = a; i < b; i++) if (p[i]! > 0) q[i] = mass / nonzero;
  }
  const pTotal = p.reduce((a, c) => a + c, 0);
  const qTotal = q.reduce((a, c) => a + c, 0);
  let kl = 0;
  for (let i = 0; i < n; i++) {
    if (p[i] === 0) continue;
    if (q[i] === 0) return Infinity;
    kl += (p[i]! / pTotal) * Math.log(p[i]! / pTotal / (q[i]! / qTotal));
  }
  return kl;
}

describe('minmax and percentile', () => {
  it('minmax is the observed range, widened to include 0', () => {
    const g = gaussian(10000, 1);
    const h = histogramOf(g);
    expect(chooseRange(h, { method: 'minmax', bits: 8 })).toEqual({ min: h.min, max: h.max });
    expect(chooseRange(histogramOf(uniform(1000, 2, 0.5, 6)), { method: 'minmax', bits: 4 })).toEqual({ min: 0, max: Math.fround(uniform(1000, 2, 0.5, 6).reduce((m, x) => Math.max(m, x))) });
    expect(chooseRange(histogramOf(Float32Array.from([-3, -1])), { method: 'minmax', bits: 8 })).toEqual({ min: -3, max: 0 });
    expect(chooseRange(new TensorHistogram(), { method: 'minmax', bits: 8 })).toEqual({ min: 0, max: 0 });
  });

  it('percentile clips each side at its quantile of known uniform data', () => {
    const h = histogramOf(uniform(400000, 3, -1, 3));
    const r = chooseRange(h, { method: 'percentile', bits: 8, percentile: 99 });
    expect(r.max).toBeCloseTo(3 - 0.04, 2);
    expect(r.min).toBeCloseTo(-1 + 0.04, 2);
    const r2 = chooseRange(h, { method: 'percentile', bits: 8, percentile: 90 });
    expect(r2.max).toBeCloseTo(2.6, 2);
    expect(r2.min).toBeCloseTo(-0.6, 2);
    expect(chooseRange(h, { method: 'percentile', bits: 8, percentile: 100 })).toEqual({ min: h.min, max: h.max });
    expect(() => chooseRange(h, { method: 'percentile', bits: 8, percentile: 40 })).toThrow(/percentile/);
  });

  it('refuses a bit width outside 2..8', () => {
    const h = histogramOf(gaussian(100, 1));
    for (const bits of [1, 9, 4.5]) expect(() => chooseRange(h, { method: 'minmax', bits })).toThrow(/bit width/);
  });
});

describe('mse', () => {
  const cases = [
    { name: 'Gaussian', data: gaussian(50000, 11) },
    { name: 'Laplace', data: laplace(50000, 12) },
  ];
  for (const { name, data } of cases) {
    for (const bits of [8, 4, 2]) {
      it(`${name} at ${bits} bits: within 1% of the brute-force optimum over the raw samples`, () => {
        const h = histogramOf(data);
        const chosen = chooseRange(h, { method: 'mse', bits });
        let best = Infinity;
        for (let alpha = 0.02; alpha <= 1; alpha += 0.0025) {
          best = Math.min(best, sampleMse(data, { min: alpha * h.min, max: alpha * h.max }, bits));
        }
        const achieved = sampleMse(data, chosen, bits);
        expect(achieved).toBeLessThanOrEqual(best * 1.01);
        // The histogram's estimate of the error is the samples' error.
        expect(quantizationMse(h, chosen, bits) / achieved).toBeCloseTo(1, 1);
        // Never worse than the observed range.
        expect(achieved).toBeLessThanOrEqual(sampleMse(data, { min: h.min, max: h.max }, bits));
      });
    }
  }

  it("Laplace: clips well inside the max, near Banner et al.'s analytic clip (5.03·b at 4 bits, 2.83·b at 2 bits)", () => {
    const b = 1.5;
    const h = histogramOf(laplace(100000, 13, b));
    // Banner's clip α spans 2^M levels of step Δ = 2α/2^M; here that is 2^bits·scale/2.
    const clip = (bits: number): number => (2 ** bits * affineParams(chooseRange(h, { method: 'mse', bits }), bits).scale) / 2;
    expect(chooseRange(h, { method: 'mse', bits: 4 }).max).toBeLessThan(0.6 * h.max);
    expect(clip(4) / b).toBeGreaterThan(5.03 * 0.9);
    expect(clip(4) / b).toBeLessThan(5.03 * 1.1);
    // At 2 bits 0 is a level, so the four levels are {−s, 0, s, 2s}, not Banner's ±Δ/2, ±3Δ/2: only rough agreement.
    expect(clip(2) / b).toBeGreaterThan(2.83 * 0.75);
    expect(clip(2) / b).toBeLessThan(2.83 * 1.25);
    expect(clip(2)).toBeLessThan(clip(4));
  });

  it('a ReLU-like tensor (half exact zeros) keeps min 0 and clips only the top', () => {
    const g = gaussian(50000, 14);
    const relu = g.map((x) => Math.max(x, 0));
    const h = histogramOf(relu);
    expect(h.zeros).toBeGreaterThan(20000);
    for (const bits of [8, 4]) {
      const r = chooseRange(h, { method: 'mse', bits });
      expect(r.min).toBe(0);
      expect(r.max).toBeLessThan(h.max);
      // Exact zeros cost nothing; spread over their bin they would add half the error at 8 bits.
      expect(quantizationMse(h, r, bits) / sampleMse(relu, r, bits)).toBeCloseTo(1, 1);
    }
  });
});

describe('entropy', () => {
  /** Gaussian body with 20 rare outliers at ±40..60. */
  function withOutliers(): Float32Array {
    const g = gaussian(100000, 21);
    for (let i = 0; i < 20; i++) g[i * 4999] = (i % 2 ? -1 : 1) * (40 + i);
    return g;
  }

  it('clips rare large outliers and keeps the body (4 bits; 8 bits with a finer histogram)', () => {
    for (const [bits, bins] of [[4, 2048], [8, 8192]] as const) {
      const h = histogramOf(withOutliers(), bins);
      expect(h.max).toBeGreaterThan(50);
      const r = chooseRange(h, { method: 'entropy', bits });
      expect(r.max).toBeLessThan(10);
      expect(r.min).toBeGreaterThan(-10);
      expect(r.max).toBeGreaterThan(2);
      expect(r.min).toBeLessThan(-2);
    }
  });

  const sets = [
    { name: 'Gaussian with outliers', data: withOutliers(), bits: 4 },
    { name: 'Laplace', data: laplace(30000, 22), bits: 8 },
    { name: 'ReLU-like Laplace', data: laplace(30000, 23).map((x) => Math.max(x, 0)), bits: 3 },
  ];
  it('exact zeros do not pull the range in: uniform data with a spike at 0 keeps its whole range', () => {
    const data = Array.from({ length: 20000 }, (_, k) => (k % 5 === 0 ? (k % 997) / 996 : 0));
    const chosen = chooseRange(histogramOf(Float32Array.from(data)), { method: 'entropy', bits: 8 });
    expect(chosen.max).toBeGreaterThan(0.95);
  });

  for (const { name, data, bits } of sets) {
    it(`${name}: every candidate's divergence is the direct KL(P‖Q), and the least is chosen`, () => {
      const h = histogramOf(data);
      const candidates = entropyCandidates(h, bits);
      expect(candidates.length).toBeGreaterThan(100);
      for (const c of candidates) {
        const want = referenceDivergence(h, c.firstBin, c.endBin, bits);
        if (want === Infinity) expect(c.divergence).toBe(Infinity);
        else expect(Math.abs(c.divergence - want)).toBeLessThan(1e-9 + 1e-7 * want);
        expect(c.endBin - c.firstBin).toBeGreaterThanOrEqual(2 ** bits);
        expect(c.firstBin).toBeLessThanOrEqual(h.zeroBin);
        expect(c.endBin).toBeGreaterThanOrEqual(h.zeroBin);
      }
      const least = Math.min(...candidates.map((c) => c.divergence));
      const chosen = chooseRange(h, { method: 'entropy', bits });
      expect(candidates.find((c) => c.divergence === least)!.range).toEqual(chosen);
      expect(chosen.min).toBeLessThanOrEqual(0);
      expect(chosen.max).toBeGreaterThanOrEqual(0);
    });
  }
});

describe('affineParams and powerOfTwoScale', () => {
  const ranges: RealRange[] = [
    { min: -1, max: 1 }, { min: -0.3, max: 5.7 }, { min: -7, max: 0.01 }, { min: 0, max: 6 }, { min: -3, max: 0 },
    { min: 1e-6, max: 2e-6 }, { min: -123.4, max: 98.7 },
  ];

  /** The least scale over every integer zero point, found by trying them all. */
  function bruteForceScale(range: RealRange, bits: number, signed: boolean): number {
    const { qmin, qmax } = quantizedBounds(bits, signed);
    const lo = Math.min(range.min, 0);
    const hi = Math.max(range.max, 0);
    let best = Infinity;
    for (let zp = qmin; zp <= qmax; zp++) {
      if ((lo < 0 && zp === qmin) || (hi > 0 && zp === qmax)) continue;
      best = Math.min(best, Math.max(lo < 0 ? -lo / (zp - qmin) : 0, hi > 0 ? hi / (qmax - zp) : 0));
    }
    return best;
  }

  it('maps 0 exactly, covers the range, and has the least scale of any integer zero point', () => {
    for (const range of ranges) {
      for (let bits = 2; bits <= 8; bits++) {
        for (const signed of [true, false]) {
          const p = affineParams(range, bits, signed);
          expect(covers(p, range, bits, signed)).toBe(true);
          expect(Math.round(0 / p.scale) + p.zeroPoint).toBe(p.zeroPoint);
          expect(p.scale).toBeGreaterThan(0);
          expect(p.scale / bruteForceScale(range, bits, signed)).toBeCloseTo(1, 12);
        }
      }
    }
  });

  it('one-sided ranges put the zero point at the end of the type; constants are exact', () => {
    expect(affineParams({ min: 0, max: 6 }, 8)).toEqual({ scale: 6 / 255, zeroPoint: -128 });
    expect(affineParams({ min: 0, max: 6 }, 8, false).zeroPoint).toBe(0);
    expect(affineParams({ min: -3, max: 0 }, 4).zeroPoint).toBe(7);
    // A constant tensor c: its range is [0, c] and c is the top level.
    const c = affineParams({ min: 0.7, max: 0.7 }, 8);
    expect((127 - c.zeroPoint) * c.scale).toBeCloseTo(0.7, 15);
    // All zeros: any scale is exact; it is 1.
    expect(affineParams({ min: 0, max: 0 }, 8)).toEqual({ scale: 1, zeroPoint: -128 });
  });

  it('powerOfTwoScale: the least power of two at or above the affine scale that covers the range', () => {
    for (const range of ranges) {
      for (let bits = 2; bits <= 8; bits++) {
        const p = powerOfTwoScale(range, bits);
        expect(Number.isInteger(Math.log2(p.scale))).toBe(true);
        expect(p.scale).toBeGreaterThanOrEqual(affineParams(range, bits).scale);
        expect(covers(p, range, bits, true)).toBe(true);
        const { qmin, qmax } = quantizedBounds(bits);
        let halfCovers = false;
        for (let zp = qmin; zp <= qmax; zp++) halfCovers ||= covers({ scale: p.scale / 2, zeroPoint: zp }, range, bits, true);
        expect(halfCovers).toBe(false);
      }
    }
    expect(powerOfTwoScale({ min: 0, max: 6 }, 8)).toEqual({ scale: 1 / 32, zeroPoint: -128 });
    expect(powerOfTwoScale({ min: -1, max: 1 }, 8)).toEqual({ scale: 1 / 64, zeroPoint: 0 });
  });
});

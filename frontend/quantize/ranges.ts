/**
 * Choosing the real range [min, max] that a tensor is quantized to with 2^bits levels (asymmetric,
 * affine: the caller derives scale and zero point with `affineParams`), from its TensorHistogram.
 * Every range includes 0, so that real 0 (padding, ReLU's floor) is exact. Generic in the bit width
 * (2..8).
 *
 * Candidate ranges. Let lo = min(observed min, 0) and hi = max(observed max, 0).
 *  - percentile clips each side separately, at its own tail quantile: that is the method's
 *    definition, and each side's quantile is well defined on its own.
 *  - mse and entropy search one-parameter families that shrink [lo, hi] towards 0 keeping the
 *    ratio lo : hi (mse: [α·lo, α·hi]; entropy: bin-aligned ranges of that ratio). One parameter
 *    keeps the search cheap and robust to histogram noise, keeps the zero point where the data
 *    puts it, and is exactly the one-sided clip of a ReLU-like tensor (lo = 0). Clipping the sides
 *    separately would only pay for skewed tails; the step Δ couples both sides, so it needs a
 *    two-dimensional search.
 *
 * mse: the expected squared error of fake quantization on the real affine grid (the one
 * `affineParams` gives for the candidate, rounded zero point included), rounding inside and clipping
 * outside alike, integrated exactly over the histogram with each bin's values spread uniformly over
 * the bin (exact zeros are kept at 0, where the error is 0). Banner et al.'s analytical clipping
 * minimizes the same quantity for a Gaussian or Laplace model; here it is minimized numerically on
 * the observed distribution: a geometric grid of α, then a fine grid around the best.
 *
 * entropy (the KL-divergence calibration of TensorRT and TVM): a candidate is a bin-aligned range of
 * n ≥ 2^bits bins. P is the histogram inside it with the mass outside folded into its two edge
 * bins. Q quantizes the in-range histogram (without the folded mass) to 2^bits levels of equal bin
 * spans (level k covers bins ⌊k·n/L⌋ ..< ⌊(k+1)·n/L⌋) and expands each level's mass evenly over the
 * bins where P is nonzero. Building Q from P itself would make every candidate of one bin per level
 * divergence-free. The candidate with the least KL(P‖Q) wins (the widest on ties); a candidate that
 * folds outliers into a level holding nothing else has Q = 0 where P > 0, an infinite divergence:
 * it is never chosen. Each candidate costs O(2^bits) with prefix sums of c, c·ln c and [c > 0].
 * The narrowest candidate is 2^bits bins wide: R/4 at 8 bits with 2048 bins over [-R, R], so clipping
 * far inside that needs a finer histogram (8192 bins match TensorRT's 2048 over [0, max |x|]).
 */
import type { TensorHistogram } from './histogram.ts';

export const CALIBRATION_METHODS = ['minmax', 'percentile', 'entropy', 'mse'] as const;
export type CalibrationMethod = (typeof CALIBRATION_METHODS)[number];

export const DEFAULT_PERCENTILE = 99.99;

export interface RealRange {
  min: number;
  max: number;
}

export interface RangeOptions {
  method: CalibrationMethod;
  /** 2..8 */
  bits: number;
  /** For 'percentile': the upper quantile in percent, (50, 100]; the lower one is 100 − p. */
  percentile?: number;
}

export interface AffineParams {
  /** > 0: real = (q − zeroPoint)·scale */
  scale: number;
  /** An integer in the quantized type's range. */
  zeroPoint: number;
}

/** One entropy candidate: bins [firstBin, endBin) of the histogram, its real range and KL(P‖Q). */
export interface EntropyCandidate {
  firstBin: number;
  endBin: number;
  range: RealRange;
  divergence: number;
}

export function chooseRange(h: TensorHistogram, options: RangeOptions): RealRange {
  checkBits(options.bits);
  switch (options.method) {
    case 'minmax':
      return observedRange(h);
    case 'percentile':
      return percentileRange(h, options.percentile ?? DEFAULT_PERCENTILE);
    case 'entropy':
      return entropyRange(h, options.bits);
    case 'mse':
      return mseRange(h, options.bits);
  }
}

/** [min(observed min, 0), max(observed max, 0)]; [0, 0] when nothing finite was seen. */
export function observedRange(h: TensorHistogram): RealRange {
  if (h.count === 0) return { min: 0, max: 0 };
  return { min: Math.min(h.min, 0), max: Math.max(h.max, 0) };
}

// ---------------------------------------------------------------------------------------------
// Affine and power-of-two parameters

/** The integer range of a `bits`-bit quantized type. */
export function quantizedBounds(bits: number, signed = true): { qmin: number; qmax: number } {
  checkBits(bits);
  const qmin = signed ? -(2 ** (bits - 1)) : 0;
  return { qmin, qmax: qmin + 2 ** bits - 1 };
}

/**
 * The smallest scale, with an integer zero point, whose grid (q − zeroPoint)·scale for q in the
 * type's range covers `range` (widened to include 0). Real 0 is exactly q = zeroPoint; a range
 * [0, max] gets the type's minimum as zero point, [min, 0] its maximum. A degenerate range [0, 0]
 * (an all-zero tensor) gets scale 1 and the type's minimum: any scale represents its only value 0
 * exactly. A constant c ≠ 0 is the range [0, c] (or [c, 0]) and maps to the type's extreme exactly.
 */
export function affineParams(range: RealRange, bits: number, signed = true): AffineParams {
  const { qmin, qmax } = quantizedBounds(bits, signed);
  const lo = Math.min(range.min, 0);
  const hi = Math.max(range.max, 0);
  if (lo === 0 && hi === 0) return { scale: 1, zeroPoint: qmin };
  // The real zero point that spreads the levels exactly over [lo, hi]; the best integer one is a
  // neighbour of it (the scale each zero point needs is the max of a falling and a rising curve).
  const ideal = (qmin * hi - lo * qmax) / (hi - lo);
  let best: AffineParams | undefined;
  for (const zp of [Math.floor(ideal), Math.ceil(ideal)]) {
    const scale = scaleForZeroPoint(lo, hi, zp, qmin, qmax);
    if (scale !== undefined && (best === undefined || scale < best.scale)) best = { scale, zeroPoint: zp + 0 };
  }
  return best!;
}

/** The smallest scale with which zero point zp covers [lo, hi]; undefined when none can. */
function scaleForZeroPoint(lo: number, hi: number, zp: number, qmin: number, qmax: number): number | undefined {
  if (zp < qmin || zp > qmax || (lo < 0 && zp === qmin) || (hi > 0 && zp === qmax)) return undefined;
  let scale = Math.max(lo < 0 ? -lo / (zp - qmin) : 0, hi > 0 ? hi / (qmax - zp) : 0);
  // Division rounds: nudge up until the end levels really reach lo and hi.
  while ((qmin - zp) * scale > lo || (qmax - zp) * scale < hi) scale *= 1 + 2 ** -52;
  return scale;
}

/**
 * The smallest power-of-two scale that covers `range` with some integer zero point (VTA then
 * rescales with exact shifts). Of the zero points that cover it, the one nearest the affine ideal
 * (so [0, max] still gets the type's minimum).
 */
export function powerOfTwoScale(range: RealRange, bits: number, signed = true): AffineParams {
  const { qmin, qmax } = quantizedBounds(bits, signed);
  const lo = Math.min(range.min, 0);
  const hi = Math.max(range.max, 0);
  if (lo === 0 && hi === 0) return { scale: 1, zeroPoint: qmin };
  const affine = affineParams(range, bits, signed);
  // Every scale at or above the affine one covers the range; log2 may round either way.
  let scale = 2 ** Math.ceil(Math.log2(affine.scale));
  while (scale < affine.scale) scale *= 2;
  while (scale / 2 >= affine.scale && zeroPointsFor(lo, hi, scale / 2, qmin, qmax) !== undefined) scale /= 2;
  const { lowest, highest } = zeroPointsFor(lo, hi, scale, qmin, qmax)!;
  const ideal = Math.round((qmin * hi - lo * qmax) / (hi - lo));
  return { scale, zeroPoint: Math.min(highest, Math.max(lowest, ideal)) + 0 };
}

/** The integer zero points with which `scale` covers [lo, hi], or undefined. */
function zeroPointsFor(lo: number, hi: number, scale: number, qmin: number, qmax: number): { lowest: number; highest: number } | undefined {
  const lowest = qmin + Math.ceil(-lo / scale);
  const highest = qmax - Math.ceil(hi / scale);
  return lowest <= highest ? { lowest, highest } : undefined;
}

// ---------------------------------------------------------------------------------------------
// percentile

/** Each side clipped at its tail quantile: [q(1 − p/100), q(p/100)], widened to include 0. */
export function percentileRange(h: TensorHistogram, percentile: number): RealRange {
  if (!(percentile > 50 && percentile <= 100)) {
    throw new Error(`percentileRange: the percentile must be in (50, 100], got ${percentile}`);
  }
  if (h.count === 0) return { min: 0, max: 0 };
  const p = percentile / 100;
  return { min: Math.min(quantile(h, 1 - p), 0), max: Math.max(quantile(h, p), 0) };
}

/** The q-quantile (0 ≤ q ≤ 1) of the histogram, linear within a bin, clamped to [min, max]. */
export function quantile(h: TensorHistogram, q: number): number {
  if (h.halfRange === 0) return 0;
  const counts = h.counts;
  const target = q * h.count;
  let below = 0;
  for (let b = 0; b < h.binCount; b++) {
    const c = counts[b]!;
    if (c > 0 && below + c >= target) {
      const x = h.binEdge(b) + ((target - below) / c) * h.binWidth;
      return Math.min(h.max, Math.max(h.min, x));
    }
    below += c;
  }
  return h.max;
}

// ---------------------------------------------------------------------------------------------
// mse

/** Geometric coarse grid: 2^(1/8) apart. */
const MSE_COARSE_STEPS_PER_OCTAVE = 8;
/** Points of the fine grid between the coarse neighbours of the best coarse α. */
const MSE_FINE_POINTS = 32;
/** The narrowest candidate spans this many bins (the histogram says nothing finer). */
const MSE_MIN_SPAN_BINS = 2;

/** [α·lo, α·hi] with the α in (0, 1] of least `quantizationMse`. */
export function mseRange(h: TensorHistogram, bits: number): RealRange {
  const { min: lo, max: hi } = observedRange(h);
  if (hi - lo === 0 || h.halfRange === 0) return { min: lo, max: hi };
  const scaled = (alpha: number): RealRange => ({ min: alpha * lo, max: alpha * hi });
  const moments = binMoments(h);
  const error = (alpha: number): number => quantizationMse(h, scaled(alpha), bits, moments);
  const minAlpha = Math.min(1, (MSE_MIN_SPAN_BINS * h.binWidth) / (hi - lo));

  const coarse: number[] = [];
  for (let k = 0; ; k++) {
    const alpha = 2 ** (-k / MSE_COARSE_STEPS_PER_OCTAVE);
    if (alpha < minAlpha) break;
    coarse.push(alpha);
  }
  let bestAlpha = 1;
  let bestError = Infinity;
  let bestIndex = 0;
  coarse.forEach((alpha, k) => {
    const e = error(alpha);
    if (e < bestError) [bestAlpha, bestError, bestIndex] = [alpha, e, k];
  });
  const upper = coarse[bestIndex - 1] ?? 1;
  const lower = coarse[bestIndex + 1] ?? minAlpha;
  for (let i = 0; i <= MSE_FINE_POINTS; i++) {
    const alpha = lower + ((upper - lower) * i) / MSE_FINE_POINTS;
    const e = error(alpha);
    if (e < bestError) [bestAlpha, bestError] = [alpha, e];
  }
  return scaled(bestAlpha);
}

/**
 * The mean squared error of quantizing the histogram's values to `bits` bits on the affine grid of
 * `range` (round to nearest level, clip to the end levels), each bin's values taken as uniform over
 * the bin and exact zeros as exact. O(2^bits) per call once the histogram's `binMoments` are known.
 */
export function quantizationMse(h: TensorHistogram, range: RealRange, bits: number, moments = binMoments(h)): number {
  if (h.count === 0 || h.halfRange === 0) return 0;
  const { qmin, qmax } = quantizedBounds(bits);
  const { scale, zeroPoint } = affineParams(range, bits);
  const r = h.halfRange;
  let total = 0;
  for (let q = qmin; q <= qmax; q++) {
    // Level q takes the values of its rounding cell; the end levels also take everything beyond.
    const u = q === qmin ? -r : Math.max(-r, (q - zeroPoint - 0.5) * scale);
    const v = q === qmax ? r : Math.min(r, (q - zeroPoint + 0.5) * scale);
    if (u < v) total += cellError(moments, u, v, (q - zeroPoint) * scale);
  }
  return total / h.count;
}

/**
 * A histogram as a piecewise-uniform density: each bin's count spread evenly over the bin, exact
 * zeros left out (their error is 0 on every grid), with prefix sums of the mass and its first two
 * moments so that a run of whole bins costs O(1).
 */
export interface BinMoments {
  halfRange: number;
  binWidth: number;
  /** The uniformly spread count of each bin. */
  uniform: Float64Array;
  mass: Float64Array;
  first: Float64Array;
  second: Float64Array;
}

export function binMoments(h: TensorHistogram): BinMoments {
  const n = h.binCount;
  const w = h.binWidth;
  const uniform = Float64Array.from(h.counts);
  uniform[h.zeroBin]! -= h.zeros;
  const m: BinMoments = { halfRange: h.halfRange, binWidth: w, uniform, mass: new Float64Array(n + 1), first: new Float64Array(n + 1), second: new Float64Array(n + 1) };
  for (let b = 0; b < n; b++) {
    const c = uniform[b]!;
    const center = h.binEdge(b) + w / 2;
    m.mass[b + 1] = m.mass[b]! + c;
    m.first[b + 1] = m.first[b]! + c * center;
    m.second[b + 1] = m.second[b]! + c * (center * center + (w * w) / 12);
  }
  return m;
}

/** ∫ over [u, v) ⊂ [-R, R] of density·(x − y)²: whole bins from the moments, the partial ones directly. */
function cellError(m: BinMoments, u: number, v: number, y: number): number {
  const { halfRange: r, binWidth: w } = m;
  const n = m.uniform.length;
  const bu = Math.min(n - 1, Math.floor((u + r) / w));
  const bv = Math.floor((v + r) / w);
  if (bu >= bv) return partialBinError(m, bu, u, v, y);
  let e = partialBinError(m, bu, u, -r + (bu + 1) * w, y);
  const a = bu + 1;
  if (bv > a) e += m.second[bv]! - m.second[a]! - 2 * y * (m.first[bv]! - m.first[a]!) + y * y * (m.mass[bv]! - m.mass[a]!);
  if (bv < n) e += partialBinError(m, bv, -r + bv * w, v, y);
  return e;
}

function partialBinError(m: BinMoments, b: number, u: number, v: number, y: number): number {
  const c = m.uniform[b]!;
  if (c <= 0 || v <= u) return 0;
  const du = u - y;
  const dv = v - y;
  return ((c / m.binWidth) * (dv * dv * dv - du * du * du)) / 3;
}

// ---------------------------------------------------------------------------------------------
// entropy

/** The candidate of least KL divergence (the observed range when there are too few bins). */
export function entropyRange(h: TensorHistogram, bits: number): RealRange {
  let best: EntropyCandidate | undefined;
  for (const c of entropyCandidates(h, bits)) if (best === undefined || c.divergence < best.divergence) best = c;
  return best?.range ?? observedRange(h);
}

/**
 * Every entropy candidate, widest first: j bins on the side of 0 that reaches further, round(j·r)
 * on the other (r the ratio of the occupied bins on each side), at least 2^bits bins in all.
 */
export function entropyCandidates(h: TensorHistogram, bits: number): EntropyCandidate[] {
  checkBits(bits);
  const levels = 2 ** bits;
  if (h.count === 0 || h.halfRange === 0) return [];
  // Exact zeros are left out: every candidate represents 0 exactly, so they carry no quantization
  // error; kept in, the spike a ReLU leaves at 0 makes each wide candidate look worse than it is
  // (its first level spreads the spike over all its bins) and the narrowest range wins.
  const half = h.zeroBin;
  const counts = Float64Array.from(h.counts);
  counts[half] = counts[half]! - h.zeros;
  if (counts.every((c) => c === 0)) return [];
  let first = 0;
  while (counts[first] === 0) first++;
  let last = h.binCount - 1;
  while (counts[last] === 0) last--;
  const left = Math.max(0, half - first);
  const right = Math.max(0, last + 1 - half);
  const longer = Math.max(left, right);
  const ratio = Math.min(left, right) / longer;
  const observed = observedRange(h);
  const prefix = prefixSums(counts);
  const out: EntropyCandidate[] = [];
  for (let j = longer; j >= 1; j--) {
    const i = Math.round(j * ratio);
    if (i + j < levels) break;
    const firstBin = half - (left >= right ? j : i);
    const endBin = half + (left >= right ? i : j);
    const range = { min: Math.max(observed.min, h.binEdge(firstBin)), max: Math.min(observed.max, h.binEdge(endBin)) };
    out.push({ firstBin, endBin, range, divergence: klDivergence(counts, prefix, firstBin, endBin, levels) });
  }
  return out;
}

interface PrefixSums {
  count: Float64Array;
  countLogCount: Float64Array;
  nonzero: Float64Array;
}

function xlogx(x: number): number {
  return x > 0 ? x * Math.log(x) : 0;
}

function prefixSums(counts: Readonly<Float64Array>): PrefixSums {
  const n = counts.length;
  const s: PrefixSums = { count: new Float64Array(n + 1), countLogCount: new Float64Array(n + 1), nonzero: new Float64Array(n + 1) };
  for (let b = 0; b < n; b++) {
    const c = counts[b]!;
    s.count[b + 1] = s.count[b]! + c;
    s.countLogCount[b + 1] = s.countLogCount[b]! + xlogx(c);
    s.nonzero[b + 1] = s.nonzero[b]! + (c > 0 ? 1 : 0);
  }
  return s;
}

/**
 * KL(P‖Q) for bins [start, end), in O(levels): with c the counts of P (folded), T = Σc, s_k the
 * in-range mass of level k, m_k its mass in P, nz_k its nonzero bins of P and S = Σ s_k,
 *   KL = (Σ_b c_b·ln c_b − Σ_k m_k·ln(s_k/nz_k)) / T + ln(S/T).
 */
function klDivergence(counts: Readonly<Float64Array>, prefix: PrefixSums, start: number, end: number, levels: number): number {
  const n = end - start;
  const total = prefix.count[counts.length]!;
  const below = prefix.count[start]!;
  const above = total - prefix.count[end]!;
  const inRange = total - below - above;
  if (inRange === 0) return Infinity;
  const firstCount = counts[start]!;
  const lastCount = counts[end - 1]!;
  const sumCLogC = prefix.countLogCount[end]! - prefix.countLogCount[start]!
    - xlogx(firstCount) - xlogx(lastCount) + xlogx(firstCount + below) + xlogx(lastCount + above);
  let levelTerm = 0;
  for (let k = 0; k < levels; k++) {
    const a = start + Math.floor((k * n) / levels);
    const b = start + Math.floor(((k + 1) * n) / levels);
    const s = prefix.count[b]! - prefix.count[a]!;
    let mass = s;
    let nonzero = prefix.nonzero[b]! - prefix.nonzero[a]!;
    if (a === start && below > 0) {
      mass += below;
      if (firstCount === 0) nonzero++;
    }
    if (b === end && above > 0) {
      mass += above;
      if (lastCount === 0) nonzero++;
    }
    if (mass === 0) continue;
    if (s === 0) return Infinity;
    levelTerm += mass * Math.log(s / nonzero);
  }
  return (sumCLogC - levelTerm) / total + Math.log(inRange / total);
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) throw new Error(`the bit width must be an integer from 2 to 8, got ${bits}`);
}

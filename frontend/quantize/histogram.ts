/**
 * Streaming statistics of one tensor over the calibration batches: count, min, max, sum, sum of
 * squares, exact zeros, and a histogram over a symmetric range [-R, R] with a fixed number of bins.
 *
 * The range grows by doubling R: adjacent bin pairs merge into the central half of the bins, so
 * no value is ever re-read and every bin edge stays exact. R is a power of two (the first one at or
 * above the first nonzero batch's max |x|) for two reasons:
 *  - two histograms of the same bin count then always have aligned edges after doubling the
 *    smaller one, so `merge` is exact (no re-binning of one histogram into the other's edges);
 *  - the bin index floor(x·bins/(2R)) + bins/2 is computed exactly in float64 (a product with a
 *    power of two), so every value lands in the bin whose half-open interval holds it.
 * The price is resolution: the data fills between half and all of [-R, R] on its larger side.
 * The bin count must be a multiple of 4: each half must pair up its bins when R doubles.
 *
 * Non-finite values (NaN, ±Inf) are counted in `nonFinite` and nowhere else; the caller refuses
 * them, naming the tensor.
 */

export const DEFAULT_BIN_COUNT = 2048;

export class TensorHistogram {
  readonly binCount: number;
  /** Finite values seen. */
  count = 0;
  /** NaN and ±Inf values seen (not in any other statistic). */
  nonFinite = 0;
  /** Values exactly 0 (also counted in the bin just above 0): exact on every affine grid. */
  zeros = 0;
  min = Infinity;
  max = -Infinity;
  sum = 0;
  sumSquares = 0;
  /** R: the histogram covers [-R, R]; 0 until a nonzero finite value is seen. */
  halfRange = 0;
  private bins: Float64Array;

  constructor(binCount = DEFAULT_BIN_COUNT) {
    if (!Number.isInteger(binCount) || binCount < 4 || binCount % 4 !== 0) {
      throw new Error(`TensorHistogram: the bin count must be a positive multiple of 4, got ${binCount}`);
    }
    this.binCount = binCount;
    this.bins = new Float64Array(binCount);
  }

  /** Bin counts; bin i covers [binEdge(i), binEdge(i + 1)), the last one includes R. */
  get counts(): Readonly<Float64Array> {
    return this.bins;
  }

  /** The index of the bin [0, binWidth): the one that holds zeros. */
  get zeroBin(): number {
    return this.binCount / 2;
  }

  /** 2R / binCount (0 while only zeros have been seen). */
  get binWidth(): number {
    return (2 * this.halfRange) / this.binCount;
  }

  /** The left edge of bin i (i = binCount gives R). */
  binEdge(i: number): number {
    return -this.halfRange + i * this.binWidth;
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** Adds one batch of values. */
  observe(values: ArrayLike<number>): void {
    const n = values.length;
    let min = this.min, max = this.max, sum = 0, sumSquares = 0, absMax = 0, nonFinite = 0;
    for (let i = 0; i < n; i++) {
      const x = values[i]!;
      if (x - x !== 0) {
        nonFinite++;
        continue;
      }
      if (x < min) min = x;
      if (x > max) max = x;
      sum += x;
      sumSquares += x * x;
      const a = x < 0 ? -x : x;
      if (a > absMax) absMax = a;
    }
    const finite = n - nonFinite;
    this.nonFinite += nonFinite;
    if (finite === 0) return;
    this.count += finite;
    this.min = min;
    this.max = max;
    this.sum += sum;
    this.sumSquares += sumSquares;
    this.growTo(absMax);
    if (this.halfRange === 0) {
      // Only zeros so far: they belong to the zero bin whatever R becomes.
      this.bins[this.zeroBin]! += finite;
      this.zeros += finite;
      return;
    }
    this.binValues(values);
  }

  /** Adds another histogram's statistics, as if its values had been observed here. */
  merge(other: TensorHistogram): void {
    if (other.binCount !== this.binCount) {
      throw new Error(`TensorHistogram.merge: bin counts differ (${this.binCount} and ${other.binCount})`);
    }
    this.count += other.count;
    this.nonFinite += other.nonFinite;
    this.zeros += other.zeros;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
    this.sum += other.sum;
    this.sumSquares += other.sumSquares;
    this.growTo(other.halfRange);
    let theirs = other.bins;
    for (let r = other.halfRange; r !== 0 && r < this.halfRange; r *= 2) theirs = foldOnce(theirs);
    for (let i = 0; i < this.binCount; i++) this.bins[i]! += theirs[i]!;
  }

  /** Doubles R (from the first power of two at or above absMax when R is still 0) until it covers absMax. */
  private growTo(absMax: number): void {
    if (absMax <= this.halfRange) return;
    if (this.halfRange === 0) {
      // Zeros stay in the zero bin for any R, so the first R needs no re-binning.
      let r = 2 ** Math.ceil(Math.log2(absMax));
      while (r < absMax) r *= 2;
      while (r / 2 >= absMax) r /= 2;
      this.halfRange = r;
      return;
    }
    while (this.halfRange < absMax) {
      this.bins = foldOnce(this.bins);
      this.halfRange *= 2;
    }
  }

  /** The binning loop: every finite value is within [-R, R] here. */
  private binValues(values: ArrayLike<number>): void {
    const bins = this.bins;
    const n = values.length;
    const half = this.binCount / 2;
    const last = this.binCount - 1;
    const perUnit = half / this.halfRange;
    let zeros = 0;
    for (let i = 0; i < n; i++) {
      const x = values[i]!;
      if (x - x !== 0) continue;
      let b = Math.floor(x * perUnit) + half;
      if (b > last) b = last;
      bins[b]!++;
      if (x === 0) zeros++;
    }
    this.zeros += zeros;
  }
}

/** The bins after R doubles: pairs (2k, 2k+1) merge into bin binCount/4 + k. */
function foldOnce(bins: Float64Array): Float64Array {
  const n = bins.length;
  const out = new Float64Array(n);
  const quarter = n / 4;
  for (let k = 0; k < n / 2; k++) out[quarter + k] = bins[2 * k]! + bins[2 * k + 1]!;
  return out;
}

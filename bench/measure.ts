/**
 * Timing for `make bench`. The machines are shared and noisy, so a figure is the median of several
 * samples, and each sample repeats the work until it lasts long enough to time reliably.
 */

export interface MeasureOptions {
  /** Number of samples; the median is reported (default 7). */
  samples?: number;
  /** Each sample repeats the work until at least this long (default 0.1 s). */
  minSampleSeconds?: number;
}

/** Median seconds per call of `work` over the samples. */
export async function medianSeconds(work: () => unknown, options: MeasureOptions = {}): Promise<number> {
  const samples = options.samples ?? 7;
  const minMs = (options.minSampleSeconds ?? 0.1) * 1000;
  const perCall: number[] = [];
  for (let s = 0; s < samples; s++) {
    let calls = 0;
    const t0 = performance.now();
    let elapsed = 0;
    do {
      await work();
      calls++;
      elapsed = performance.now() - t0;
    } while (elapsed < minMs);
    perCall.push(elapsed / 1000 / calls);
  }
  perCall.sort((a, b) => a - b);
  const mid = perCall.length >> 1;
  return perCall.length % 2 ? perCall[mid]! : (perCall[mid - 1]! + perCall[mid]!) / 2;
}

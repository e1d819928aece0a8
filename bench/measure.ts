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

/**
 * Median CPU seconds (user + system, every thread of the process) of one call of `work`, over
 * `samples` calls after `warmup` unmeasured ones: for work long enough to time one call at a time.
 */
export async function medianCpuSeconds(work: () => unknown, options: { samples?: number; warmup?: number } = {}): Promise<number> {
  for (let w = 0; w < (options.warmup ?? 1); w++) await work();
  const perCall: number[] = [];
  for (let s = 0; s < (options.samples ?? 5); s++) {
    const before = process.cpuUsage();
    await work();
    const used = process.cpuUsage(before);
    perCall.push((used.user + used.system) / 1e6);
  }
  perCall.sort((a, b) => a - b);
  const mid = perCall.length >> 1;
  return perCall.length % 2 ? perCall[mid]! : (perCall[mid - 1]! + perCall[mid]!) / 2;
}

/**
 * Timing for `make bench`. The machines are shared and noisy, so a figure is the median of several
 * samples, and each sample repeats the work until it lasts long enough to time reliably.
 */

import { spawnSync } from 'node:child_process';
import { VtaError } from '../lib/errors.ts';
import { median } from '../lib/median.ts';

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
  return median(perCall);
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
  return median(perCall);
}


/**
 * A whole process, `args` run `samples` times under /usr/bin/time: median wall and CPU (user +
 * system, children included) seconds. A failed run throws, naming the command.
 */
export function medianWholeProcess(args: string[], options: { cwd?: string; samples?: number; env?: NodeJS.ProcessEnv } = {}): { wall: number; cpu: number } {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let s = 0; s < (options.samples ?? 5); s++) {
    const t0 = performance.now();
    const r = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', ...args], { cwd: options.cwd, env: options.env ?? process.env, encoding: 'utf8', maxBuffer: 1 << 26 });
    walls.push((performance.now() - t0) / 1000);
    const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr ?? '');
    if (r.status !== 0 || !m) throw new VtaError('E_DRIVER', `bench: ${args.join(' ')} failed: ${(r.stderr ?? '').trim().split('\n').at(-2) ?? r.status}`);
    cpus.push(Number(m[1]) + Number(m[2]));
  }
  return { wall: median(walls), cpu: median(cpus) };
}

/** The anchor of every whole-process figure: `node -e 1`, CPU seconds (median). */
export function nodeStartupCpuSeconds(samples = 5): number {
  return medianWholeProcess([process.execPath, '-e', '1'], { samples }).cpu;
}

/** Seeded calibration-like data for the quantization tests (mulberry32, so the same everywhere). */
import { mulberry32 } from '../../../lib/random.ts';

export function gaussian(n: number, seed: number, sigma = 1): Float32Array {
  const rnd = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = sigma * Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  return out;
}

/** Laplace(0, b) by inverting its CDF. */
export function laplace(n: number, seed: number, b = 1): Float32Array {
  const rnd = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rnd() - 0.5;
    out[i] = -b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  }
  return out;
}

export function uniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  const rnd = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rnd();
  return out;
}

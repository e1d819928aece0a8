/**
 * Test fixtures for the runtime tests: a seeded PRNG (so every run draws the same inputs without
 * any output being written down), an fsim device, and tensor upload/download helpers.
 */
import type { VtaConfig } from '../../config/config.ts';
import type { DeviceBuffer, Driver } from '../../drivers/api.ts';
import { getDriver } from '../../drivers/registry.ts';
import { bufferAlloc, bufferCopy, bytesOf } from '../../runtime/index.ts';
import { mulberry32 } from '../../lib/random.ts';

/** mulberry32: a small, well-mixed 32-bit PRNG. */
export function seededRandom(seed: number): { int(lo: number, hi: number): number } {
  const next = mulberry32(seed);
  /** An integer in [lo, hi). */
  return { int: (lo, hi) => lo + Math.floor(next() * (hi - lo)) };
}

/** TVM's test_vta_insn seed. */
export const TVM_SEED = 0xdeadb;

export function randomInt32(rng: ReturnType<typeof seededRandom>, n: number, lo: number, hi: number): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(lo, hi));
}

export function randomInt8(rng: ReturnType<typeof seededRandom>, n: number, lo: number, hi: number): Int8Array {
  return Int8Array.from({ length: n }, () => rng.int(lo, hi));
}

/** Two's-complement cast to int8, as a STORE does to each accumulator lane. */
export const toInt8 = (v: number): number => (v << 24) >> 24;

export async function openFsim(cfg: VtaConfig): Promise<Driver> {
  return (await getDriver('fsim')).open(cfg);
}

/** A device buffer holding a copy of `data`. */
export function upload(driver: Driver, data: ArrayBufferView): DeviceBuffer {
  const buf = bufferAlloc(driver, data.byteLength);
  bufferCopy(driver, bytesOf(data), 0, buf, 0, data.byteLength);
  return buf;
}

/**
 * Byte-exact comparison for large arrays, reporting the first difference (vitest's deep equality
 * is slow on hundreds of thousands of elements and prints all of them).
 */
export function firstDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) return `element ${i} is ${actual[i]}, expected ${expected[i]}`;
  }
  return undefined;
}

/** The first `n` bytes of a device buffer, as int8. */
export function downloadInt8(driver: Driver, buf: DeviceBuffer, n: number): Int8Array {
  const out = new Int8Array(n);
  bufferCopy(driver, buf, 0, bytesOf(out), 0, n);
  return out;
}

/**
 * mulberry32: a small, well-mixed, seeded 32-bit generator. Example models, random inputs and test
 * data all come from it, so they are the same on every machine.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  /** A float in [0, 1). */
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` pseudo-random bytes from a 32-bit xorshift (seed 0 is taken as 1, which xorshift needs). */
export function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

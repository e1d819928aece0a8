/**
 * The rounding term of a requantization with a multiplier, (x·m + 2^(s−1)) >> s, written as ALU
 * ADD immediates: pure integer arithmetic shared by the compiler (which emits the ADDs) and the
 * ONNX frontend (which picks m and s so that the compiler can fuse them).
 */

/** Most ALU ADD immediates one requantize-with-multiplier may spend on its rounding term. */
export const MAX_ROUNDING_ADDS = 4;

/**
 * The rounding term of (x·m + 2^(s−1)) >> s split around the MUL: 2^(s−1) = pre·m + post with
 * 0 ≤ post < m, so ADD pre, MUL m, ADD post gives x·m + 2^(s−1) mod 2^32 exactly (ADD and MUL are
 * ring operations mod 2^32), with immediates near 1/(2·ratio) and below m instead of 2^(s−1).
 */
export function roundingSplit(shift: number, multiplier: number): { pre: number; post: number } {
  if (shift === 0) return { pre: 0, post: 0 };
  const half = 2 ** (shift - 1);
  const pre = Math.floor(half / multiplier);
  return { pre, post: half - pre * multiplier };
}

/** A non-negative constant as ADD immediates of at most 32767 (the 16-bit signed maximum). */
export function immediateParts(value: number): number[] {
  const parts: number[] = [];
  for (let rest = value; rest > 0 && parts.length <= 64; rest -= Math.min(rest, 32767)) parts.push(Math.min(rest, 32767));
  return parts;
}

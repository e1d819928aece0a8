/** The rounding rules of the IR, one function each. */

/** Round s / n to the nearest integer, halves away from zero (n > 0). */
export function divRoundHalfAway(s: number, n: number): number {
  const q = Math.floor((2 * Math.abs(s) + n) / (2 * n));
  return s < 0 ? -q : q;
}

/** Round a double to the nearest integer, halves to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** 1.5 * 2^52: adding and subtracting it rounds any |x| < 2^51 to an integer, halves to even. */
const ROUNDER = 6755399441055744;

/**
 * roundHalfEven for results stored into integer arrays (where -0 and 0 are one value): the
 * hardware's own round-to-nearest-even through one addition and one subtraction, several times
 * cheaper than Math.round and the tie test (quantize runs it on every element of a network's
 * input). Values too large for the trick, infinities and NaN take roundHalfEven.
 */
export function roundHalfEvenToInteger(x: number): number {
  return Math.abs(x) < 2 ** 51 ? x + ROUNDER - ROUNDER : roundHalfEven(x);
}

/** ONNX QuantizeLinear on an integer: float32 product, round half to even, saturate to int32. */
export function requantizeFloat(v: number, scale: number): number {
  const y = Math.fround(Math.fround(v) * Math.fround(scale));
  return Math.max(-2147483648, Math.min(2147483647, roundHalfEven(y)));
}

/**
 * requantize's rounding shift of an int32 product p (see graph/ir.ts), exactly as VTA's ALU
 * evaluates it: every step wraps mod 2^32 and shifts are arithmetic. Half-even adds
 * 2^(shift−1) − 1 plus the lowest bit of p >> shift: that rounds a tie up exactly when the
 * truncated quotient is odd (cheap on the ALU: no comparison needed).
 */
export function roundingShift(p: number, shift: number, halfEven: boolean): number {
  if (shift === 0) return p | 0;
  const half = 2 ** (shift - 1);
  if (!halfEven) return ((p + half) | 0) >> shift;
  return ((p + (half - 1) + ((p >> shift) & 1)) | 0) >> shift;
}

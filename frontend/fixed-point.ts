/**
 * Fixed-point approximation of a requantization ratio for VTA's ALU: r ≈ m / 2^s with an integer
 * multiplier m that fits the 16-bit signed immediate, so that the IR op
 * `requantize {multiplier: m, shift: s}` = (acc·m + 2^(s−1)) >> s runs as ALU MUL / ADD / SHR.
 *
 * Error bound. With |acc| ≤ A (bounded statically from the weights, bias and int8 input range)
 * and no int32 overflow (A·m + 2^(s−1) < 2^31, checked here), VTA computes exactly
 * round_half_up(acc·m/2^s), while ONNX computes round_half_even(acc·r). Then
 *   |acc·m/2^s − acc·r| ≤ A·|m/2^s − r| =: E            (the error before rounding, output units)
 * and the two rounded integers differ by at most ⌊E⌋ + 1 (each rounding moves a value by at
 * most 1/2; a following clip to int8 cannot increase the difference). When E < 1/2 the outputs
 * differ by at most 1, and only for values within E + 1/2 of a rounding boundary.
 */
import { immediateParts, MAX_ROUNDING_ADDS, roundingSplit } from '../lib/rounding.ts';

export const MAX_MULTIPLIER = 32767;
const INT32_MAX = 2 ** 31 - 1;

export interface FixedPoint {
  multiplier: number;
  shift: number;
  /** |m/2^s − r| / r */
  relError: number;
  /** A·|m/2^s − r|: the largest error before rounding, in output units. */
  errorBound: number;
  /** ⌊errorBound⌋ + 1: the largest difference of the integer outputs from exact rounding. */
  outputBound: number;
}

/** Can VTA's ALU epilogue do the rounding of (m, s) (compiler/fuse.ts refuses more than MAX_ROUNDING_ADDS ADDs)? */
function fusable(multiplier: number, shift: number): boolean {
  const { pre, post } = roundingSplit(shift, multiplier);
  return immediateParts(pre).length + immediateParts(post).length <= MAX_ROUNDING_ADDS;
}

/**
 * The pair (m, s) with the largest shift s ≤ 31 such that m = round(r·2^s) is in 1..32767 and
 * accBound·m + 2^(s−1) cannot overflow int32 (and, when some shift allows it, VTA's epilogue can
 * add the rounding term). Returns a reason string when no pair exists.
 */
export function chooseFixedPoint(ratio: number, accBound: number): FixedPoint | string {
  if (!(ratio > 0) || !Number.isFinite(ratio)) return `ratio ${ratio} must be positive`;
  const candidates: FixedPoint[] = [];
  for (let shift = 31; shift >= 0; shift--) {
    const multiplier = Math.round(ratio * 2 ** shift);
    if (multiplier < 1 || multiplier > MAX_MULTIPLIER) continue;
    if (accBound * multiplier + (shift > 0 ? 2 ** (shift - 1) : 0) > INT32_MAX) continue;
    const diff = Math.abs(multiplier / 2 ** shift - ratio);
    const errorBound = accBound * diff;
    candidates.push({ multiplier, shift, relError: diff / ratio, errorBound, outputBound: Math.floor(errorBound) + 1 });
  }
  const best = candidates.find((c) => fusable(c.multiplier, c.shift)) ?? candidates[0];
  if (best) return best;
  return ratio * 2 ** 0 > MAX_MULTIPLIER - 0.5
    ? `ratio ${ratio.toPrecision(6)} exceeds ${MAX_MULTIPLIER}, the largest ALU multiplier`
    : `no multiplier m ≤ ${MAX_MULTIPLIER} with m/2^s ≈ ${ratio.toPrecision(6)} keeps the accumulator (|acc| ≤ ${accBound}) times m within int32`;
}

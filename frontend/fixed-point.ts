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
import { maxOf } from '../lib/array-loops.ts';

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

/** A common shift with one multiplier per output channel (per-channel weight scales). */
export interface ChannelFixedPoint {
  multipliers: number[];
  shift: number;
  relError: number;
  errorBound: number;
  outputBound: number;
}

/**
 * A channel whose multiplier round(r[c]·scale) is below 1 or makes A[c]·m + half overflow int32,
 * or -1 when every channel fits. Channel `first` is tried first: the channel that failed the last
 * (larger) scale usually fails this one too, so most shifts are refused after one channel.
 */
function channelNotFitting(ratios: number[], accBounds: number[], scale: number, half: number, first: number): number {
  if (first < ratios.length && channelFails(ratios[first]!, accBounds[first]!, scale, half)) return first;
  // A loop, not map/some: this runs for every shift, pre-shift and channel of every layer.
  for (let c = 0; c < ratios.length; c++) if (channelFails(ratios[c]!, accBounds[c]!, scale, half)) return c;
  return -1;
}

function channelFails(ratio: number, accBound: number, scale: number, half: number): boolean {
  const m = Math.round(ratio * scale);
  return m < 1 || accBound * m + half > INT32_MAX;
}

/**
 * Per-channel ratios r[c] ≈ m[c] / 2^s with one shift: the largest s ≤ 31 such that every
 * m[c] = round(r[c]·2^s) is ≥ 1 and A[c]·m[c] + 2^(s−1) ≤ 2^31 − 1 for the channel's accumulator
 * bound A[c] (so the int32 product cannot overflow: proven per channel from the static bounds).
 * The error bound is the per-channel one of chooseFixedPoint, maximised over channels.
 */
export function chooseChannelFixedPoint(ratios: number[], accBounds: number[]): ChannelFixedPoint | string {
  if (ratios.some((r) => !(r > 0) || !Number.isFinite(r))) return 'every ratio must be positive';
  let failed = 0;
  for (let shift = 31; shift >= 0; shift--) {
    const half = shift > 0 ? 2 ** (shift - 1) : 0;
    failed = channelNotFitting(ratios, accBounds, 2 ** shift, half, failed);
    if (failed >= 0) continue;
    const multipliers = ratios.map((r) => Math.round(r * 2 ** shift));
    let relError = 0;
    let errorBound = 0;
    for (let c = 0; c < multipliers.length; c++) {
      const diff = Math.abs(multipliers[c]! / 2 ** shift - ratios[c]!);
      relError = Math.max(relError, diff / ratios[c]!);
      errorBound = Math.max(errorBound, accBounds[c]! * diff);
    }
    return { multipliers, shift, relError, errorBound, outputBound: Math.floor(errorBound) + 1 };
  }
  return `no common shift keeps every channel's accumulator times its multiplier within int32 (bounds up to ${maxOf(accBounds)})`;
}

/** A requantization as an optional rounding pre-shift k, then m[c]/2^s (one multiplier when scalar). */
export interface Requantization {
  preShift: number;
  multipliers: number[];
  shift: number;
  relError: number;
  /** Largest error before the final rounding, in output units (pre-shift rounding included). */
  errorBound: number;
  outputBound: number;
}

/** Pre-shift errors below this are not worth an extra step: one requantize is what VTA fuses. */
const GOOD_ENOUGH = 0.05;

/**
 * The requantization of accumulators |acc[c]| ≤ A[c] by ratios r[c]. Large static bounds force
 * small multipliers (A·m < 2^31), hence coarse ratios; rounding acc to a multiple of 2^k first
 * (error ≤ 2^(k−1)·r[c] output units) lets the multiplier grow by 2^k. The k with the smallest total
 * error bound is chosen, k = 0 whenever its bound is below GOOD_ENOUGH.
 */
export function chooseRequantization(ratios: number[], accBounds: number[]): Requantization | string {
  let best: Requantization | undefined;
  let reason = '';
  const largestRatio = maxOf(ratios);
  for (let k = 0; k <= 24; k++) {
    const pre = k === 0 ? 0 : largestRatio * 2 ** (k - 1);
    // The pre-shift's own error grows with k: once it alone reaches the best bound, no larger k wins.
    if (best && pre >= best.errorBound) break;
    const scaled = ratios.map((r) => r * 2 ** k);
    const bounds = k === 0 ? accBounds : accBounds.map((a) => Math.ceil(a / 2 ** k) + 1);
    let fp: { multipliers: number[]; shift: number; relError: number; errorBound: number } | string;
    if (ratios.length === 1) {
      const one = chooseFixedPoint(scaled[0]!, bounds[0]!);
      fp = typeof one === 'string' ? one : { ...one, multipliers: [one.multiplier] };
    } else fp = chooseChannelFixedPoint(scaled, bounds);
    if (typeof fp === 'string') {
      reason ||= fp;
      continue;
    }
    const errorBound = pre + fp.errorBound;
    if (!best || errorBound < best.errorBound) best = { preShift: k, multipliers: fp.multipliers, shift: fp.shift, relError: fp.relError, errorBound, outputBound: Math.floor(errorBound) + 1 };
    if (k === 0 && errorBound < GOOD_ENOUGH) break;
  }
  return best ?? reason;
}

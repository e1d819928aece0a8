/**
 * Largest, smallest and append over arrays of any length. Spreading an array into arguments
 * (`Math.max(...xs)`, `out.push(...xs)`) puts every element on the call stack and overflows it
 * near 100,000 elements: model-sized arrays (weights, bounds, nodes) go through these loops.
 */

/** The largest value, as Math.max: -Infinity when there is none, NaN when one is NaN. */
export function maxOf(values: Iterable<number>): number {
  let m = -Infinity;
  for (const v of values) {
    if (Number.isNaN(v)) return NaN;
    if (v > m) m = v;
  }
  return m;
}

/** The smallest value, as Math.min: Infinity when there is none, NaN when one is NaN. */
export function minOf(values: Iterable<number>): number {
  let m = Infinity;
  for (const v of values) {
    if (Number.isNaN(v)) return NaN;
    if (v < m) m = v;
  }
  return m;
}

/** Append every item of `items` to `out` (out.push(...items) without the spread). */
export function appendAll<T>(out: T[], items: Iterable<T>): T[] {
  for (const x of items) out.push(x);
  return out;
}

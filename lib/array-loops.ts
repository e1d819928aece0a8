/**
 * Largest, smallest and append over arrays of any length. Spreading an array into arguments
 * (`Math.max(...xs)`, `out.push(...xs)`) puts every element on the call stack and overflows it
 * near 100,000 elements: model-sized arrays (weights, bounds, nodes) go through these loops.
 */

/** The largest value, as Math.max: -Infinity when there is none, NaN when one is NaN. */
export function maxOf(values: Iterable<number>): number {
  if (isIndexed(values)) return maxOfIndexed(values);
  let m = -Infinity;
  for (const v of values) {
    if (Number.isNaN(v)) return NaN;
    if (v > m) m = v;
  }
  return m;
}

/** The smallest value, as Math.min: Infinity when there is none, NaN when one is NaN. */
export function minOf(values: Iterable<number>): number {
  if (isIndexed(values)) return minOfIndexed(values);
  let m = Infinity;
  for (const v of values) {
    if (Number.isNaN(v)) return NaN;
    if (v < m) m = v;
  }
  return m;
}

/**
 * Arrays and typed arrays are read by index: a for-of loop makes an iterator result per element
 * until the optimising compiler takes the loop over, which a short command mostly never reaches
 * (millions of short-lived objects for the weights of a network).
 */
const isIndexed = (values: Iterable<number>): values is ArrayLike<number> & Iterable<number> => Array.isArray(values) || ArrayBuffer.isView(values);

function maxOfIndexed(values: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) return NaN;
    if (v > m) m = v;
  }
  return m;
}

function minOfIndexed(values: ArrayLike<number>): number {
  let m = Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
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

/**
 * The sum of each of `rows` equal consecutive runs of `values` (of their absolute values when
 * `absolute`), e.g. per output channel of a weight. Weights have millions of elements and this runs
 * once per layer: each kind of sum is its own function with one loop nest, so each stays optimised
 * (one function holding both loops ran the absolute one several times slower).
 */
export function rowSums(values: ArrayLike<number>, rows: number, absolute = false): number[] {
  return absolute ? knownAbsoluteRowSums(values, rows) : plainRowSums(values, rows);
}

/**
 * Absolute row sums of a typed array, remembered per array: the importer's accumulator bound and
 * the compiler's overflow check both sum every weight of a model, and constant data is never
 * written after it is made. A copy is returned so callers may keep or change theirs.
 */
const absoluteSumsOf = new WeakMap<object, { rows: number; sums: number[] }>();
function knownAbsoluteRowSums(values: ArrayLike<number>, rows: number): number[] {
  if (!ArrayBuffer.isView(values)) return absoluteRowSums(values, rows);
  const known = absoluteSumsOf.get(values);
  if (known?.rows === rows) return known.sums.slice();
  const sums = absoluteRowSums(values, rows);
  absoluteSumsOf.set(values, { rows, sums });
  return sums.slice();
}

function plainRowSums(values: ArrayLike<number>, rows: number): number[] {
  const per = values.length / rows;
  const out: number[] = [];
  for (let r = 0, i = 0; r < rows; r++) {
    let s = 0;
    const end = (r + 1) * per;
    for (; i < end; i++) s += values[i]!;
    out.push(s);
  }
  return out;
}

function absoluteRowSums(values: ArrayLike<number>, rows: number): number[] {
  const per = values.length / rows;
  const out: number[] = [];
  for (let r = 0, i = 0; r < rows; r++) {
    let s = 0;
    const end = (r + 1) * per;
    for (; i < end; i++) s += Math.abs(values[i]!);
    out.push(s);
  }
  return out;
}

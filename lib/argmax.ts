/** The class a classifier picks for each sample: the index of the largest score in each row. */

/** Per row of `width` values (rows = values.length / width): the index of its largest value, the first on ties. */
export function argmaxRows(values: ArrayLike<number>, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * width < values.length; r++) {
    let best = 0;
    for (let k = 1; k < width; k++) if (values[r * width + k]! > values[r * width + best]!) best = k;
    out.push(best);
  }
  return out;
}

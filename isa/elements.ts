/**
 * How INP, WGT and OUT elements narrower than a byte (LOG_*_WIDTH of 1 or 2: 2- and 4-bit) lie in
 * DRAM and in a bundle's bytes; defined here once for the simulator, the RTL bridge, the compiler
 * and the package format.
 *
 * A row of n values of width w occupies n·w/8 bytes. Value k takes bits [k·w, (k+1)·w) of the row
 * read as one little-endian bit string: byte ⌊k·w/8⌋, starting at bit (k·w) mod 8, so value 0 sits
 * in the low bits of byte 0. Values are two's complement: reading sign-extends, writing keeps the
 * low w bits (a STORE of an accumulator narrows it the same way an 8-bit STORE does). At w = 8
 * this is one signed byte per value, the layout every 8-bit config already uses.
 */

export const ELEMENT_WIDTHS = [2, 4, 8] as const;

/** The signed range of a w-bit value. */
export function signedRange(width: number): { min: number; max: number } {
  return { min: -(2 ** (width - 1)), max: 2 ** (width - 1) - 1 };
}

/** Bytes holding `count` values of `width` bits (count·width must be a whole number of bytes). */
export function packedBytes(count: number, width: number): number {
  const bits = count * width;
  if (bits % 8 !== 0) throw new RangeError(`${count} values of ${width} bits are not a whole number of bytes`);
  return bits / 8;
}

/**
 * values[k] (any integers; the low `width` bits are kept) packed into `out` from byte `offset`.
 * One loop for every width, a byte at a time: the simulator's LOAD/STORE rows run through here.
 */
export function packSigned(values: ArrayLike<number>, width: number, out?: Uint8Array, offset = 0): Uint8Array {
  const n = values.length;
  const bytes = packedBytes(n, width); // refuses a count that ends inside a byte
  const dst = out ?? new Uint8Array(bytes);
  if (width === 8 && (values instanceof Int8Array || values instanceof Uint8Array)) {
    // Whole bytes: the two's-complement bytes as they are.
    dst.set(new Uint8Array(values.buffer, values.byteOffset, n), offset);
    return dst;
  }
  const mask = (1 << width) - 1;
  for (let k = 0, b = offset; k < n; b++) {
    let byte = 0;
    for (let shift = 0; shift < 8; shift += width, k++) byte |= (values[k]! & mask) << shift;
    dst[b] = byte;
  }
  return dst;
}

/** `count` values of `width` bits from `bytes` (from byte `offset`), sign-extended into `out`. */
export function unpackSigned(bytes: Uint8Array, width: number, count: number, out: Int8Array | Int32Array = new Int8Array(count), offset = 0): Int8Array | Int32Array {
  const back = 32 - width;
  for (let k = 0, b = offset; k < count; b++) {
    const byte = bytes[b]!;
    // Value j of the byte moved to the top of an int32, then shifted back arithmetically.
    for (let up = back; up >= 24 && k < count; up -= width, k++) out[k] = (byte << up) >> back;
  }
  return out;
}

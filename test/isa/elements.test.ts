/** isa/elements.ts: the one definition of sub-byte element packing (bit order, sign, narrowing). */
import { describe, expect, it } from 'vitest';
import { packSigned, packedBytes, signedRange, unpackSigned } from '../../isa/elements.ts';

describe('sub-byte elements', () => {
  it('puts value 0 in the low bits of byte 0, little-endian within the row', () => {
    expect(Array.from(packSigned([1, -2, 7, -8], 4))).toEqual([0xe1, 0x87]);
    expect(Array.from(packSigned([1, -1, -2, 0, 1, 1, 1, 1], 2))).toEqual([0b00101101, 0b01010101]);
    expect(Array.from(packSigned([-1, 127, -128], 8))).toEqual([0xff, 0x7f, 0x80]);
  });

  it('sign-extends on reading and keeps the low bits on writing (narrowing wraps)', () => {
    expect(Array.from(unpackSigned(new Uint8Array([0xe1, 0x87]), 4, 4))).toEqual([1, -2, 7, -8]);
    expect(Array.from(unpackSigned(packSigned([9, -9, 16, 17], 4), 4, 4))).toEqual([-7, 7, 0, 1]);
    expect(Array.from(unpackSigned(packSigned([2, 3, -3, 5], 2), 2, 4))).toEqual([-2, -1, 1, 1]);
  });

  it('round-trips every value of every width, at an offset', () => {
    for (const w of [2, 4, 8]) {
      const { min, max } = signedRange(w);
      const values = Array.from({ length: 64 }, (_, k) => min + (k % (max - min + 1)));
      const buf = new Uint8Array(3 + packedBytes(64, w));
      packSigned(values, w, buf, 3);
      expect(Array.from(unpackSigned(buf, w, 64, new Int32Array(64), 3))).toEqual(values);
    }
    expect(() => packedBytes(3, 4)).toThrow('3 values of 4 bits are not a whole number of bytes');
  });
});

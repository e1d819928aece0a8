/** lib/npy.ts: strict .npy reading and writing (int8/uint8/int32/float32, little-endian, C order). */
import { describe, expect, it } from 'vitest';
import { parseNpy, writeNpy } from '../../lib/npy.ts';

/** Build a .npy by hand, as numpy 1.x writes it. */
function npy(header: string, data: Uint8Array, version = 1): Uint8Array {
  const lenBytes = version === 1 ? 2 : 4;
  let h = header;
  const total = 8 + lenBytes + h.length + 1;
  h += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(8 + lenBytes + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, h.length, true);
  else dv.setUint32(8, h.length, true);
  for (let i = 0; i < h.length; i++) out[8 + lenBytes + i] = h.charCodeAt(i);
  out.set(data, 8 + lenBytes + h.length);
  return out;
}

describe('npy', () => {
  it('reads int64 labels (NumPy\'s default integer) as int32 only when asked, and only values that fit', () => {
    const i64 = new Uint8Array(new BigInt64Array([3n, -1n, 9n]).buffer);
    const file = npy("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", i64);
    expect(() => parseNpy(file, 'y.npy')).toThrow("y.npy: dtype '<i8' is not supported");
    expect(parseNpy(file, 'y.npy', { int64AsInt32: true })).toEqual({ shape: [3], dtype: 'int32', data: new Int32Array([3, -1, 9]) });
    const big = npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(new BigInt64Array([2n ** 40n]).buffer));
    expect(() => parseNpy(big, 'y.npy', { int64AsInt32: true })).toThrow('y.npy: int64 value 1099511627776 at index 0 does not fit int32');
  });

  it('reads what numpy writes (int32, 2-D; int8, 1-D; version 2)', () => {
    const i32 = new Uint8Array(new Int32Array([1, -2, 3, 2147483647, -2147483648, 0]).buffer);
    const a = parseNpy(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", i32));
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, -2, 3, 2147483647, -2147483648, 0]);
    const b = parseNpy(npy("{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }", new Uint8Array([255, 1, 128]), 2));
    expect(b).toEqual({ shape: [3], dtype: 'int8', data: new Int8Array([-1, 1, -128]) });
  });

  it('round-trips through writeNpy with a 64-byte aligned header', () => {
    const t = { shape: [2, 1, 3], dtype: 'int8' as const, data: new Int8Array([1, 2, 3, -4, -5, -6]) };
    const bytes = writeNpy(t);
    expect((10 + new DataView(bytes.buffer).getUint16(8, true)) % 64).toBe(0);
    expect(parseNpy(bytes)).toEqual(t);
    const s = { shape: [], dtype: 'int32' as const, data: new Int32Array([42]) };
    expect(parseNpy(writeNpy(s))).toEqual(s);
  });

  it('round-trips uint8 and float32', () => {
    for (const a of [
      { shape: [2, 3], dtype: 'uint8' as const, data: Uint8Array.from([0, 1, 128, 200, 254, 255]) },
      { shape: [3], dtype: 'float32' as const, data: Float32Array.from([-1.5, 0, 3.25e-7]) },
    ]) {
      const back = parseNpy(writeNpy(a), 'x.npy');
      expect(back.dtype).toBe(a.dtype);
      expect(back.shape).toEqual(a.shape);
      expect(Array.from(back.data)).toEqual(Array.from(a.data));
    }
  });

  it('refuses a header that opens a dict and never closes it (no backtracking parser)', () => {
    // A backtracking regex took minutes on this 500-space header; the string scan refuses it at once.
    expect(() => parseNpy(npy(`{${' '.repeat(500)}`, new Uint8Array(0)), 'in.npy')).toThrow('in.npy: header is not a Python dict literal');
  });

  it('refuses anything not exactly right, with one line naming the file', () => {
    const d = new Uint8Array(6);
    const bad = (header: string, data = d) => () => parseNpy(npy(header, data), 'in.npy');
    expect(() => parseNpy(new Uint8Array(20), 'in.npy')).toThrow('in.npy: not a .npy file (bad magic)');
    expect(bad("{'descr': '>i4', 'fortran_order': False, 'shape': (6,), }")).toThrow("in.npy: dtype '>i4' is not supported");
    expect(bad("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }")).toThrow("dtype '<f8' is not supported");
    expect(bad("{'descr': '|i1', 'fortran_order': True, 'shape': (6,), }")).toThrow('Fortran-order arrays are not supported');
    expect(bad("{'descr': '|i1', 'fortran_order': False, 'shape': (7,), }")).toThrow('in.npy: data holds 6 bytes but int8 (7) needs 7');
    expect(bad("{'descr': '|i1', 'shape': (6,), }")).toThrow('header must have exactly descr, fortran_order and shape');
    expect(bad("{'descr': '|i1', 'fortran_order': False, 'shape': (6,), 'x': True, }")).toThrow('header must have exactly');
    expect(bad("{'descr': '|i1', 'fortran_order': False, 'shape': (-6,), }")).toThrow('is not a non-negative integer');
    try {
      bad("{'descr': '|i1', 'fortran_order': 0, 'shape': (6,), }")();
    } catch (e) {
      expect((e as { code: string }).code).toBe('E_NPY');
    }
  });
});

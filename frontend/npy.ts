/**
 * NumPy .npy files (format version 1.0) for int8 / int32 tensors: the example inputs in models/
 * and whatever a user hands to `vta run`. Little-endian, C order only; anything else is refused
 * with one line naming the file.
 */
import { VtaError } from '../lib/errors.ts';
import type { DType, Tensor } from '../compiler/ir.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const DESCR: Record<DType, string> = { int8: '|i1', int32: '<i4' };

export function encodeNpy(t: Tensor): Uint8Array {
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${DESCR[t.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Header length (incl. the 10-byte preamble and trailing newline) is padded to a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + t.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const body = new DataView(out.buffer, total);
  for (let k = 0; k < t.data.length; k++) {
    if (t.dtype === 'int8') body.setInt8(k, t.data[k]!);
    else body.setInt32(4 * k, t.data[k]!, true);
  }
  return out;
}

export function decodeNpy(bytes: Uint8Array, name = 'npy data'): Tensor {
  const bad = (why: string): never => {
    throw new VtaError('E_NPY', `${name}: ${why}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, k) => bytes[k] !== b)) bad('not a .npy file (bad magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const headerLen = major === 1 ? view.getUint16(8, true) : major <= 3 ? view.getUint32(8, true) : bad(`unsupported .npy version ${major}`);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.length) bad('truncated header');
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) bad('malformed header');
  if (fortran === 'True') bad('Fortran-order arrays are not supported (save with C order)');
  const dtype = (Object.keys(DESCR) as DType[]).find((d) => DESCR[d] === descr || (d === 'int8' && descr === '<i1'));
  if (!dtype) bad(`element type ${descr} is not supported (int8 '|i1' or little-endian int32 '<i4')`);
  const shape = shapeText!.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) bad(`malformed shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const size = dtype === 'int8' ? 1 : 4;
  const body = start + headerLen;
  if (bytes.length - body !== count * size) bad(`holds ${bytes.length - body} data bytes but shape (${shape.join(',')}) needs ${count * size}`);
  const data = dtype === 'int8' ? new Int8Array(count) : new Int32Array(count);
  for (let k = 0; k < count; k++) data[k] = dtype === 'int8' ? view.getInt8(body + k) : view.getInt32(body + 4 * k, true);
  return { shape, dtype: dtype!, data };
}

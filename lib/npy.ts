/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0) for int8, uint8, int32 and float32 tensors:
 * little-endian, C order. Parsing is strict: the magic, the version, the header dictionary's three keys and
 * their values, and the data length must all be exactly right; anything else is a one-line
 * E_NPY error naming the file and the problem.
 */
import { type DType, DTYPE_INFO, fromLittleEndianBytes, toLittleEndianBytes, type TypedData } from './dtype.ts';
import { VtaError } from './errors.ts';

export type NpyDType = DType;

export interface NpyArray {
  shape: number[];
  dtype: NpyDType;
  data: TypedData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const DESCR = new Map<string, NpyDType>([
  ['|i1', 'int8'], ['<i1', 'int8'], ['i1', 'int8'],
  ['|u1', 'uint8'], ['<u1', 'uint8'], ['u1', 'uint8'],
  ['<i4', 'int32'],
  ['<f4', 'float32'],
]);

function fail(where: string, why: string): never {
  throw new VtaError('E_NPY', `${where}: ${why}`);
}

/** Parse the header dictionary: {'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), } */
function parseHeader(text: string, where: string): { descr: string; fortran: boolean; shape: number[] } {
  // Plain string operations, no backtracking regex: a hostile header must not take long to refuse.
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) fail(where, `header is not a Python dict literal: ${JSON.stringify(text.slice(0, 80))}`);
  let dict = trimmed.slice(1, -1).trim();
  if (dict.endsWith(',')) dict = dict.slice(0, -1).trimEnd();
  const entries = new Map<string, string>();
  const re = /'([a-z_]+)'\s*:\s*('[^']*'|True|False|\([^)]*\))\s*(,|$)/gy;
  const body = dict;
  let pos = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const e = re.exec(body);
    if (!e) fail(where, `cannot parse header entry at ${JSON.stringify(body.slice(pos, pos + 30))}`);
    if (entries.has(e[1]!)) fail(where, `header key '${e[1]}' appears twice`);
    entries.set(e[1]!, e[2]!);
    pos = re.lastIndex;
    while (body[pos] === ' ') pos++;
  }
  const keys = [...entries.keys()].sort().join(',');
  if (keys !== 'descr,fortran_order,shape') fail(where, `header must have exactly descr, fortran_order and shape (has ${keys})`);
  const descr = entries.get('descr')!;
  if (!descr.startsWith("'")) fail(where, 'descr must be a string');
  const shapeText = entries.get('shape')!;
  if (!shapeText.startsWith('(')) fail(where, 'shape must be a tuple');
  const inner = shapeText.slice(1, -1).trim();
  const parts = inner === '' ? [] : inner.split(',').map((s) => s.trim());
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  const shape = parts.map((p) => {
    if (!/^\d+$/.test(p)) fail(where, `shape entry ${JSON.stringify(p)} is not a non-negative integer`);
    return Number(p);
  });
  const f = entries.get('fortran_order')!;
  if (f !== 'True' && f !== 'False') fail(where, 'fortran_order must be True or False');
  return { descr: descr.slice(1, -1), fortran: f === 'True', shape };
}

/**
 * Parse .npy bytes; `where` (a file name) prefixes errors. With `int64AsInt32` (for class labels,
 * which NumPy writes as int64 by default) a little-endian int64 array is read as int32 when every
 * value fits.
 */
export function parseNpy(bytes: Uint8Array, where = 'npy', options: { int64AsInt32?: boolean } = {}): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail(where, 'not a .npy file (bad magic)');
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (![1, 2, 3].includes(major) || minor !== 0) fail(where, `unsupported .npy version ${major}.${minor}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) fail(where, 'file ends inside the header length');
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = 8 + lenBytes;
  if (start + hlen > bytes.length) fail(where, `header length ${hlen} runs past the end of the file`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + hlen));
  if (!text.endsWith('\n')) fail(where, 'header must end with a newline');
  const h = parseHeader(text, where);
  if (options.int64AsInt32 && h.descr === '<i8' && !h.fortran) return int64AsInt32(bytes.subarray(start + hlen), h.shape, where);
  const dtype = DESCR.get(h.descr);
  if (!dtype) fail(where, `dtype '${h.descr}' is not supported (int8 '|i1', uint8 '|u1', little-endian int32 '<i4' or float32 '<f4')`);
  if (h.fortran) fail(where, 'Fortran-order arrays are not supported (save with C order)');
  const count = h.shape.reduce((a, b) => a * b, 1);
  const esize = DTYPE_INFO[dtype].bytes;
  const dataStart = start + hlen;
  if (bytes.length - dataStart !== count * esize) {
    fail(where, `data holds ${bytes.length - dataStart} bytes but ${dtype} (${h.shape.join(', ')}) needs ${count * esize}`);
  }
  return { shape: h.shape, dtype, data: fromLittleEndianBytes(bytes.subarray(dataStart), dtype, count) };
}

function int64AsInt32(data: Uint8Array, shape: number[], where: string): NpyArray {
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count * 8) fail(where, `data holds ${data.length} bytes but int64 (${shape.join(', ')}) needs ${count * 8}`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    const v = dv.getBigInt64(8 * k, true);
    if (v < -2147483648n || v > 2147483647n) fail(where, `int64 value ${v} at index ${k} does not fit int32`);
    out[k] = Number(v);
  }
  return { shape, dtype: 'int32', data: out };
}

/** Serialise as .npy version 1.0 (header padded to a multiple of 64 bytes). */
export function writeNpy(a: NpyArray): Uint8Array {
  const descr = DTYPE_INFO[a.dtype].npy;
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + a.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  dv.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(toLittleEndianBytes(a.data), 10 + header.length);
  return out;
}

/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0) for int8, uint8, int32 and float32 tensors:
 * little-endian, C order. Parsing is strict and linear (no backtracking), the header bounded as NumPy bounds it: the magic, the version, the header dictionary's three keys and
 * their values, and the data length must all be exactly right; anything else is a one-line
 * E_NPY error naming the file and the problem.
 */
import { type DType, DTYPE_INFO, fromLittleEndianBytes, toLittleEndianBytes, type TypedData } from './dtype.ts';
import { VtaError } from './errors.ts';
import { MAX_NPY_HEADER_BYTES, MAX_TENSOR_ELEMENTS } from './limits.ts';

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

/**
 * A left-to-right reader of the header dictionary: each character is looked at a bounded number of
 * times and nothing backtracks, so any header, however hostile, is refused in time linear in its
 * (bounded) length.
 */
class HeaderReader {
  private at = 0;
  constructor(private readonly text: string, private readonly where: string) {}

  private fail(why: string): never {
    fail(this.where, `${why} at ${JSON.stringify(this.text.slice(this.at, this.at + 30))}`);
  }

  private skipSpaces(): void {
    while (this.at < this.text.length && ' \t\r\n'.includes(this.text[this.at]!)) this.at++;
  }

  /** Consume `token` (after spaces) if it is next. */
  private take(token: string): boolean {
    this.skipSpaces();
    if (!this.text.startsWith(token, this.at)) return false;
    this.at += token.length;
    return true;
  }

  private expect(token: string, what: string): void {
    if (!this.take(token)) this.fail(`expected ${what}`);
  }

  /** A quoted string: the text between single quotes (no escapes: NumPy writes none). */
  private quoted(what: string): string {
    this.expect("'", what);
    const close = this.text.indexOf("'", this.at);
    if (close < 0) this.fail(`unterminated ${what}`);
    const value = this.text.slice(this.at, close);
    this.at = close + 1;
    return value;
  }

  /** A value: 'string', True, False or a tuple of non-negative integers, kept as written. */
  private value(): string {
    this.skipSpaces();
    const c = this.text[this.at];
    if (c === "'") return `'${this.quoted('string')}'`;
    for (const word of ['True', 'False']) if (this.take(word)) return word;
    if (c !== '(') this.fail('expected a value');
    const close = this.text.indexOf(')', this.at);
    if (close < 0) this.fail('unterminated tuple');
    const tuple = this.text.slice(this.at, close + 1);
    this.at = close + 1;
    return tuple;
  }

  /** The dictionary's entries, key to value text; the whole header must be the dictionary. */
  entries(): Map<string, string> {
    const entries = new Map<string, string>();
    if (!this.take('{')) fail(this.where, `header is not a Python dict literal: ${JSON.stringify(this.text.slice(0, 80))}`);
    while (!this.take('}')) {
      if (this.at >= this.text.length) fail(this.where, `header is not a Python dict literal: ${JSON.stringify(this.text.slice(0, 80))}`);
      const key = this.quoted('a quoted key');
      this.expect(':', "':' after a key");
      if (entries.has(key)) fail(this.where, `header key '${key}' appears twice`);
      entries.set(key, this.value());
      if (this.take('}')) break;
      this.expect(',', "',' or '}'");
    }
    this.skipSpaces();
    if (this.at !== this.text.length) this.fail('text after the header dict');
    return entries;
  }
}

/** Parse the header dictionary: {'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), } */
function parseHeader(text: string, where: string): { descr: string; fortran: boolean; shape: number[] } {
  const entries = new HeaderReader(text, where).entries();
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
    if (!/^\d{1,15}$/.test(p)) fail(where, `shape entry ${JSON.stringify(p.slice(0, 30))} is not a non-negative integer`);
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
  // As NumPy (max_header_size): a longer header is refused before it is decoded or parsed.
  if (hlen > MAX_NPY_HEADER_BYTES) fail(where, `header of ${hlen} bytes is longer than ${MAX_NPY_HEADER_BYTES}, the most NumPy reads`);
  if (start + hlen > bytes.length) fail(where, `header length ${hlen} runs past the end of the file`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + hlen));
  if (!text.endsWith('\n')) fail(where, 'header must end with a newline');
  const h = parseHeader(text, where);
  if (options.int64AsInt32 && h.descr === '<i8' && !h.fortran) return int64AsInt32(bytes.subarray(start + hlen), h.shape, where);
  const dtype = DESCR.get(h.descr);
  if (!dtype) fail(where, `dtype '${h.descr}' is not supported (int8 '|i1', uint8 '|u1', little-endian int32 '<i4' or float32 '<f4')`);
  if (h.fortran) fail(where, 'Fortran-order arrays are not supported (save with C order)');
  const count = elementCount(h.shape, where);
  const esize = DTYPE_INFO[dtype].bytes;
  const dataStart = start + hlen;
  if (bytes.length - dataStart !== count * esize) {
    fail(where, `data holds ${bytes.length - dataStart} bytes but ${dtype} (${h.shape.join(', ')}) needs ${count * esize}`);
  }
  return { shape: h.shape, dtype, data: fromLittleEndianBytes(bytes.subarray(dataStart), dtype, count) };
}

/** Elements of `shape`, refused above MAX_TENSOR_ELEMENTS (docs/limits.md). */
function elementCount(shape: number[], where: string): number {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > MAX_TENSOR_ELEMENTS) fail(where, `shape (${shape.join(', ')}) has more than ${MAX_TENSOR_ELEMENTS} elements, the most a tensor may have (docs/limits.md)`);
  return count;
}

function int64AsInt32(data: Uint8Array, shape: number[], where: string): NpyArray {
  const count = elementCount(shape, where);
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

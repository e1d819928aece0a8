/**
 * Element types: the one table of what each dtype is (size, range, typed array, .npy descriptor),
 * used by the graph IR, the .npy reader and writer, and the executors.
 */
export const DTYPES = ['int8', 'uint8', 'int32', 'float32'] as const;
export type DType = (typeof DTYPES)[number];

export type TypedData = Int8Array | Uint8Array | Int32Array | Float32Array;

interface DTypeInfo {
  bytes: number;
  /** Integer range, or ±Infinity for float32. */
  min: number;
  max: number;
  integer: boolean;
  /** NumPy descriptor written to .npy files (little-endian). */
  npy: string;
  alloc(n: number): TypedData;
}

export const DTYPE_INFO: Readonly<Record<DType, DTypeInfo>> = {
  int8: { bytes: 1, min: -128, max: 127, integer: true, npy: '|i1', alloc: (n) => new Int8Array(n) },
  uint8: { bytes: 1, min: 0, max: 255, integer: true, npy: '|u1', alloc: (n) => new Uint8Array(n) },
  int32: { bytes: 4, min: -2147483648, max: 2147483647, integer: true, npy: '<i4', alloc: (n) => new Int32Array(n) },
  float32: { bytes: 4, min: -Infinity, max: Infinity, integer: false, npy: '<f4', alloc: (n) => new Float32Array(n) },
};

export function isDType(v: unknown): v is DType {
  return typeof v === 'string' && (DTYPES as readonly string[]).includes(v);
}

/** The typed array class a dtype's data must be (for checking values handed in by callers). */
export function holdsDType(data: TypedData, dtype: DType): boolean {
  switch (dtype) {
    case 'int8':
      return data instanceof Int8Array;
    case 'uint8':
      return data instanceof Uint8Array;
    case 'int32':
      return data instanceof Int32Array;
    case 'float32':
      return data instanceof Float32Array;
  }
}

/** Little-endian bytes of `data` (a copy). */
export function toLittleEndianBytes(data: TypedData): Uint8Array {
  // Every platform Node runs on here is little-endian; the typed array's bytes are the file's.
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

/** Data of `count` elements of `dtype` from little-endian bytes (a copy; lengths checked by callers). */
export function fromLittleEndianBytes(bytes: Uint8Array, dtype: DType, count: number): TypedData {
  const out = DTYPE_INFO[dtype].alloc(count);
  new Uint8Array(out.buffer).set(bytes.subarray(0, count * DTYPE_INFO[dtype].bytes));
  return out;
}

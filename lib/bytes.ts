/** Byte-image comparison (memcmp through Buffer): device images of megabytes are compared often. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

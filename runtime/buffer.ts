/**
 * Device buffers on a driver (spec §4.2 "Buffer API"): allocation, freeing, and one copy
 * function for every direction (VTABufferCopy), with bounds checked here so that a bad offset is a
 * one-line error naming the copy instead of a fault deep inside a driver.
 */
import type { DeviceBuffer, Driver } from '../drivers/api.ts';
import { RUNTIME_ERROR, RuntimeError } from './errors.ts';

/** VTABufferAlloc: `bytes` of device memory (page-aligned, physically contiguous). */
export function bufferAlloc(driver: Driver, bytes: number): DeviceBuffer {
  if (!Number.isInteger(bytes) || bytes <= 0) {
    throw new RuntimeError(RUNTIME_ERROR.ARG, `bufferAlloc: size ${bytes} must be a positive integer number of bytes`);
  }
  if (bytes > driver.config.maxXfer) {
    throw new RuntimeError(
      RUNTIME_ERROR.ARG,
      `bufferAlloc: ${bytes} bytes is more than the largest contiguous device buffer (${driver.config.maxXfer} bytes)`,
    );
  }
  return driver.memAlloc(bytes);
}

/** VTABufferFree. */
export function bufferFree(driver: Driver, buf: DeviceBuffer): void {
  driver.memFree(buf);
}

/** Host memory, or a device buffer. */
export type CopyEnd = Uint8Array | DeviceBuffer;

const isHost = (e: CopyEnd): e is Uint8Array => e instanceof Uint8Array;
const sizeOf = (e: CopyEnd) => (isHost(e) ? e.length : e.bytes);
const nameOf = (e: CopyEnd) => (isHost(e) ? `host array of ${e.length} bytes` : `device buffer at 0x${e.phys.toString(16)} (${e.bytes} bytes)`);

/**
 * VTABufferCopy: copy `size` bytes from `from[fromOffset..]` to `to[toOffset..]`. Either end may
 * be host memory or a device buffer; the direction follows from their types.
 */
export function bufferCopy(driver: Driver, from: CopyEnd, fromOffset: number, to: CopyEnd, toOffset: number, size: number): void {
  const check = (what: string, end: CopyEnd, offset: number) => {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > sizeOf(end)) {
      throw new RuntimeError(RUNTIME_ERROR.RANGE, `bufferCopy: ${what} range [${offset}, ${offset + size}) is outside the ${nameOf(end)}`);
    }
  };
  if (!Number.isInteger(size) || size < 0) {
    throw new RuntimeError(RUNTIME_ERROR.ARG, `bufferCopy: size ${size} must be a non-negative integer`);
  }
  check('source', from, fromOffset);
  check('destination', to, toOffset);
  if (size === 0) return;
  if (isHost(from) && isHost(to)) {
    to.set(from.subarray(fromOffset, fromOffset + size), toOffset);
  } else if (isHost(from)) {
    driver.copyFromHost(to as DeviceBuffer, from.subarray(fromOffset, fromOffset + size), toOffset);
  } else if (isHost(to)) {
    driver.copyToHost(to.subarray(toOffset, toOffset + size), from, fromOffset);
  } else {
    // Device to device: the drivers only copy to and from the host, so bounce through it.
    const bounce = new Uint8Array(size);
    driver.copyToHost(bounce, from, fromOffset);
    driver.copyFromHost(to, bounce, toOffset);
  }
}

/** The bytes of a typed array (same memory, no copy), for copying int8/int32 tensors. */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * The wire format of remote drivers (docs/remote.md): length-prefixed binary frames, each a 12-byte
 * header (magic "VTAR", protocol version, frame type, payload length; little-endian) and a payload.
 * Both sides read frames through a FrameReader, which refuses a frame before buffering it when its
 * header is wrong or it is larger than the reader's limit.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { VtaError } from '../lib/errors.ts';

export const MAGIC = 0x52415456; // "VTAR" read as a little-endian u32
export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 12;
export const NONCE_BYTES = 32;
export const MAC_BYTES = 32;
/** Port `vta serve` listens on when --listen names none. */
export const DEFAULT_PORT = 9095;

export const FRAME = {
  /** server → client: nonce + JSON ServerHello. */
  hello: 1,
  /** client → server: MAC of the nonce + JSON VTA config. */
  open: 2,
  /** server → client: the driver is open. */
  ready: 3,
  /** client → server: u32 phys, u32 bytes (memAllocAt at the client's address). */
  alloc: 4,
  /** client → server: u32 phys. */
  free: 5,
  /** client → server: u32 phys + bytes (copy in). */
  write: 6,
  /** client → server: u32 insn phys, u32 count, f64 budget (0: the driver's default). */
  run: 7,
  /** server → client: u32 phys + bytes a run changed (copy out). */
  data: 8,
  /** server → client: JSON RunDone. */
  done: 9,
  /** server → client: JSON RemoteFailure. */
  error: 10,
  /** client → server: end of session. */
  bye: 11,
} as const;

export type FrameType = (typeof FRAME)[keyof typeof FRAME];
const FRAME_TYPES = new Set<number>(Object.values(FRAME));
const FRAME_NAMES = new Map<number, string>(Object.entries(FRAME).map(([k, v]) => [v, k]));

export function frameName(type: number): string {
  return FRAME_NAMES.get(type) ?? `type ${type}`;
}

export interface Frame {
  type: FrameType;
  payload: Buffer;
}

/** What the server announces: its driver and the bounds of a session. */
export interface ServerHello {
  driver: string;
  clocked: boolean;
  maxFrame: number;
  maxMemory: number;
  maxBudget: number;
  idleSeconds: number;
  maxSessions: number;
}

export interface RunDone {
  counters: Record<string, number>;
  /** Wall time of driver.run on the server. */
  runMs: number;
}

/** An error sent to the client: `fatal` ones end the session. */
export interface RemoteFailure {
  code: string;
  message: string;
  fatal: boolean;
}

export class ProtocolError extends VtaError {
  constructor(message: string) {
    super('E_REMOTE_PROTOCOL', message);
  }
}

export function encodeFrame(type: FrameType, payload: Uint8Array = new Uint8Array(0), version = PROTOCOL_VERSION): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt16LE(version, 4);
  header.writeUInt16LE(type, 6);
  header.writeUInt32LE(payload.length, 8);
  return Buffer.concat([header, payload]);
}

export function jsonPayload(value: unknown, prefix?: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  return prefix ? Buffer.concat([prefix, json]) : json;
}

export function parseJson(payload: Buffer, what: string): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    throw new ProtocolError(`${what} frame does not hold valid JSON`);
  }
}

/** u32 fields followed by optional bytes: the payload of alloc, free, write and data frames. */
export function u32Payload(values: number[], data?: Uint8Array): Buffer {
  const head = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => head.writeUInt32LE(v, 4 * i));
  return data ? Buffer.concat([head, data]) : head;
}

export function readU32s(frame: Frame, n: number, exact: boolean): number[] {
  const need = 4 * n;
  if (frame.payload.length < need || (exact && frame.payload.length !== need)) {
    throw new ProtocolError(`${frameName(frame.type)} frame has ${frame.payload.length} payload bytes, expected ${exact ? '' : 'at least '}${need}`);
  }
  return Array.from({ length: n }, (_, i) => frame.payload.readUInt32LE(4 * i));
}

export function runPayload(insnPhys: number, count: number, budget: number): Buffer {
  const p = Buffer.alloc(16);
  p.writeUInt32LE(insnPhys, 0);
  p.writeUInt32LE(count, 4);
  p.writeDoubleLE(budget, 8);
  return p;
}

export function readRun(frame: Frame): { insnPhys: number; count: number; budget: number | undefined } {
  if (frame.payload.length !== 16) throw new ProtocolError(`run frame has ${frame.payload.length} payload bytes, expected 16`);
  const budget = frame.payload.readDoubleLE(8);
  return { insnPhys: frame.payload.readUInt32LE(0), count: frame.payload.readUInt32LE(4), budget: budget === 0 ? undefined : budget };
}

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** The client's proof of the token: HMAC-SHA256 of the server's nonce, so a recorded session cannot be replayed. */
export function tokenMac(token: string | undefined, nonce: Uint8Array): Buffer {
  if (token === undefined) return Buffer.alloc(MAC_BYTES);
  return createHmac('sha256', token).update(nonce).digest();
}

/** Constant-time comparison of two MACs; both are hashed first so the lengths compared are equal. */
export function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/**
 * Incremental frame parser. `push` hands back the complete frames; a bad magic, another protocol
 * version, an unknown type or a payload over `maxPayload` throws at once, before the payload is
 * buffered. `pending` says whether a frame was cut off (for the message when the peer hangs up).
 */
export class FrameReader {
  /** Received bytes not yet returned as frames, kept as the chunks they came in (joined once per frame). */
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(public maxPayload: number) {}

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < HEADER_BYTES) {
        if (this.buffered >= 4 && this.take(4, false).readUInt32LE(0) !== MAGIC) throw this.badMagic();
        return frames;
      }
      const header = this.take(HEADER_BYTES, false);
      const type = this.checkHeader(header);
      const total = HEADER_BYTES + header.readUInt32LE(8);
      if (this.buffered < total) return frames;
      frames.push({ type, payload: this.take(total, true).subarray(HEADER_BYTES) });
    }
  }

  get pending(): boolean {
    return this.buffered > 0;
  }

  /** The first `n` buffered bytes as one Buffer (joining chunks only when a frame spans them); `consume` drops them. */
  private take(n: number, consume: boolean): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    const first = this.chunks[0]!;
    const out = first.subarray(0, n);
    if (consume) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
    }
    return out;
  }

  private badMagic(): ProtocolError {
    return new ProtocolError('received bytes that are not a VTA remote frame (bad magic)');
  }

  private checkHeader(b: Buffer): FrameType {
    if (b.readUInt32LE(0) !== MAGIC) throw this.badMagic();
    const version = b.readUInt16LE(4);
    if (version !== PROTOCOL_VERSION) {
      throw new ProtocolError(`protocol version mismatch: the peer speaks version ${version}, this side version ${PROTOCOL_VERSION}`);
    }
    const type = b.readUInt16LE(6);
    if (!FRAME_TYPES.has(type)) throw new ProtocolError(`unknown frame type ${type}`);
    const length = b.readUInt32LE(8);
    if (length > this.maxPayload) {
      throw new ProtocolError(`${frameName(type)} frame of ${length} bytes exceeds the limit of ${this.maxPayload} bytes`);
    }
    return type as FrameType;
  }
}

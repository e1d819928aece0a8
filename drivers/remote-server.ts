/**
 * The server side of remote drivers (`vta serve`, docs/remote.md): one driver instance per
 * connection (a session), opened for the config the client names, so sessions never share device
 * memory. Every fault of a session (bad frame, wrong token, over a bound, idle, hang-up) ends that
 * session alone with one logged line; the server keeps serving the others.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { makeConfig } from '../config/config.ts';
import { VtaError, isVtaError } from '../lib/errors.ts';
import { PAGE_BYTES } from '../sim/memory.ts';
import type { DeviceBuffer, Driver, DriverInfo } from './api.ts';
import {
  FRAME, FrameReader, MAC_BYTES, ProtocolError, encodeFrame, frameName, jsonPayload, newNonce, parseJson, readRun, readU32s,
  sameMac, tokenMac, u32Payload, type Frame, type FrameType, type RemoteFailure, type RunDone, type ServerHello,
} from './remote-protocol.ts';

export interface ServeLimits {
  /** Largest frame payload accepted and sent. */
  maxFrame: number;
  /** Device memory one session may hold (bytes, counted in whole pages). */
  maxMemory: number;
  /** Largest run budget a client may ask for; a run without one gets the driver's own default. */
  maxBudget: number;
  /** A session that sends nothing for this long (outside a run) is ended. */
  idleSeconds: number;
  /** Sessions served at once; one more is refused. */
  maxSessions: number;
}

export const DEFAULT_LIMITS: ServeLimits = {
  maxFrame: 4 << 20,
  maxMemory: 512 << 20,
  maxBudget: 1e9,
  idleSeconds: 300,
  maxSessions: 8,
};

/** Bytes of device memory read per copy-out step. */
const COPY_OUT_WINDOW = 1 << 20;

/** Smallest frame limit: a copy-out frame carries at least one whole page. */
export const MIN_FRAME = 2 * PAGE_BYTES;

export interface ServeOptions {
  driver: DriverInfo;
  host: string;
  port: number;
  /** Shared secret clients must prove (VTA_REMOTE_TOKEN); required off loopback. */
  token?: string;
  limits?: Partial<ServeLimits>;
  /** One line per session event. */
  log: (line: string) => void;
}

export interface RemoteServer {
  readonly host: string;
  readonly port: number;
  /** Sessions currently open. */
  readonly sessions: number;
  /** Stop accepting, end every session, close their drivers. */
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/i;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

const hex = (n: number) => '0x' + n.toString(16);

function pagesOf(phys: number, bytes: number): number {
  const start = Math.floor(phys / PAGE_BYTES) * PAGE_BYTES;
  return Math.ceil((phys + bytes) / PAGE_BYTES) * PAGE_BYTES - start;
}

function limitError(message: string): VtaError {
  return new VtaError('E_REMOTE_LIMIT', message);
}

/** A device buffer of the session and what the client's shadow of it holds. */
interface Held {
  buf: DeviceBuffer;
  shadow: Uint8Array;
}

class Session {
  private readonly reader: FrameReader;
  private readonly nonce = newNonce();
  private readonly held = new Map<number, Held>();
  private driver: Driver | undefined;
  private memoryUsed = 0;
  private running = false;
  private ended = false;
  /** Frames are handled one after the other, a run included. */
  private chain: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;
  /** Window through which copy-out reads device memory (allocated at the first run). */
  private scratch: Buffer | undefined;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly options: ServeOptions,
    private readonly limits: ServeLimits,
    private readonly onEnd: (s: Session) => void,
  ) {
    this.reader = new FrameReader(limits.maxFrame);
  }

  private get peer(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  start(): void {
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      if (this.reader.pending) this.end('connection ended inside a frame (truncated frame)');
      else this.end(this.running ? 'client disconnected mid-run' : 'client disconnected');
    });
    const hello: ServerHello = { driver: this.options.driver.name, clocked: this.options.driver.clocked, ...this.limits };
    this.send(FRAME.hello, jsonPayload(hello, this.nonce));
    this.armIdle();
    this.options.log(`session ${this.id} from ${this.peer}: connected`);
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (!this.running) this.fail(new VtaError('E_REMOTE', `idle for ${this.limits.idleSeconds} s`));
    }, this.limits.idleSeconds * 1000);
    this.idleTimer.unref();
  }

  private send(type: FrameType, payload?: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(encodeFrame(type, payload));
  }

  private receive(chunk: Buffer): void {
    if (this.ended) return;
    this.armIdle();
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      this.fail(e);
      return;
    }
    for (const f of frames) {
      this.chain = this.chain.then(() => (this.ended ? undefined : this.handle(f))).catch((e: unknown) => this.fail(e));
    }
  }

  /** End the session for a fault: tell the client in one frame, log one line. */
  fail(e: unknown): void {
    if (this.ended) return;
    const failure: RemoteFailure = isVtaError(e)
      ? { code: e.code, message: e.message, fatal: true }
      : { code: 'E_REMOTE', message: `server error: ${e instanceof Error ? e.message : String(e)}`, fatal: true };
    this.send(FRAME.error, jsonPayload(failure));
    this.end(`${failure.code}: ${failure.message}`);
  }

  /** End the session (once): close the socket, then the driver once a run under way has returned. */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.idleTimer);
    this.socket.end();
    // A client that never closes its side does not keep the socket open.
    setTimeout(() => this.socket.destroy(), 2000).unref();
    this.options.log(`session ${this.id} from ${this.peer} ended: ${reason}`);
    this.chain = this.chain.finally(() => {
      this.driver?.close();
      this.driver = undefined;
    });
    this.onEnd(this);
  }

  /** Resolves once the session's last frame is handled and its driver closed. */
  settled(): Promise<void> {
    return this.chain.catch(() => {});
  }

  stop(reason: string): void {
    this.fail(new VtaError('E_REMOTE', reason));
    this.socket.destroy();
  }

  private async handle(f: Frame): Promise<void> {
    if (!this.driver) {
      if (f.type !== FRAME.open) throw new ProtocolError(`expected an open frame first, got ${frameName(f.type)}`);
      await this.open(f);
      return;
    }
    const driver = this.driver;
    switch (f.type) {
      case FRAME.alloc: {
        const [phys, bytes] = readU32s(f, 2, true) as [number, number];
        const pages = pagesOf(phys, bytes);
        if (this.memoryUsed + pages > this.limits.maxMemory) {
          throw limitError(`allocating ${bytes} bytes would hold ${this.memoryUsed + pages} bytes of device memory; a session may hold ${this.limits.maxMemory}`);
        }
        const buf = driver.memAllocAt(phys, bytes);
        this.held.set(phys, { buf, shadow: new Uint8Array(bytes) });
        this.memoryUsed += pages;
        return;
      }
      case FRAME.free: {
        const [phys] = readU32s(f, 1, true) as [number];
        const h = this.held.get(phys);
        if (!h) throw new ProtocolError(`free of ${hex(phys)}, which the session did not allocate`);
        driver.memFree(h.buf);
        this.held.delete(phys);
        this.memoryUsed -= pagesOf(phys, h.buf.bytes);
        return;
      }
      case FRAME.write: {
        const [phys] = readU32s(f, 1, false) as [number];
        const data = f.payload.subarray(4);
        const h = this.holding(phys, data.length);
        driver.copyFromHost(h.buf, data, phys - h.buf.phys);
        h.shadow.set(data, phys - h.buf.phys);
        return;
      }
      case FRAME.run:
        await this.run(driver, f);
        return;
      case FRAME.bye:
        this.end('client closed the session');
        return;
      default:
        throw new ProtocolError(`unexpected ${frameName(f.type)} frame from a client`);
    }
  }

  private async open(f: Frame): Promise<void> {
    if (f.payload.length < MAC_BYTES) throw new ProtocolError(`open frame has ${f.payload.length} payload bytes, expected at least ${MAC_BYTES}`);
    const mac = f.payload.subarray(0, MAC_BYTES);
    if (this.options.token !== undefined && !sameMac(mac, tokenMac(this.options.token, this.nonce))) {
      throw new VtaError('E_REMOTE_AUTH', 'wrong token');
    }
    const config = makeConfig(parseJson(f.payload.subarray(MAC_BYTES), 'open'), 'client config');
    const info = this.options.driver;
    const why = info.unavailable?.(config);
    if (why) throw new VtaError('E_DRIVER', `driver '${info.name}' is not available on the server: ${why}`);
    this.driver = await info.open(config);
    if (this.ended) return;
    this.send(FRAME.ready);
    this.options.log(`session ${this.id} from ${this.peer}: open, driver ${info.name}, config ${config.bitstream}`);
  }

  private holding(phys: number, length: number): Held {
    for (const h of this.held.values()) {
      if (phys >= h.buf.phys && phys + length <= h.buf.phys + h.buf.bytes) return h;
    }
    throw new ProtocolError(`write of ${length} bytes at ${hex(phys)} is not inside one allocation of the session`);
  }

  private async run(driver: Driver, f: Frame): Promise<void> {
    const { insnPhys, count, budget } = readRun(f);
    if (budget !== undefined && budget > this.limits.maxBudget) {
      const failure: RemoteFailure = { code: 'E_REMOTE_LIMIT', message: `run budget ${budget} exceeds the server's limit of ${this.limits.maxBudget}`, fatal: false };
      this.send(FRAME.error, jsonPayload(failure));
      return;
    }
    this.running = true;
    const t0 = performance.now();
    let outcome: { done: RunDone } | { failure: RemoteFailure };
    try {
      const r = await driver.run(insnPhys, count, budget !== undefined ? { budget } : {});
      outcome = { done: { counters: { ...r.counters } as Record<string, number>, runMs: performance.now() - t0 } };
    } catch (e) {
      if (!isVtaError(e)) throw e;
      outcome = { failure: { code: e.code, message: e.message, fatal: false } };
    } finally {
      this.running = false;
    }
    if (this.ended) return;
    this.sendChanges(driver);
    if ('done' in outcome) this.send(FRAME.done, jsonPayload(outcome.done));
    else this.send(FRAME.error, jsonPayload(outcome.failure));
    this.armIdle();
  }

  /**
   * Copy out: every page-sized chunk the run changed, in frames within the frame limit. Device
   * memory is read through the driver API a window at a time into one scratch buffer, so a run
   * costs a copy and a compare of the session's memory but no allocation.
   */
  private sendChanges(driver: Driver): void {
    const maxData = Math.max(PAGE_BYTES, Math.floor((this.limits.maxFrame - 4) / PAGE_BYTES) * PAGE_BYTES);
    const window = Math.min(COPY_OUT_WINDOW, maxData);
    this.scratch ??= Buffer.alloc(window);
    for (const h of this.held.values()) {
      const shadow = Buffer.from(h.shadow.buffer, h.shadow.byteOffset, h.shadow.byteLength);
      for (let base = 0; base < shadow.length; base += window) {
        const now = this.scratch.subarray(0, Math.min(window, shadow.length - base));
        driver.copyToHost(now, h.buf, base);
        let start = -1;
        const flush = (end: number) => {
          if (start < 0) return;
          shadow.set(now.subarray(start, end), base + start);
          this.send(FRAME.data, u32Payload([h.buf.phys + base + start], now.subarray(start, end)));
          start = -1;
        };
        for (let off = 0; off < now.length; off += PAGE_BYTES) {
          const end = Math.min(off + PAGE_BYTES, now.length);
          const changed = now.compare(shadow, base + off, base + end, off, end) !== 0;
          if (changed && start < 0) start = off;
          else if (!changed) flush(off);
        }
        flush(now.length);
      }
    }
  }
}

/** Listen and serve; refuses a non-loopback address without a token. */
export async function startServer(options: ServeOptions): Promise<RemoteServer> {
  if (options.token === undefined && !isLoopback(options.host)) {
    throw new VtaError('E_REMOTE_AUTH', `refusing to listen on ${options.host} without a token: set VTA_REMOTE_TOKEN (or listen on 127.0.0.1)`);
  }
  if (options.token === '') throw new VtaError('E_REMOTE_AUTH', 'VTA_REMOTE_TOKEN is set but empty');
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...options.limits };
  if (!(limits.maxFrame >= MIN_FRAME)) throw new VtaError('E_USAGE', `the frame limit must be at least ${MIN_FRAME} bytes (two pages), got ${limits.maxFrame}`);
  const sessions = new Set<Session>();
  const ended = new Set<Session>();
  let nextId = 1;
  const server: Server = createServer((socket) => {
    const session = new Session(nextId++, socket, options, limits, (s) => {
      sessions.delete(s);
      ended.add(s);
      void s.settled().then(() => ended.delete(s));
    });
    if (sessions.size >= limits.maxSessions) {
      session.start();
      session.fail(limitError(`the server already serves ${limits.maxSessions} sessions`));
      return;
    }
    sessions.add(session);
    session.start();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new VtaError('E_REMOTE', `cannot listen on ${options.host}:${options.port}: ${e.code ?? e.message}`)));
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    host: options.host,
    port,
    get sessions() {
      return sessions.size;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of [...sessions]) s.stop('server stopping');
      await Promise.all([...ended].map((s) => s.settled()));
      await closed;
    },
  };
}

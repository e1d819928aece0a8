/**
 * The `remote` driver: a driver of another machine, served there by `vta serve`, reached as
 * `--driver remote://HOST:PORT` (docs/remote.md). The driver API is synchronous except `run`, so
 * the client keeps a shadow of the session's device memory: allocations and copies in apply to the
 * shadow at once and stream to the server as frames without waiting; a run sends its request and
 * receives, before its result, every page the run changed, so copies out read the shadow.
 */
import { connect, type Socket } from 'node:net';
import type { VtaConfig } from '../../config/config.ts';
import { ERROR_CODES, type ErrorCode } from '../../lib/error-codes.ts';
import { VtaError } from '../../lib/errors.ts';
import { PAGE_BYTES } from '../../sim/memory.ts';
import type { Counters } from '../../sim/api.ts';
import type { DeviceBuffer, Driver, DriverInfo, RunOptions, RunResult } from '../api.ts';
import {
  FRAME, FrameReader, NONCE_BYTES, ProtocolError, encodeFrame, frameName, jsonPayload, parseJson, readU32s, runPayload,
  tokenMac, u32Payload, type Frame, type FrameType, type RemoteFailure, type RunDone, type ServerHello,
} from '../remote-protocol.ts';
import { SimulatedDevice } from '../simulated-device.ts';

/** Time allowed for connecting, the server's hello and the driver opening there. */
const HANDSHAKE_MS = 15_000;
/** Frames accepted before the server has announced its own limit. */
const HELLO_MAX_FRAME = 64 << 10;

interface Waiter {
  resolve(value: RunResult | undefined): void;
  reject(e: VtaError): void;
}

export interface RemoteAddress {
  host: string;
  port: number;
  /** remote://HOST:PORT, as messages name it. */
  url: string;
}

export function parseRemoteAddress(address: string): RemoteAddress {
  const m = /^remote:\/\/(\[[0-9a-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/i.exec(address);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw new VtaError('E_USAGE', `--driver ${address}: a remote driver is named remote://HOST:PORT (port 1-65535)`);
  }
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return { host, port, url: `remote://${m[1]}:${port}` };
}

function failureError(url: string, f: RemoteFailure): VtaError {
  const code = (f.code in ERROR_CODES ? f.code : 'E_REMOTE') as ErrorCode;
  if (!f.fatal) return new VtaError(code, f.message);
  if (code === 'E_REMOTE_AUTH') return new VtaError(code, `${url} refused the token (${f.message}): set VTA_REMOTE_TOKEN to the server's token`);
  return new VtaError(code, `${url} ended the session: ${f.message}`);
}

class RemoteDriver extends SimulatedDevice {
  readonly name: string;
  private readonly reader = new FrameReader(HELLO_MAX_FRAME);
  private hello: ServerHello | undefined;
  /** Why the session is over; every later call throws it. */
  private failure: VtaError | undefined;
  private waiter: Waiter | undefined;
  private held = 0;
  private running = false;
  private readonly pages = new Map<number, number>();

  constructor(
    config: VtaConfig,
    private readonly address: RemoteAddress,
    private readonly socket: Socket,
  ) {
    super(config);
    this.name = address.url;
  }

  /** Whether the server's driver counts cycles (known once open). */
  get clocked(): boolean {
    return this.hello?.clocked ?? false;
  }

  /** Connect, prove the token, open the server's driver for `config`. */
  static async open(config: VtaConfig, address: RemoteAddress, token: string | undefined): Promise<RemoteDriver> {
    const socket = connect({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    const driver = new RemoteDriver(config, address, socket);
    const timer = setTimeout(() => driver.lose(new VtaError('E_REMOTE', `${address.url} did not answer within ${HANDSHAKE_MS / 1000} s`)), HANDSHAKE_MS);
    try {
      await driver.handshake(token);
    } finally {
      clearTimeout(timer);
    }
    return driver;
  }

  private handshake(token: string | undefined): Promise<void> {
    const { url } = this.address;
    const opened = new Promise<void>((resolve, reject) => (this.waiter = { resolve: () => resolve(), reject }));
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ECONNREFUSED' ? 'connection refused (is vta serve running there?)' : e.code ?? e.message;
      const lost = `${url}: connection lost${this.running ? ' during a run' : ''} (${why})`;
      this.lose(new VtaError('E_REMOTE', this.hello ? lost : `cannot reach ${url}: ${why}`));
    });
    this.socket.on('close', () => {
      const during = this.running ? ' during a run (server stopped or network lost)' : '';
      this.lose(new VtaError(this.reader.pending ? 'E_REMOTE_PROTOCOL' : 'E_REMOTE', `${url} closed the connection${this.reader.pending ? ' inside a frame (truncated frame)' : during}`));
    });
    this.socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of this.reader.push(chunk)) this.receive(f, token);
      } catch (e) {
        const err = e instanceof VtaError ? e : new ProtocolError(String(e));
        this.lose(new VtaError(err.code, `${url}: ${err.message}`));
      }
    });
    return opened;
  }

  private receive(f: Frame, token: string | undefined): void {
    if (this.failure) return;
    switch (f.type) {
      case FRAME.hello:
        return this.greet(f, token);
      case FRAME.ready:
        return this.settle(undefined);
      case FRAME.data: {
        const [phys] = readU32s(f, 1, false) as [number];
        const data = f.payload.subarray(4);
        const region = this.memory.find(phys);
        if (!region || phys + data.length > region.phys + region.bytes.length) {
          throw new ProtocolError(`data frame for [0x${phys.toString(16)}, +${data.length}) outside the session's memory`);
        }
        this.memory.write(phys, data);
        return;
      }
      case FRAME.done: {
        const done = parseJson(f.payload, 'done') as RunDone;
        return this.settle({ counters: done.counters as unknown as Counters, deviceMs: done.runMs });
      }
      case FRAME.error: {
        const failure = parseJson(f.payload, 'error') as RemoteFailure;
        const err = failureError(this.address.url, failure);
        if (failure.fatal) this.lose(err);
        else this.rejectWaiter(err);
        return;
      }
      default:
        throw new ProtocolError(`unexpected ${frameName(f.type)} frame from the server`);
    }
  }

  private greet(f: Frame, token: string | undefined): void {
    if (this.hello || f.payload.length < NONCE_BYTES) throw new ProtocolError('malformed hello frame');
    const nonce = f.payload.subarray(0, NONCE_BYTES);
    const hello = parseJson(f.payload.subarray(NONCE_BYTES), 'hello') as ServerHello;
    if (!(hello.maxFrame >= 2 * PAGE_BYTES) || !(hello.maxMemory > 0)) throw new ProtocolError('hello frame announces impossible limits');
    this.hello = hello;
    this.reader.maxPayload = this.hello.maxFrame;
    this.send(FRAME.open, jsonPayload(this.config.json, tokenMac(token, nonce)));
  }

  private send(type: FrameType, payload?: Uint8Array): void {
    this.socket.write(encodeFrame(type, payload));
  }

  private settle(value: RunResult | undefined): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve(value);
  }

  private rejectWaiter(e: VtaError): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }

  /** The session is over: remember why, fail what waits, drop the connection. */
  private lose(e: VtaError): void {
    if (this.failure) return;
    this.failure = e;
    this.rejectWaiter(e);
    this.socket.destroy();
  }

  protected override checkOpen(): void {
    super.checkOpen();
    if (this.failure) throw this.failure;
  }

  private charge(phys: number, bytes: number): void {
    const start = Math.floor(phys / PAGE_BYTES) * PAGE_BYTES;
    const size = Math.ceil((phys + bytes) / PAGE_BYTES) * PAGE_BYTES - start;
    const max = this.hello!.maxMemory;
    if (this.held + size > max) {
      throw new VtaError('E_REMOTE_LIMIT', `allocating ${bytes} bytes would hold ${this.held + size} bytes of device memory on ${this.address.url}; a session may hold ${max}`);
    }
    this.held += size;
    this.pages.set(phys, size);
  }

  override memAlloc(bytes: number): DeviceBuffer {
    this.checkOpen();
    // Where the shadow puts it is where the server must: allocation happens here, placement there.
    const buf = super.memAlloc(bytes);
    try {
      this.charge(buf.phys, bytes);
    } catch (e) {
      super.memFree(buf);
      throw e;
    }
    this.send(FRAME.alloc, u32Payload([buf.phys, bytes]));
    return buf;
  }

  override memAllocAt(phys: number, bytes: number): DeviceBuffer {
    this.checkOpen();
    const buf = super.memAllocAt(phys, bytes);
    try {
      this.charge(phys, bytes);
    } catch (e) {
      super.memFree(buf);
      throw e;
    }
    this.send(FRAME.alloc, u32Payload([phys, bytes]));
    return buf;
  }

  override memFree(buf: DeviceBuffer): void {
    super.memFree(buf);
    this.held -= this.pages.get(buf.phys) ?? 0;
    this.pages.delete(buf.phys);
    this.send(FRAME.free, u32Payload([buf.phys]));
  }

  override copyFromHost(dst: DeviceBuffer, src: Uint8Array, offset = 0): void {
    super.copyFromHost(dst, src, offset);
    const step = Math.max(1, this.hello!.maxFrame - 4);
    for (let at = 0; at < src.length; at += step) {
      this.send(FRAME.write, u32Payload([dst.phys + offset + at], src.subarray(at, Math.min(at + step, src.length))));
    }
  }

  override async run(insnPhys: number, count: number, options: RunOptions = {}): Promise<RunResult> {
    this.checkOpen();
    if (options.trace !== undefined) {
      throw new VtaError('E_USAGE', `--trace ${options.trace}: ${this.address.url} writes no waveform here; run vta replay --trace on the server's machine`);
    }
    if (this.waiter) throw new VtaError('E_DRIVER', `${this.address.url}: a run is already under way on this device`);
    const done = new Promise<RunResult | undefined>((resolve, reject) => (this.waiter = { resolve, reject }));
    this.send(FRAME.run, runPayload(insnPhys, count, options.budget ?? 0));
    this.running = true;
    try {
      return (await done)!;
    } finally {
      this.running = false;
    }
  }

  override close(): void {
    if (!this.failure && !this.socket.destroyed) {
      this.send(FRAME.bye);
      this.socket.end();
    }
    this.failure ??= new VtaError('E_DRIVER', `${this.address.url} device is closed`);
    super.close();
  }
}

/** One DriverInfo per address, so what open learns (clocked) stays with the name. */
const byAddress = new Map<string, DriverInfo>();

function remoteAt(name: string): DriverInfo {
  const address = parseRemoteAddress(name);
  const known = byAddress.get(address.url);
  if (known) return known;
  let clocked = false;
  const info: DriverInfo = {
    name: address.url,
    description: `the driver served by vta serve at ${address.host}:${address.port}`,
    get clocked() {
      return clocked;
    },
    observes: false,
    async open(config: VtaConfig): Promise<Driver> {
      const driver = await RemoteDriver.open(config, address, process.env.VTA_REMOTE_TOKEN);
      clocked = driver.clocked;
      return driver;
    },
    unavailable: () => undefined,
  };
  byAddress.set(address.url, info);
  return info;
}

const remote: DriverInfo = {
  name: 'remote',
  description: 'a driver of another machine, served by vta serve: --driver remote://HOST:PORT (token: VTA_REMOTE_TOKEN)',
  clocked: false,
  observes: false,
  async open(): Promise<Driver> {
    throw new VtaError('E_USAGE', 'the remote driver needs its server: --driver remote://HOST:PORT');
  },
  unavailable: () => 'name its server: --driver remote://HOST:PORT',
  at: remoteAt,
};

export default remote;

/**
 * Helpers of the remote-driver tests: an in-process `vta serve` on an ephemeral loopback port that
 * keeps its log lines, a raw client that speaks (or breaks) the protocol by hand, and a driver
 * whose runs take a while, so that a hang-up lands mid-run.
 */
import { connect, type Socket } from 'node:net';
import type { Driver, DriverInfo } from '../../drivers/api.ts';
import { getDriver } from '../../drivers/registry.ts';
import { startServer, type RemoteServer, type ServeLimits } from '../../drivers/remote-server.ts';
import { FrameReader, type Frame } from '../../drivers/remote-protocol.ts';

export interface TestServer extends RemoteServer {
  log: string[];
  url: string;
  /** Resolves when a log line matching `re` has appeared. */
  logged(re: RegExp, ms?: number): Promise<string>;
}

export async function serveForTest(driver: DriverInfo | string, opts: { token?: string; limits?: Partial<ServeLimits> } = {}): Promise<TestServer> {
  const info = typeof driver === 'string' ? await getDriver(driver) : driver;
  const log: string[] = [];
  const server = await startServer({ driver: info, host: '127.0.0.1', port: 0, log: (l) => log.push(l), ...opts });
  return Object.assign(server, {
    log,
    url: `remote://127.0.0.1:${server.port}`,
    async logged(re: RegExp, ms = 5000): Promise<string> {
      const until = Date.now() + ms;
      for (;;) {
        const hit = log.find((l) => re.test(l));
        if (hit) return hit;
        if (Date.now() > until) throw new Error(`no log line matches ${re}; log: ${log.join(' | ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  });
}

/** A socket that records the frames it receives and when it closes. */
export class RawClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  private readonly reader = new FrameReader(1 << 26);
  private readonly socket: Socket;

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.on('error', () => {});
    this.socket.on('data', (c: Buffer) => this.frames.push(...this.reader.push(c)));
    this.closed = new Promise((r) => this.socket.on('close', () => r()));
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  end(): void {
    this.socket.end();
  }

  kill(): void {
    this.socket.resetAndDestroy();
  }

  async frame(type: number, ms = 5000): Promise<Frame> {
    const until = Date.now() + ms;
    for (;;) {
      const f = this.frames.find((x) => x.type === type);
      if (f) return f;
      if (Date.now() > until) throw new Error(`no frame of type ${type} arrived`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** fsim with every run delayed by `ms`, so that a test can act while a run is under way. */
export async function slowFsim(ms: number): Promise<DriverInfo> {
  const fsim = await getDriver('fsim');
  return {
    ...fsim,
    name: 'slow-fsim',
    async open(config): Promise<Driver> {
      const d = await fsim.open(config);
      const run = d.run.bind(d);
      d.run = async (insnPhys, count, options) => {
        await new Promise((r) => setTimeout(r, ms));
        return run(insnPhys, count, options);
      };
      return d;
    },
  };
}

/** Run `fn` with VTA_REMOTE_TOKEN set to `token` (unset for undefined), restoring it afterwards. */
export async function withToken<T>(token: string | undefined, fn: () => Promise<T>): Promise<T> {
  const before = process.env.VTA_REMOTE_TOKEN;
  if (token === undefined) delete process.env.VTA_REMOTE_TOKEN;
  else process.env.VTA_REMOTE_TOKEN = token;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.VTA_REMOTE_TOKEN;
    else process.env.VTA_REMOTE_TOKEN = before;
  }
}

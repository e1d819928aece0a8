/**
 * Faults of remote sessions, over loopback only and in bounded time: each ends as docs/remote.md
 * states (the session ends with one logged reason, the client gets one error line) and the server
 * goes on serving other clients.
 */
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceBuffer, Driver } from '../../drivers/api.ts';
import { type Bundle, compareOutputs, loadBundle, loadExpected, replayBundle, replayRanges } from '../../drivers/bundle.ts';
import { getDriver } from '../../drivers/registry.ts';
import { startServer } from '../../drivers/remote-server.ts';
import { FRAME, HEADER_BYTES, encodeFrame, jsonPayload, runPayload, u32Payload } from '../../drivers/remote-protocol.ts';
import { describeError, isVtaError } from '../../lib/errors.ts';
import { RawClient, serveForTest, slowFsim, withToken, type TestServer } from './remote-helpers.ts';

const KIT = join(import.meta.dirname, '..', '..', 'conformance');
const bundle = (name: string) => loadBundle(join(KIT, `${name}.bundle.json`));
const expected = (name: string) => loadExpected(join(KIT, `${name}.expected.json`));
const ALU = 'alu-s0-blocked-b1000';
/** How long a slowed run lasts: far longer than the 100 ms the tests wait before acting mid-run. */
const SLOW_RUN_MS = 1500;
const GEMM = 'gemm-s0-blocked-b1000';

const servers: TestServer[] = [];
async function serve(...args: Parameters<typeof serveForTest>): Promise<TestServer> {
  const s = await serveForTest(...args);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function open(url: string, b: Bundle): Promise<Driver> {
  return (await getDriver(url)).open(b.config);
}

/** The replay of ALU through `url` gives the expected bytes: the server still serves. */
async function stillServes(url: string): Promise<void> {
  const b = bundle(ALU);
  const d = await open(url, b);
  try {
    expect(compareOutputs((await replayBundle(d, b)).outputs, expected(ALU))).toEqual([]);
  } finally {
    d.close();
  }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (!isVtaError(e)) throw e;
    // One line, as the CLI prints it.
    expect(describeError(e)).not.toMatch(/\n/);
    return `${e.code}: ${e.message}`;
  }
  throw new Error('expected an error');
}

/** Handshake by hand (no token), then the frames that replay `b` up to its run. */
function rawOpen(raw: RawClient, b: Bundle): void {
  raw.write(encodeFrame(FRAME.open, jsonPayload(b.config.json, Buffer.alloc(32))));
}
function rawStartRun(raw: RawClient, b: Bundle): void {
  rawOpen(raw, b);
  for (const r of replayRanges(b)) raw.write(encodeFrame(FRAME.alloc, u32Payload([r.start, r.end - r.start])));
  raw.write(encodeFrame(FRAME.write, u32Payload([b.memory.base], b.memory.data)));
  raw.write(encodeFrame(FRAME.run, runPayload(b.insn.addr, b.insn.count, 0)));
}

describe('remote driver faults', { timeout: 20_000 }, () => {
  it('a wrong or missing token ends that session (E_REMOTE_AUTH); the right one is served', async () => {
    const s = await serve('fsim', { token: 'sesame' });
    const b = bundle(ALU);
    expect(await withToken('wrong', () => codeOf(open(s.url, b)))).toMatch(/^E_REMOTE_AUTH: .* refused the token/);
    expect(await withToken(undefined, () => codeOf(open(s.url, b)))).toMatch(/^E_REMOTE_AUTH/);
    await s.logged(/ended: E_REMOTE_AUTH: wrong token/);
    await withToken('sesame', () => stillServes(s.url));
  });

  it('refuses to listen off loopback without a token, before listening', async () => {
    const fsim = await getDriver('fsim');
    const err = await codeOf(startServer({ driver: fsim, host: '0.0.0.0', port: 0, log: () => {} }));
    expect(err).toMatch(/^E_REMOTE_AUTH: refusing to listen on 0\.0\.0\.0 without a token/);
  });

  it('garbage bytes end the session (bad magic), the server goes on', async () => {
    const s = await serve('fsim');
    const raw = new RawClient(s.port);
    raw.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await raw.closed;
    await s.logged(/ended: E_REMOTE_PROTOCOL: .*bad magic/);
    await stillServes(s.url);
  });

  it('an oversized frame is refused from its header alone', async () => {
    const s = await serve('fsim', { limits: { maxFrame: 8192 } });
    const raw = new RawClient(s.port);
    const header = encodeFrame(FRAME.open).subarray(0, HEADER_BYTES);
    header.writeUInt32LE(1 << 30, 8);
    raw.write(header);
    const err = JSON.parse((await raw.frame(FRAME.error)).payload.toString()) as { code: string; message: string };
    expect(err.code).toBe('E_REMOTE_PROTOCOL');
    expect(err.message).toMatch(/open frame of 1073741824 bytes exceeds the limit of 8192 bytes/);
    await raw.closed;
    await stillServes(s.url);
  });

  it('a small frame limit still carries large copies in and out (split into frames)', async () => {
    const s = await serve('fsim', { limits: { maxFrame: 8192 } });
    const name = 'gemm-s0-blocked-b1000';
    expect(bundle(name).memory.data.length).toBeGreaterThan(8192);
    const d = await open(s.url, bundle(name));
    try {
      expect(compareOutputs((await replayBundle(d, bundle(name))).outputs, expected(name))).toEqual([]);
    } finally {
      d.close();
    }
  });

  it('a truncated frame ends the session when the client hangs up', async () => {
    const s = await serve('fsim');
    const raw = new RawClient(s.port);
    const frame = encodeFrame(FRAME.open, jsonPayload(bundle(ALU).config.json, Buffer.alloc(32)));
    raw.write(frame.subarray(0, frame.length - 10));
    raw.end();
    await raw.closed;
    await s.logged(/ended: connection ended inside a frame \(truncated frame\)/);
    await stillServes(s.url);
  });

  it('a protocol-version mismatch ends the session on both sides', async () => {
    const s = await serve('fsim');
    const raw = new RawClient(s.port);
    raw.write(encodeFrame(FRAME.open, jsonPayload(bundle(ALU).config.json, Buffer.alloc(32)), 2));
    await raw.closed;
    await s.logged(/ended: E_REMOTE_PROTOCOL: protocol version mismatch: the peer speaks version 2, this side version 1/);
    // A server of another version: the client says so in one line.
    const other = createServer((sock) => sock.end(encodeFrame(FRAME.hello, Buffer.alloc(40), 7)));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const port = (other.address() as { port: number }).port;
    try {
      expect(await codeOf(open(`remote://127.0.0.1:${port}`, bundle(ALU)))).toMatch(/^E_REMOTE_PROTOCOL: .*peer speaks version 7, this side version 1/);
    } finally {
      other.close();
    }
    await stillServes(s.url);
  });

  it('a client killed mid-run ends its session; the run is not reported to anyone', async () => {
    const s = await serve(await slowFsim(SLOW_RUN_MS));
    const raw = new RawClient(s.port);
    rawStartRun(raw, bundle(ALU));
    await s.logged(/open, driver slow-fsim/);
    await new Promise((r) => setTimeout(r, 100));
    raw.kill();
    await s.logged(/ended: client disconnected mid-run/);
    await stillServes(s.url);
  });

  it('a server stopped mid-run: the client fails with one line (E_REMOTE)', async () => {
    const s = await serveForTest(await slowFsim(SLOW_RUN_MS));
    const b = bundle(ALU);
    const d = await open(s.url, b);
    const run = codeOf(replayBundle(d, b));
    await new Promise((r) => setTimeout(r, 100));
    await s.close();
    expect(await run).toMatch(/^E_REMOTE: remote:\/\/127\.0\.0\.1:\d+ ended the session: server stopping$/);
    expect(() => d.memAlloc(4096)).toThrow(/server stopping/);
    d.close();
  });

  it('a server gone mid-run without a word (killed, network lost): the client fails with one line', async () => {
    const s = await serve(await slowFsim(SLOW_RUN_MS));
    // A loopback relay stands for the network: cutting it is the server vanishing.
    const links: Socket[] = [];
    const relay = createServer((c) => {
      const u = connect({ host: '127.0.0.1', port: s.port });
      links.push(c, u);
      c.pipe(u);
      u.pipe(c);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const b = bundle(ALU);
    const d = await open(`remote://127.0.0.1:${(relay.address() as { port: number }).port}`, b);
    const run = codeOf(replayBundle(d, b));
    await s.logged(/open, driver slow-fsim/);
    await new Promise((r) => setTimeout(r, 100));
    for (const l of links) l.resetAndDestroy();
    relay.close();
    expect(await run).toMatch(/^E_REMOTE: remote:\/\/127\.0\.0\.1:\d+: (connection lost during a run \(ECONNRESET\)|closed the connection during a run)/);
    d.close();
    await s.logged(/ended: client disconnected mid-run/);
  });

  it('no server there: one line naming the address', async () => {
    const s = await serveForTest('fsim');
    const url = s.url;
    await s.close();
    expect(await codeOf(open(url, bundle(ALU)))).toMatch(/^E_REMOTE: cannot reach remote:\/\/127\.0\.0\.1:\d+: connection refused/);
  });

  it('two clients at once are isolated: the same addresses hold each its own bytes', async () => {
    const s = await serve('fsim');
    const a = bundle(ALU);
    const g = bundle(GEMM);
    expect(replayRanges(a)[0]!.start).toBe(replayRanges(g)[0]!.start);
    const da = await open(s.url, a);
    const dg = await open(s.url, g);
    try {
      // Both images are placed before either runs: in one shared memory the second would fail or overwrite the first.
      const stage = (d: Driver, b: Bundle) => {
        const bufs: DeviceBuffer[] = replayRanges(b).map((r) => d.memAllocAt(r.start, r.end - r.start));
        d.copyFromHost(bufs[0]!, b.memory.data, b.memory.base - bufs[0]!.phys);
        return bufs;
      };
      const ba = stage(da, a);
      const bg = stage(dg, g);
      await Promise.all([da.run(a.insn.addr, a.insn.count), dg.run(g.insn.addr, g.insn.count)]);
      const read = (d: Driver, b: Bundle, bufs: DeviceBuffer[]) =>
        Object.fromEntries(b.outputs.map((o) => {
          const buf = bufs.find((x) => o.addr >= x.phys && o.addr < x.phys + x.bytes)!;
          const out = new Uint8Array(o.bytes);
          d.copyToHost(out, buf, o.addr - buf.phys);
          return [o.name, out];
        }));
      expect(compareOutputs(read(da, a, ba), expected(ALU))).toEqual([]);
      expect(compareOutputs(read(dg, g, bg), expected(GEMM))).toEqual([]);
    } finally {
      da.close();
      dg.close();
    }
  });

  it('session bounds: memory, run budget, sessions', async () => {
    const s = await serve('fsim', { limits: { maxMemory: 1 << 16, maxBudget: 1e6, maxSessions: 2 } });
    const b = bundle(ALU);
    const d = await open(s.url, b);
    expect(() => d.memAlloc(1 << 20)).toThrow(/a session may hold 65536/);
    // A budget over the server's limit fails that run only.
    const insn = d.physAddr(d.memAlloc(4096));
    expect(await codeOf(d.run(insn, 1, { budget: 1e7 }))).toMatch(/^E_REMOTE_LIMIT: run budget 10000000 exceeds the server's limit of 1000000/);
    // A raw client that ignores the bound is ended by the server.
    const raw = new RawClient(s.port);
    rawOpen(raw, b);
    raw.write(encodeFrame(FRAME.alloc, u32Payload([0x100000, 1 << 20])));
    await raw.closed;
    await s.logged(/ended: E_REMOTE_LIMIT: allocating 1048576 bytes/);
    // Two sessions at most (d plus one more): a third is refused.
    const d2 = await open(s.url, b);
    expect(await codeOf(open(s.url, b))).toMatch(/^E_REMOTE_LIMIT: .*already serves 2 sessions/);
    d2.close();
    d.close();
  });

  it('an idle session is ended; its client learns why at its next call', async () => {
    const s = await serve('fsim', { limits: { idleSeconds: 0.3 } });
    const b = bundle(ALU);
    const d = await open(s.url, b);
    await s.logged(/ended: E_REMOTE: idle for 0.3 s/);
    // The server's error frame follows its log line: wait for it, within bounds.
    let error: unknown;
    for (const until = Date.now() + 5000; error === undefined && Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
      try {
        d.memFree(d.memAlloc(4096));
      } catch (e) {
        error = e;
      }
    }
    expect(String(error)).toMatch(/ended the session: idle for 0.3 s/);
    d.close();
  });

  it('a failing run fails as it does locally, and the session goes on', async () => {
    const s = await serve('fsim');
    const b = bundle(ALU);
    const local = await (await getDriver('fsim')).open(b.config);
    const d = await open(s.url, b);
    try {
      const want = await codeOf(replayBundle(local, b, { budget: 10 }));
      expect(want).toMatch(/^E_SIM_BUDGET/);
      expect(await codeOf(replayBundle(d, b, { budget: 10 }))).toBe(want);
      expect(compareOutputs((await replayBundle(d, b)).outputs, expected(ALU))).toEqual([]);
    } finally {
      local.close();
      d.close();
    }
  });
});

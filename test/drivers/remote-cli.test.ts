/**
 * The command line of remote drivers: `vta serve` on an ephemeral loopback port, used by `vta
 * conformance`, `vta replay` and `vta bench` through --driver remote://; a server killed mid-use
 * and a wrong token each give one error line; no token off loopback refuses to start.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const VTA = join(ROOT, 'bin', 'vta.mjs');
const BUNDLE = join(ROOT, 'conformance', 'alu-s0-blocked-b1000.bundle.json');

async function vta(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec('node', [VTA, ...args], { cwd: ROOT, timeout: 60_000, env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** `vta serve` on port 0; resolves with the process and the URL it printed. */
async function serve(args: string[], env: Record<string, string> = {}): Promise<{ proc: ChildProcess; url: string; stderr: () => string }> {
  const proc = spawn('node', [VTA, 'serve', '--listen', '127.0.0.1:0', ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vta serve printed no address: ${err}`)), 30_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /remote:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    proc.on('exit', () => reject(new Error(`vta serve exited: ${err}`)));
  });
  return { proc, url, stderr: () => err };
}

describe('vta serve with the verbs that take --driver', { timeout: 90_000 }, () => {
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    server = await serve(['--driver', 'fsim'], { VTA_REMOTE_TOKEN: 'sesame' });
  }, 60_000);
  afterAll(() => {
    server?.proc.kill('SIGTERM');
  });

  it('vta conformance runs kit bundles through it', async () => {
    const r = await vta(['conformance', '--driver', server.url, '--filter', 's1-'], { VTA_REMOTE_TOKEN: 'sesame' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`driver ${server.url.replace(/[/.]/g, '\\$&')}, \\d+ bundles`));
    expect(r.stdout).toMatch(/^[1-9]\d* passed, 0 failed$/m);
    expect(r.code).toBe(0);
  });

  it('vta replay and vta bench give the local figures, bench adds transport', async () => {
    const local = await vta(['replay', BUNDLE]);
    const remote = await vta(['replay', BUNDLE, '--driver', server.url], { VTA_REMOTE_TOKEN: 'sesame' });
    expect(remote.stdout).toBe(local.stdout);
    const bench = await vta(['bench', BUNDLE, '--driver', server.url, '--runs', '2'], { VTA_REMOTE_TOKEN: 'sesame' });
    expect(bench.stdout).toMatch(/^alu-s0-blocked-b1000: [\d.]+ ms per run, device [\d.]+ ms, transport -?[\d.]+ ms; 50 insns, 0 gemm \+ 341 alu uop-iterations$/m);
    const benchLocal = await vta(['bench', BUNDLE, '--runs', '2']);
    expect(benchLocal.stdout).toMatch(/^alu-s0-blocked-b1000: [\d.]+ ms per run; 50 insns/m);
  });

  it('a wrong token: one error line, and the server logs the session it ended', async () => {
    const r = await vta(['replay', BUNDLE, '--driver', server.url], { VTA_REMOTE_TOKEN: 'guess' });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^error\[E_REMOTE_AUTH\]: remote:\/\/127\.0\.0\.1:\d+ refused the token \(wrong token\)[^\n]*$/);
    expect(server.stderr()).toMatch(/vta serve: session \d+ from 127\.0\.0\.1:\d+ ended: E_REMOTE_AUTH: wrong token/);
  });

  it('a wrong token in vta conformance: one error line for the run, not one failure per bundle', async () => {
    const r = await vta(['conformance', '--driver', server.url, '--filter', 's1-'], { VTA_REMOTE_TOKEN: 'guess' });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toMatch(/^error\[E_REMOTE_AUTH\]: remote:\/\/127\.0\.0\.1:\d+ refused the token \(wrong token\)[^\n]*$/);
  });
});

describe('vta serve refusals and a killed server', { timeout: 90_000 }, () => {
  it('refuses a non-loopback address without a token', async () => {
    const r = await vta(['serve', '--listen', '0.0.0.0:0'], { VTA_REMOTE_TOKEN: '' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^error\[E_REMOTE_AUTH\]: /);
  });

  it('a server killed while the client holds a session: one error line', async () => {
    const s = await serve(['--driver', 'fsim']);
    const client = spawn('node', [VTA, 'bench', BUNDLE, '--driver', s.url, '--runs', '10000'], { cwd: ROOT });
    let err = '';
    client.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    // Wait until the client's session is open, then kill the server without a word.
    const until = Date.now() + 30_000;
    while (!/open, driver fsim/.test(s.stderr()) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    s.proc.kill('SIGKILL');
    const code = await new Promise<number | null>((r) => client.on('exit', r));
    expect(code).toBe(1);
    expect(err.trim()).toMatch(/^error\[E_REMOTE\]: remote:\/\/127\.0\.0\.1:\d+(: connection lost|: closed the connection| closed the connection)[^\n]*$/);
  });
});

/**
 * `vta run --report/--timeline` and `vta viz --profile` from the command line: the files are
 * written and hold what the driver can give (fsim: no cycles, and no timeline at all), the page
 * is drawn from the report, and misuse is a one-line usage error.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { addonPath } from '../../drivers/backends/tsim.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const MODEL = join(ROOT, 'models', 'cnn.onnx');

async function vta(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)('node', [join(ROOT, 'bin/vta.mjs'), ...args], { cwd: ROOT, timeout: 120_000, env: { ...process.env, VTA_DEV: '1' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const tmp = () => mkdtempSync(join(tmpdir(), 'vta-profile-cli-'));

describe('vta run --report / --timeline, vta viz --profile', () => {
  it('fsim: a report without cycles, drawn as a page that says so; --timeline refused before running', async () => {
    const dir = tmp();
    const report = join(dir, 'r.json');
    const r = await vta('run', MODEL, '--report', report, '-q');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(report, 'utf8'));
    expect(json.driver).toBe('fsim');
    expect(json.total.cycles).toBeUndefined();
    expect(json.memory.name).toBe('none');
    const page = join(dir, 'p.html');
    const v = await vta('viz', '--profile', report, '-o', page);
    expect(v.code, v.stderr).toBe(0);
    expect(readFileSync(page, 'utf8')).toContain('class="note"');
    const t = await vta('run', MODEL, '--timeline', join(dir, 't.json'));
    expect(t.code).not.toBe(0);
    expect(t.stderr.trim()).toMatch(/^error\[E_USAGE\]: --timeline needs a driver that records one \(timing, tsim\); the fsim driver does not$/);
    expect(existsSync(join(dir, 't.json'))).toBe(false);
  });

  it('viz --profile refuses a file that is not a report, a non-HTML output and a model beside it', async () => {
    const dir = tmp();
    const notReport = join(dir, 'trace.json');
    writeFileSync(notReport, JSON.stringify({ traceEvents: [] }));
    const a = await vta('viz', '--profile', notReport, '-o', join(dir, 'p.html'));
    expect(a.stderr.trim()).toMatch(/^error\[E_USAGE\]: .*trace\.json: not a vta run --report file/);
    const b = await vta('viz', '--profile', notReport, '-o', join(dir, 'p.svg'));
    expect(b.stderr.trim()).toMatch(/^error\[E_USAGE\]: .*p\.svg: the profile page is HTML/);
    const c = await vta('viz', MODEL, '--profile', notReport, '-o', join(dir, 'p.html'));
    expect(c.stderr.trim()).toMatch(/^error\[E_USAGE\]: give a model or --profile REPORT\.json, not both/);
  });

  it.skipIf(!existsSync(addonPath(defaultVtaConfig())))('tsim: report with cycles and stalls, timeline ending at each kernel\'s cycles', async () => {
    const dir = tmp();
    const [report, timeline] = [join(dir, 'r.json'), join(dir, 't.json')];
    const r = await vta('run', MODEL, '--driver', 'tsim', '--report', report, '--timeline', timeline);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(report, 'utf8'));
    expect(json.memory.description).toBe('ideal (read latency 1, no limit on outstanding reads, 64-bit bus, write latency 1)');
    const trace = JSON.parse(readFileSync(timeline, 'utf8'));
    for (const [i, k] of (json.kernels as { cycles: number; stalls: object }[]).entries()) {
      expect(k.stalls).toHaveProperty('compute.memory');
      const spans = (trace.traceEvents as { ph: string; pid: number; ts: number; dur: number }[]).filter((e) => e.ph === 'X' && e.pid === i + 1);
      expect(Math.max(...spans.map((e) => e.ts + e.dur))).toBe(k.cycles);
    }
    expect(r.stdout).toContain(`${timeline}: timeline, `);
  });
});

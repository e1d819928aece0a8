/**
 * Fuzzing the command line: random verbs with random flag and value combinations (files that exist,
 * do not, are folders or /dev/null; numbers out of range; flags of other verbs), each run as a
 * process (the CLI has no in-process entry) in a scratch folder. Each must exit 0, or exit non-zero
 * with exactly one stderr line `error[CODE]: …` of a catalogued code, within the time bound.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ERROR_CODES } from '../../lib/error-codes.ts';
import { type Outcome, type Rand, campaignSeeds, newReport, prng, runCase, summary } from './runner.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SEEDS = campaignSeeds(4, 200);
const CASE_TIMEOUT_MS = 60_000;
const DIR = mkdtempSync(join(tmpdir(), 'vta-fuzz-cli-'));

const FILES = [
  join(ROOT, 'conformance/alu-s1-legal-b1000.bundle.json'), join(ROOT, 'models/requant.onnx'), join(ROOT, 'models/requant.input.npy'),
  join(ROOT, 'config/int4.json'), join(ROOT, 'conformance/finish'), '/dev/null', 'missing.onnx', '', '-', 'out.vtapkg', 'out.json', 'x.vcd',
];
const VALUES = ['0', '-1', '1e99', 'NaN', 'fsim', 'tsim', 'nope', 'vta', 'exact', 'host', '__proto__', 'a=b', '3'];
/** Build-rtl compiles Verilog and quantize calibrates for minutes: not for a fuzzer. */
const VERBS = ['asm', 'disasm', 'replay', 'conformance', 'drivers', 'config', 'errors', 'compile', 'run', 'viz', 'import', 'nonsense'];
/** Flags each verb takes, picked most of the time so that cases get past argument checking. */
const VERB_FLAGS = new Map<string, string[]>([
  ['asm', ['-o']], ['disasm', []], ['replay', ['--driver', '-o', '--out-dir', '--budget', '--trace', '--races']],
  ['conformance', ['--driver', '--filter']], ['config', ['--fields']], ['compile', ['-o', '--scales', '--rounding']],
  ['run', ['--input', '--output', '--check', '--races', '--driver', '--scales']], ['viz', ['-o', '--scales']], ['import', ['-o', '--scales']],
]);
const FLAGS = ['-o', '--output', '--out-dir', '--driver', '--config', '--input', '--budget', '--trace', '--races', '--check', '--filter', '--scales', '--rounding', '--fields', '--quiet', '--help', '--offload', '--rules', '--bogus'];

function randomArgs(r: Rand): string[] {
  const args = [r.pick(VERBS)];
  for (let n = r.int(1, 2); n > 0; n--) args.push(r.pick(FILES));
  const own = VERB_FLAGS.get(args[0]!) ?? [];
  for (let n = r.int(0, 4); n > 0; n--) {
    args.push(own.length && r.bit(0.8) ? r.pick(own) : r.pick(FLAGS));
    if (r.bit(0.8)) args.push(r.bit() ? r.pick(FILES) : r.pick(VALUES));
  }
  // Keep a conformance run short: the whole kit is 240 replays.
  if (args[0] === 'conformance' && !args.includes('--filter')) args.push('--filter', 's1-');
  return args;
}

function vta(args: string[]): Promise<{ code: number | null; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const p = spawn('node', [join(ROOT, 'bin/vta.mjs'), ...args], { cwd: DIR, env: { ...process.env, VTA_DEBUG: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, CASE_TIMEOUT_MS);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, timedOut });
    });
  });
}

function judge(res: { code: number | null; stderr: string; timedOut: boolean }): Outcome {
  if (res.timedOut) return { kind: 'failed', why: `no exit within ${CASE_TIMEOUT_MS} ms` };
  if (res.code === 0) return { kind: 'ok' };
  const lines = res.stderr.split('\n').filter((l) => l !== '');
  const m = /^error\[(E_[A-Z0-9_]+)\]: ./.exec(lines[lines.length - 1] ?? '');
  if (lines.length !== 1 || !m || !res.stderr.endsWith('\n')) return { kind: 'failed', why: `exit ${res.code} with stderr ${JSON.stringify(res.stderr.slice(0, 300))}` };
  if (!Object.hasOwn(ERROR_CODES, m[1]!)) return { kind: 'failed', why: `unknown code ${m[1]}` };
  if (m[1] === 'E_INTERNAL' || /internal error/.test(lines[0]!)) return { kind: 'failed', why: lines[0]! };
  return { kind: 'refused', code: m[1]! };
}

it(`${SEEDS.length} random command lines exit 0 or with one error[CODE] line`, async () => {
  const report = newReport();
  for (const seed of SEEDS) {
    const args = randomArgs(prng(seed));
    const bytes = new TextEncoder().encode(`vta ${args.map((a) => JSON.stringify(a)).join(' ')}\n`);
    await runCase(report, { target: 'cli', seed, category: `verb:${args[0]}`, bytes, ext: 'sh' }, async () => judge(await vta(args)), { ms: CASE_TIMEOUT_MS });
  }
  console.log(summary('cli', report));
  for (const p of report.pending) console.log(p);
  expect(report.failures).toEqual([]);
}, 24 * 3600_000);

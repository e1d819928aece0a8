/**
 * A single-valued option given twice (`-o a -o b`) used to reach the command as an array and end in
 * an internal error (found by test/fuzz/cli.test.ts). Every verb now refuses it with one usage line
 * naming the option; options that take several values (`--input`, `--calibration`) still do.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const MODEL = join(ROOT, 'models', 'requant.onnx');
const BUNDLE = join(ROOT, 'conformance', 'alu-s1-legal-b1000.bundle.json');

async function vta(...args: string[]): Promise<{ code: number; stderr: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'vta-repeated-'));
  try {
    const r = await promisify(execFile)('node', [join(ROOT, 'bin/vta.mjs'), ...args], { cwd, timeout: 120_000, env: { ...process.env, VTA_DEV: '1', VTA_DEBUG: '' } });
    return { code: 0, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stderr: string };
    return { code: err.code, stderr: err.stderr };
  }
}

it.each([
  [['asm', 'x.s', '-o', 'a.bin', '-o', 'b.bin'], '--output/-o was given 2 times (a.bin, b.bin)'],
  [['compile', MODEL, '--scales', 'vta', '--scales', 'host'], '--scales was given 2 times (vta, host)'],
  [['replay', BUNDLE, '--driver', 'fsim', '--driver', 'fsim', '--driver', 'tsim'], '--driver/-d was given 3 times (fsim, fsim, tsim)'],
  [['config', '--config', 'a.json', '--config', 'b.json'], '--config was given 2 times (a.json, b.json)'],
])('vta %j: one usage line naming the option', async (args, named) => {
  const r = await vta(...args);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toBe(`error[E_USAGE]: ${named}: it takes one value\n`);
}, 60_000);

it('an option that takes several values may be repeated', async () => {
  const r = await vta('run', MODEL, '--input', 'a.npy', '--input', 'b.npy');
  expect(r.stderr).not.toMatch(/was given 2 times/);
  expect(r.stderr).toMatch(/^error\[E_[A-Z_]+\]: [^\n]*\n$/);
}, 60_000);

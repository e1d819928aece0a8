/**
 * bin/vta.mjs runs the bundle only while it is current. A copy of the launcher in a package-shaped
 * temporary folder, with a "bundle" and "sources" that each say which one ran, checks the rule: the
 * bundle when every source it holds is at most as new as it, the sources through tsx when one is
 * newer or gone, when there is no bundle, or with VTA_DEV=1; an installed package (no sources)
 * runs the bundle.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BUILT = new Date('2026-01-02T00:00:00Z');
const BEFORE = new Date('2026-01-01T00:00:00Z');
const AFTER = new Date('2026-01-03T00:00:00Z');

let dir: string;

function file(path: string, text: string, time: Date): void {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), text);
  utimesSync(join(dir, path), time, time);
}

async function launch(env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await promisify(execFile)('node', [join(dir, 'bin', 'vta.mjs')], { env: { ...process.env, VTA_DEV: '', ...env }, timeout: 60_000 });
  return r.stdout.trim();
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vta-launcher-'));
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(ROOT, 'bin', 'vta.mjs'), join(dir, 'bin', 'vta.mjs'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  file('package.json', JSON.stringify({ name: 'vta-toolchain', type: 'module' }), BEFORE);
  file('cli/main.ts', "const ran: string = 'sources';\nconsole.log(ran);\n", BEFORE);
  file('lib/x.ts', 'export {};\n', BEFORE);
  file('dist/vta.mjs', "console.log('bundle');\n", BUILT);
  file('dist/vta.inputs.json', JSON.stringify(['cli/main.ts', 'lib/x.ts']), BUILT);
  return () => rmSync(dir, { recursive: true, force: true });
});

describe('bin/vta.mjs', () => {
  it('runs the bundle when no source it holds is newer', async () => {
    expect(await launch()).toBe('bundle');
  });

  it('runs the sources through tsx when a source is newer than the bundle', async () => {
    utimesSync(join(dir, 'lib', 'x.ts'), AFTER, AFTER);
    expect(await launch()).toBe('sources');
  });

  it('runs the sources when a source the bundle holds is gone', async () => {
    rmSync(join(dir, 'lib', 'x.ts'));
    expect(await launch()).toBe('sources');
  });

  it('runs the sources when there is no bundle, or with VTA_DEV=1', async () => {
    expect(await launch({ VTA_DEV: '1' })).toBe('sources');
    rmSync(join(dir, 'dist', 'vta.mjs'));
    expect(await launch()).toBe('sources');
  });

  it('runs the bundle in an installed package, which has no sources', async () => {
    rmSync(join(dir, 'cli'), { recursive: true });
    rmSync(join(dir, 'dist', 'vta.inputs.json'));
    expect(await launch()).toBe('bundle');
  });
});

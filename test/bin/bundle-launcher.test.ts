/**
 * dist/vta.mjs (scripts/bundle-launcher.mjs with the bundle's digest filled in) runs dist/vta.cjs as
 * a CommonJS script, writes V8's code cache for it on request, and runs the bundle alike with that
 * cache, with none, with one made for other bytes and with one V8 refuses.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BUNDLE = "console.log(`bundle ${typeof require} ${module.exports === exports} ${__filename.endsWith('vta.cjs')} ${(function () { return this; })() === undefined}`);\n";
const RAN = 'bundle function true true true';

let dir: string;
const cache = () => join(dir, 'dist', 'vta.cjs.cache');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function launch(env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await promisify(execFile)('node', [join(dir, 'dist', 'vta.mjs')], { env: { ...process.env, ...env }, timeout: 60_000 });
  return r.stdout.trim();
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vta-bundle-launcher-'));
  mkdirSync(join(dir, 'dist'));
  writeFileSync(join(dir, 'dist', 'vta.cjs'), `"use strict";\n${BUNDLE}`);
  const launcher = readFileSync(join(ROOT, 'scripts', 'bundle-launcher.mjs'), 'utf8');
  expect(launcher).toContain('@BUNDLE_SHA256@');
  writeFileSync(join(dir, 'dist', 'vta.mjs'), launcher.replace('@BUNDLE_SHA256@', sha256(`"use strict";\n${BUNDLE}`)));
  return () => rmSync(dir, { recursive: true, force: true });
});

describe('the bundle launcher', () => {
  it('runs the bundle as a strict CommonJS script when there is no cache, and writes none', async () => {
    expect(await launch()).toBe(RAN);
    expect(existsSync(cache())).toBe(false);
  });

  it('writes the code cache with VTA_WRITE_CODE_CACHE=1, headed by the bundle digest, and runs from it', async () => {
    expect(await launch({ VTA_WRITE_CODE_CACHE: '1' })).toBe(RAN);
    const written = readFileSync(cache());
    expect(written.subarray(0, 64).toString('latin1')).toBe(sha256(`"use strict";\n${BUNDLE}`));
    expect(written.length).toBeGreaterThan(64);
    expect(await launch()).toBe(RAN);
  });

  it('runs the bundle when the cache was made for other bytes or is not V8 data', async () => {
    writeFileSync(cache(), Buffer.concat([Buffer.from('0'.repeat(64), 'latin1'), Buffer.from('not a cache')]));
    expect(await launch()).toBe(RAN);
    writeFileSync(cache(), Buffer.concat([Buffer.from(sha256(`"use strict";\n${BUNDLE}`), 'latin1'), Buffer.from('not a cache')]));
    expect(await launch()).toBe(RAN);
  });
});

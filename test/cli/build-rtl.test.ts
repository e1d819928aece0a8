/**
 * `vta build-rtl` hands hw/'s make a tsx that exists wherever the package is installed, and the
 * config asked for by its absolute path; a config that cannot be read is one line, before make runs.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { makeArgs } from '../../cli/commands/build-rtl.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe('vta build-rtl', () => {
  it('runs hw/\'s make rtl with a tsx entry that exists and the config by absolute path', () => {
    const args = makeArgs(ROOT, 'config/b2x8.json');
    expect(args.slice(0, 3)).toEqual(['-C', join(ROOT, 'hw'), 'rtl']);
    expect(args).toContain(`CONFIG=${join(process.cwd(), 'config', 'b2x8.json')}`);
    const tsx = args.find((a) => a.startsWith('TSX='))!;
    const paths = [...tsx.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
    expect(paths[0]).toBe(ROOT);
    expect(paths.slice(1).every((p) => existsSync(p))).toBe(true);
    expect(makeArgs(ROOT, undefined).some((a) => a.startsWith('CONFIG='))).toBe(false);
  });

  it('refuses a config it cannot read in one line, before building anything', async () => {
    const r = await promisify(execFile)('node', [join(ROOT, 'bin', 'vta.mjs'), 'build-rtl', '--config', '/nonexistent/vta.json'], { cwd: ROOT }).catch((e) => e as { code: number; stderr: string });
    expect('code' in r && r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^error\[E_(READ|CONFIG)\]: .*\/nonexistent\/vta\.json/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

/** One error catalogue: docs generated from it, every code used, nothing used that it lacks. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../lib/error-codes.ts';
import { errorDocs } from '../../lib/error-docs.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SOURCE_DIRS = ['lib', 'config', 'isa', 'sim', 'drivers', 'runtime', 'graph', 'compiler', 'frontend', 'viz', 'api', 'cli', 'bench'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('error catalogue', () => {
  const files = SOURCE_DIRS.flatMap((d) => sources(join(ROOT, d))).filter((f) => !f.endsWith('error-codes.ts'));
  const text = files.map((f) => readFileSync(f, 'utf8')).join('\n');

  it('docs/errors.md is generated from it', () => {
    expect(readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8')).toBe(errorDocs());
  });

  it('every code in it is raised somewhere', () => {
    const unused = Object.keys(ERROR_CODES).filter((c) => !new RegExp(`['"\`]${c}['"\`]`).test(text));
    expect(unused).toEqual([]);
  });

  it('every code written in the sources is in it', () => {
    const written = new Set<string>();
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(/['"`](E_[A-Z0-9_]+)['"`]/g)) written.add(`${m[1]} (${relative(ROOT, f)})`);
    }
    expect([...written].filter((w) => !(w.split(' ')[0]! in ERROR_CODES))).toEqual([]);
  });
});

/**
 * `vta replay --races`: the race checker on each bundle; a racy bundle is refused with E_RACE and no
 * result file, a race-free one replays as before, and a driver that reports no SRAM accesses is
 * refused (nothing would be checked).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finishBundle, finishCases } from '../../conformance/generate-finish.ts';
import type { MemInsn } from '../../isa/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const vta = (args: string[]) => spawnSync('node', [join(ROOT, 'bin/vta.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, VTA_DEBUG: '' } });

describe('vta replay --races', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vta-races-'));
  const [ordered] = finishCases();
  const [loadAcc, store, ...rest] = ordered!.insns as MemInsn[];
  // The STORE reads the accumulator the LOAD writes, with no token between them.
  const racy = finishBundle({ name: 'racy', insns: [{ ...loadAcc!, push_next: 0 }, { ...store!, pop_prev: 0 }, ...rest] });
  writeFileSync(join(dir, 'racy.bundle.json'), JSON.stringify(racy));
  writeFileSync(join(dir, 'clean.bundle.json'), JSON.stringify(finishBundle(ordered!)));

  it('refuses a racy bundle with one E_RACE line naming both instructions, and writes no result', () => {
    const out = join(dir, 'racy.result.json');
    const r = vta(['replay', '--races', join(dir, 'racy.bundle.json'), '-o', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error\[E_RACE\]: .*racy\.bundle\.json: 1 unordered SRAM access pair\(s\), .*RAW race on acc\[0\]: insn 0 .* and insn 1 .*\n$/);
    expect(existsSync(out)).toBe(false);
    // Without --races the same bundle replays (the race goes unnoticed).
    expect(vta(['replay', join(dir, 'racy.bundle.json')]).status).toBe(0);
  });

  it('replays a race-free bundle and says so; refuses a driver that reports no SRAM accesses', () => {
    const r = vta(['replay', '--races', join(dir, 'clean.bundle.json')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^clean: out 16 B; 4 insns, .*, races: none\n$/);
    const t = vta(['replay', '--races', '--driver', 'tsim', join(dir, 'clean.bundle.json')]);
    expect(t.status).not.toBe(0);
    expect(t.stderr).toMatch(/^error\[E_(USAGE|DRIVER)\]: /);
  });
});

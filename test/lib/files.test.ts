import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../lib/files.ts';

const dir = mkdtempSync(join(tmpdir(), 'vta-files-'));

describe('writeFileAtomic', () => {
  it('writes pieces one after another, as the bytes they join to', () => {
    const path = join(dir, 'pieces.bin');
    writeFileAtomic(path, [Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3), new Uint8Array(70000).fill(7)]);
    const got = readFileSync(path);
    expect(got.length).toBe(70003);
    expect([...got.subarray(0, 4)]).toEqual([1, 2, 3, 7]);
    expect(got.subarray(3).every((b) => b === 7)).toBe(true);
  });

  it('replaces a file written before, for text and bytes alike', () => {
    const path = join(dir, 'again.txt');
    writeFileAtomic(path, 'first');
    writeFileAtomic(path, [Buffer.from('sec'), Buffer.from('ond')]);
    expect(readFileSync(path, 'utf8')).toBe('second');
  });
});

/** The run loop's generated decoder gives exactly what the ISA reference decoder gives. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig } from '../../config/config.ts';
import { loadBundle } from '../../drivers/bundle.ts';
import { decodeInsn } from '../../isa/index.ts';
import { decodeStreamInsn } from '../../sim/decode.ts';
import { randomBytes } from './harness.ts';

const KIT = new URL('../../conformance/', import.meta.url).pathname;

it('matches decodeInsn on every instruction of every conformance bundle', () => {
  let checked = 0;
  for (const f of readdirSync(KIT).filter((n) => n.endsWith('.bundle.json'))) {
    const b = loadBundle(join(KIT, f));
    const off = b.insn.addr - b.memory.base;
    const bytes = b.memory.data.slice(off, off + b.insn.count * 16);
    const words = new Uint32Array(bytes.buffer);
    for (let i = 0; i < b.insn.count; i++) {
      expect(decodeStreamInsn(b.config, words, i), `${f} #${i}`).toEqual(decodeInsn(b.config, bytes, i * 16));
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(10000);
});

it('matches decodeInsn on random words (all fields, signed imm), default and b2x8 configs', () => {
  for (const cfg of [defaultVtaConfig(), loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname)]) {
    const bytes = randomBytes(16 * 4000, 99);
    const words = new Uint32Array(bytes.buffer);
    for (let i = 0; i < 4000; i++) {
      const op = words[i * 4]! & 7;
      if (op > 4) {
        expect(() => decodeStreamInsn(cfg, words, i)).toThrow(`unknown opcode ${op}`);
        continue;
      }
      expect(decodeStreamInsn(cfg, words, i)).toEqual(decodeInsn(cfg, bytes, i * 16));
    }
  }
});

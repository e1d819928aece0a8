/**
 * relocate() keeps a model's last relocated image to skip decoding and re-encoding its code on every
 * load: the result must always be what relocating afresh gives, for other bases, for edited code
 * bytes, and whatever a caller does to the image it was handed.
 */
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../../config/config.ts';
import { relocate } from '../../compiler/execute.ts';
import { decodeInsn, encodeInsn, memElemBytes, type MemInsn } from '../../isa/index.ts';
import type { CompiledModel } from '../../compiler/model.ts';
import { convGraph, compile, rng } from './helpers.ts';

const model = compile(convGraph(rng(3), { n: 1, c: 16, h: 6, w: 6, o: 32, k: 3, stride: 1, pad: 1 }, { shift: 8, clip: [-128, 127] }));
const cfg = makeConfig(model.config, 'test');
const A = { code: 0x1000, const: 0x40000, act: 0x80000 };
const B = { code: 0x2000, const: 0x50000, act: 0x90000 };
/** A copy of the model no cache has seen: relocating it is relocating afresh. */
const fresh = (m: CompiledModel): CompiledModel => ({ ...m, code: new Uint8Array(m.code), relocs: m.relocs.map(([i, s]) => [i, s]) });

describe('relocate', () => {
  it('gives the fresh relocation for each bases, however often it is asked', () => {
    expect(model.relocs.length).toBeGreaterThan(0);
    const a = relocate(fresh(model), cfg, A);
    const b = relocate(fresh(model), cfg, B);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    for (const bases of [A, A, B, A, B, B]) expect(Buffer.from(relocate(model, cfg, bases)).equals(Buffer.from(bases === A ? a : b))).toBe(true);
  });

  it('hands out a copy: editing it changes nothing the next load sees', () => {
    const first = relocate(model, cfg, A);
    const kept = first.slice();
    first.fill(0xff);
    expect(Buffer.from(relocate(model, cfg, A)).equals(Buffer.from(kept))).toBe(true);
  });

  it('sees code bytes edited in place', () => {
    const m = fresh(model);
    relocate(m, cfg, A);
    // The last instruction is never relocated (FINISH); flip a bit of it.
    const at = m.code.length - 16;
    m.code[at + 15]! ^= 0x40;
    const again = relocate(m, cfg, A);
    expect(again[at + 15]).toBe(m.code[at + 15]);
    expect(Buffer.from(again).equals(Buffer.from(relocate(fresh(m), cfg, A)))).toBe(true);
  });

  it('moves each listed dram_base by its segment base and nothing else, refusing one that no longer fits', () => {
    const expected = (bases: Record<string, number>) => {
      const code = new Uint8Array(model.code);
      for (const [i, seg] of model.relocs) {
        const insn = decodeInsn(cfg, code, i * 16) as MemInsn;
        encodeInsn(cfg, { ...insn, dram_base: insn.dram_base + bases[seg]! / memElemBytes(cfg, insn.memory_type) }, code, i * 16);
      }
      return code;
    };
    const far = { code: 0x7000_0000, const: 0x9000_0000, act: 0xb000_0000 };
    for (const bases of [A, far]) expect(Buffer.from(relocate(fresh(model), cfg, bases)).equals(Buffer.from(expected(bases)))).toBe(true);
    expect(() => relocate(fresh(model), cfg, { code: 2 ** 40, const: 2 ** 40, act: 2 ** 40 })).toThrow(/dram_base = .* does not fit/);
  });
});

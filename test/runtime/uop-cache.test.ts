/** runtime/uop-cache.ts and the token-NOP rule: the pieces the compiler's emitter shares with the runtime. */
import { describe, expect, it } from 'vitest';
import { MEM_TYPE, OPCODE } from '../../isa/index.ts';
import { finishWithTokens, nopInsn } from '../../runtime/insn-queue.ts';
import { UopCache, uopLoadInsn } from '../../runtime/uop-cache.ts';
import { STAGE } from '../../isa/pipeline.ts';

const kernel = (n: number, base: number) => Array.from({ length: n }, (_, i) => base + i);

describe('UopCache', () => {
  for (const reuseImage of [false, true]) {
    it(`rings through uop SRAM and evicts overlapped kernels (reuseImage ${reuseImage})`, () => {
      const cache = new UopCache<string, number>({ uopDepth: 256, reuseImage });
      const ks = { a: kernel(100, 0), b: kernel(100, 100), c: kernel(100, 200) };
      const loads = (['a', 'b', 'c', 'b', 'a', 'c'] as const).map((k) => {
        const { range, load } = cache.place(k, ks[k]);
        return [k, range.begin, load?.imageOffset];
      });
      // c wraps to 0 evicting a; b stays; a reloads at 100 evicting b; c is still resident.
      expect(loads).toEqual([
        ['a', 0, 0],
        ['b', 100, 100],
        ['c', 0, 200],
        ['b', 100, undefined],
        ['a', 100, reuseImage ? 0 : 300],
        ['c', 0, undefined],
      ]);
      expect(cache.image().length).toBe(reuseImage ? 300 : 400);
      expect(cache.imageGrowth('b', 100)).toBe(reuseImage ? 0 : 100);
      cache.reset();
      expect(cache.rangeOf('a')).toBeUndefined();
      expect(cache.imageLength).toBe(0);
    });
  }

  it('builds the LOAD UOP of a load', () => {
    const insn = uopLoadInsn({ sramBase: 5, count: 3, imageOffset: 9 }, 9);
    expect(insn).toMatchObject({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.UOP, sram_base: 5, dram_base: 9, y_size: 1, x_size: 3, x_stride: 3 });
  });
});

describe('token NOPs', () => {
  it('FINISH carries no flags: a compute NOP before it does', () => {
    expect(finishWithTokens({ pop_prev: 0, pop_next: 0, push_prev: 0, push_next: 0 }).map((i) => i.opcode)).toEqual([OPCODE.FINISH]);
    const [nop, finish] = finishWithTokens({ pop_next: 1 });
    expect(nop).toEqual(nopInsn(STAGE.COMPUTE, { pop_next: 1 }));
    expect(nop).toMatchObject({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.UOP, x_size: 0, pop_next: 1 });
    expect(finish).toMatchObject({ opcode: OPCODE.FINISH, pop_prev: 0, pop_next: 0 });
  });
});

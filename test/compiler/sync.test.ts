/** compiler/sync.ts: token insertion from footprints, and the static no-deadlock proof. */
import { describe, expect, it } from 'vitest';
import { insertSync, verifyTokens } from '../../compiler/sync.ts';
import type { KOp } from '../../compiler/kernel-ir.ts';
import { MEM_TYPE, OPCODE, finishInsn, gemmInsn, memInsn } from '../../isa/index.ts';

const ref = { buffer: 'b', offset: 0 };
const loadInp = (sram: number): KOp => ({ kind: 'load', memType: MEM_TYPE.INP, sram, dram: ref, y: 1, x: 4, stride: 4, pad: [0, 0, 0, 0] });
const gemm = (src: number, dst: number): KOp => ({
  kind: 'gemm',
  reset: false,
  uops: [{ dst, src, wgt: 0 }],
  loop: { iterOut: 1, iterIn: 4, dstOut: 0, dstIn: 1, srcOut: 0, srcIn: 1, wgtOut: 0, wgtIn: 0 },
});
const store = (sram: number): KOp => ({ kind: 'store', sram, dram: ref, y: 1, x: 4, stride: 4 });
const flagsText = (ops: KOp[]) =>
  insertSync(ops, 2048).map((f, i) => `${ops[i]!.kind}:${Object.entries(f).filter(([, v]) => v).map(([k]) => k).join(',')}`);

describe('token insertion', () => {
  it('double buffering: the third load waits only for the GEMM that read its slot', () => {
    const ops: KOp[] = [loadInp(0), gemm(0, 0), store(0), loadInp(4), gemm(4, 4), store(4), loadInp(0), gemm(0, 0), store(0), { kind: 'finish' }];
    expect(flagsText(ops)).toEqual([
      'load:push_next', // RAW: gemm #1 reads inp[0..4)
      'gemm:pop_prev,push_prev,push_next', // WAR for load #6 (push_prev), RAW for store #2
      'store:pop_prev,push_prev', // WAR: gemm #7 rewrites acc[0..4)
      'load:push_next',
      'gemm:pop_prev,push_next',
      'store:pop_prev', // nothing overwrites acc[4..8) later; FINISH's wait on store #8 covers it
      'load:pop_next,push_next', // waits for gemm #1 only: slot 0
      'gemm:pop_prev,pop_next,push_next', // s2g from store #2 (WAR on acc)
      'store:pop_prev,push_prev',
      'finish:pop_next', // after the last store
    ]);
  });

  it('transitive knowledge removes redundant tokens', () => {
    // The store reads what both GEMMs wrote; compute runs in order, so one g2s token pushed by
    // the later GEMM orders the store after both.
    const ops: KOp[] = [loadInp(0), gemm(0, 0), gemm(0, 4), { ...(store(0) as Extract<KOp, { kind: 'store' }>), x: 8 }, { kind: 'finish' }];
    const f = insertSync(ops, 2048);
    expect(f[1]!.push_next).toBe(0);
    expect(f[2]!.push_next).toBe(1);
    expect(f[3]!.pop_prev).toBe(1);
  });
});

describe('static token verification', () => {
  const L = OPCODE.LOAD;
  it('accepts a balanced stream', () => {
    expect(() =>
      verifyTokens([
        memInsn({ opcode: L, memory_type: MEM_TYPE.INP, push_next: 1 }),
        gemmInsn({ pop_prev: 1 }),
        finishInsn(),
      ]),
    ).not.toThrow();
  });
  it('refuses a pop with no earlier push (a possible deadlock)', () => {
    expect(() => verifyTokens([gemmInsn({ pop_prev: 1 }), memInsn({ opcode: L, memory_type: MEM_TYPE.INP, push_next: 1 }), finishInsn()])).toThrow(
      'internal compiler error: instruction 0 (compute) pops l2g with no token pushed before it in program order',
    );
  });
  it('refuses tokens left at FINISH', () => {
    expect(() => verifyTokens([gemmInsn({ push_next: 1 }), finishInsn()])).toThrow('tokens left at FINISH: g2s=1');
  });
  it('refuses a flag the stage does not have', () => {
    expect(() => verifyTokens([memInsn({ opcode: L, memory_type: MEM_TYPE.INP, pop_prev: 1 })])).toThrow('pops a queue its stage does not have');
  });
});

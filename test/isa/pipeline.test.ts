/** isa/pipeline.ts: the machine's vocabulary, written once. */
import { describe, expect, it } from 'vitest';
import { ALU_OP, MEM_TYPE, OPCODE, aluInsn, finishInsn, gemmInsn, memInsn } from '../../isa/index.ts';
import {
  QUEUE,
  QUEUE_NAMES,
  STAGE,
  STAGES,
  formatCounts,
  loadMemTypeMask,
  namedCounts,
  opcodeMask,
  queueBetween,
  queueOfFlag,
  replayTokens,
  stageOf,
  stageOfInsn,
  tokenUses,
} from '../../isa/pipeline.ts';

describe('which stage runs an instruction (spec §3.8)', () => {
  it('routes LOADs by the SRAM they fill and everything else by opcode', () => {
    expect(stageOf(OPCODE.LOAD, MEM_TYPE.INP)).toBe(STAGE.LOAD);
    expect(stageOf(OPCODE.LOAD, MEM_TYPE.WGT)).toBe(STAGE.LOAD);
    expect(stageOf(OPCODE.LOAD, MEM_TYPE.UOP)).toBe(STAGE.COMPUTE);
    expect(stageOf(OPCODE.LOAD, MEM_TYPE.ACC)).toBe(STAGE.COMPUTE);
    expect(stageOf(OPCODE.LOAD, MEM_TYPE.ACC_8BIT)).toBe(STAGE.COMPUTE);
    expect(stageOf(OPCODE.LOAD, MEM_TYPE.OUT)).toBeUndefined();
    expect(stageOf(OPCODE.LOAD, 7)).toBeUndefined();
    expect(stageOf(OPCODE.STORE, MEM_TYPE.OUT)).toBe(STAGE.STORE);
    for (const op of [OPCODE.GEMM, OPCODE.ALU, OPCODE.FINISH]) expect(stageOf(op, 0)).toBe(STAGE.COMPUTE);
    expect(stageOf(6, 0)).toBeUndefined();
    expect(stageOfInsn(aluInsn({ alu_opcode: ALU_OP.ADD }))).toBe(STAGE.COMPUTE);
  });

  it('gives the RTL the same rule as bit masks', () => {
    expect(loadMemTypeMask(STAGE.LOAD)).toBe((1 << MEM_TYPE.INP) | (1 << MEM_TYPE.WGT));
    expect(loadMemTypeMask(STAGE.COMPUTE)).toBe((1 << MEM_TYPE.UOP) | (1 << MEM_TYPE.ACC) | (1 << MEM_TYPE.ACC_8BIT));
    expect(loadMemTypeMask(STAGE.STORE)).toBe(0);
    expect(opcodeMask(STAGE.COMPUTE)).toBe((1 << OPCODE.GEMM) | (1 << OPCODE.ALU) | (1 << OPCODE.FINISH));
    expect(opcodeMask(STAGE.STORE)).toBe(1 << OPCODE.STORE);
  });
});

describe('token queues (spec §3.9)', () => {
  it('names one queue per flag and stage; load has no previous stage, store no next', () => {
    expect(queueOfFlag(STAGE.LOAD, 'pop_prev')).toBeUndefined();
    expect(queueOfFlag(STAGE.STORE, 'push_next')).toBeUndefined();
    expect(queueOfFlag(STAGE.COMPUTE, 'pop_prev')).toBe(QUEUE.L2G);
    expect(queueOfFlag(STAGE.COMPUTE, 'pop_next')).toBe(QUEUE.S2G);
  });

  it('pairs each push with the pop of the neighbour on the same queue', () => {
    for (const from of STAGES) {
      for (const to of STAGES) {
        const q = queueBetween(from, to);
        if (Math.abs(from - to) !== 1) {
          expect(q).toBeUndefined();
          continue;
        }
        expect(queueOfFlag(from, q!.push)).toBe(q!.queue);
        expect(queueOfFlag(to, q!.pop)).toBe(q!.queue);
      }
    }
    expect(QUEUE_NAMES[queueBetween(STAGE.STORE, STAGE.COMPUTE)!.queue]).toBe('s2g');
  });

  it('lists the flags an instruction sets, pops first', () => {
    expect(tokenUses(STAGE.COMPUTE, gemmInsn({ push_next: 1, pop_prev: 1 }))).toEqual([
      { flag: 'pop_prev', queue: QUEUE.L2G },
      { flag: 'push_next', queue: QUEUE.G2S },
    ]);
  });

  it('replays tokens in program order', () => {
    const insns = [memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.INP, push_next: 1 }), gemmInsn({ pop_prev: 1, push_next: 1 }), finishInsn()];
    const seen: string[] = [];
    const left = replayTokens(insns, undefined, (i, counts) => seen.push(`${i}: ${formatCounts(counts)}`));
    expect(seen).toEqual(['0: l2g=1 g2l=0 g2s=0 s2g=0', '1: l2g=0 g2l=0 g2s=1 s2g=0', '2: l2g=0 g2l=0 g2s=1 s2g=0']);
    expect(namedCounts(left)).toEqual({ l2g: 0, g2l: 0, g2s: 1, s2g: 0 });
  });
});

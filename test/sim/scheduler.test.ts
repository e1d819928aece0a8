/**
 * The three stages and four token queues: a program whose program order puts a pop before its
 * push runs only on a simulator that really models the stages; observers see the documented order.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { ALU_OP, MEM_TYPE, OPCODE, aluInsn, encodeProgram, finishInsn, memInsn, type MemInsn } from '../../isa/index.ts';
import type { SimObserver } from '../../sim/api.ts';
import { routedProgram } from '../../sim/index.ts';
import { rig } from './harness.ts';

const cfg = defaultVtaConfig();
const DATA = 0x20000;
const UOPS = 0x10000;
const OUT = 0x30000;
const mem = (opcode: number, memory_type: number, p: Partial<MemInsn>): MemInsn =>
  memInsn({ opcode: opcode as MemInsn['opcode'], memory_type, y_size: 1, ...p });

/** STORE first in program order, although it waits for the ALU's g2s token. */
function outOfOrderProgram() {
  return [
    mem(OPCODE.STORE, MEM_TYPE.OUT, { dram_base: OUT / 16, x_size: 1, x_stride: 1, pop_prev: 1, push_prev: 1 }),
    mem(OPCODE.LOAD, MEM_TYPE.ACC, { dram_base: DATA / 64, x_size: 1, x_stride: 1 }),
    mem(OPCODE.LOAD, MEM_TYPE.UOP, { dram_base: UOPS / 4, x_size: 1, x_stride: 1 }),
    aluInsn({ alu_opcode: ALU_OP.ADD, use_imm: 1, imm: 3, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: 1, push_next: 1 }),
    finishInsn({ pop_next: 1 }),
  ];
}

function setup() {
  const r = rig(cfg);
  r.put(DATA, Int32Array.from({ length: 16 }, (_, i) => i * 10 - 70));
  r.putUops(UOPS, [{ dst_idx: 0, src_idx: 0, wgt_idx: 0 }]);
  return r;
}

describe('scheduler', () => {
  it('runs a store that precedes, in program order, the compute push it waits for', () => {
    const r = setup();
    const c = r.run(outOfOrderProgram());
    expect(Array.from(r.get(OUT, 16))).toEqual(Array.from({ length: 16 }, (_, i) => (i * 10 - 67) & 0xff));
    expect([c.load_insns, c.compute_insns, c.store_insns]).toEqual([0, 4, 1]);
  });

  it('calls observer hooks in the documented order: pops, before, after, pushes', () => {
    const r = setup();
    const seen: string[] = [];
    const observer: SimObserver = {
      onPop: (stage, queue, index) => seen.push(`pop ${stage} ${queue} #${index}`),
      beforeInsn: (e) => seen.push(`before ${e.stage} #${e.index} op${e.insn.opcode} acc0=${e.sram.acc[0]}`),
      afterInsn: (e) => seen.push(`after ${e.stage} #${e.index} acc0=${e.sram.acc[0]}`),
      onPush: (stage, queue, index) => seen.push(`push ${stage} ${queue} #${index}`),
    };
    r.run(outOfOrderProgram(), { observer });
    expect(seen).toEqual([
      'before compute #1 op0 acc0=0',
      'after compute #1 acc0=-70',
      'before compute #2 op0 acc0=-70',
      'after compute #2 acc0=-70',
      'before compute #3 op4 acc0=-70',
      'after compute #3 acc0=-67',
      'push compute g2s #3',
      'pop store g2s #0',
      'before store #0 op1 acc0=-67',
      'after store #0 acc0=-67',
      'push store s2g #0',
      'pop compute s2g #4',
      'before compute #4 op3 acc0=-67',
      'after compute #4 acc0=-67',
    ]);
  });

  it('starts every run with empty token queues and keeps SRAM between runs', () => {
    const r = setup();
    // Run 1 deadlocks with a token left in g2s ... the next run must not see it.
    expect(() => r.run([aluInsn({ alu_opcode: ALU_OP.ADD, push_next: 1 }), mem(OPCODE.LOAD, MEM_TYPE.UOP, { pop_next: 1 }), finishInsn()])).toThrow(/^deadlock: .* tokens l2g=0 g2l=0 g2s=1 s2g=0$/);
    expect(() => r.run([mem(OPCODE.STORE, MEM_TYPE.OUT, { pop_prev: 1 }), finishInsn()])).toThrow(/never ran/);
    // SRAM: load ACC in one run, store it (no compute touching it) in the next.
    r.run([mem(OPCODE.LOAD, MEM_TYPE.ACC, { sram_base: 9, dram_base: DATA / 64, x_size: 1, x_stride: 1 }), finishInsn()]);
    r.run([
      mem(OPCODE.LOAD, MEM_TYPE.UOP, { push_next: 1 }),
      mem(OPCODE.STORE, MEM_TYPE.OUT, { sram_base: 9, dram_base: OUT / 16, x_size: 1, x_stride: 1, pop_prev: 1, push_prev: 1 }),
      finishInsn({ pop_next: 1 }),
    ]);
    expect(Array.from(r.get(OUT, 16))).toEqual(Array.from({ length: 16 }, (_, i) => (i * 10 - 70) & 0xff));
  });

  it('reuses a routed program only while its bytes are unchanged, for several streams in turn', () => {
    const r = setup();
    const addThree = [mem(OPCODE.LOAD, MEM_TYPE.UOP, { dram_base: UOPS / 4, x_size: 1, x_stride: 1 }), ...outOfOrderProgram().slice(1)];
    const at2 = 0x8000;
    // Two streams at two addresses, run in turn: each result as if routed afresh.
    for (let round = 0; round < 3; round++) {
      r.run(outOfOrderProgram());
      r.run([mem(OPCODE.LOAD, MEM_TYPE.ACC, { dram_base: DATA / 64, x_size: 1, x_stride: 1 }), finishInsn()], { at: at2 });
    }
    expect(Array.from(new Int8Array(r.get(OUT, 16).buffer))).toEqual(Array.from({ length: 16 }, (_, i) => ((i * 10 - 70 + 3) << 24) >> 24));
    // Same address and length, other bytes: a stream without FINISH is refused, not run from the cache.
    const noFinish = addThree.slice(0, 4).concat(mem(OPCODE.LOAD, MEM_TYPE.UOP, { dram_base: UOPS / 4, x_size: 1, x_stride: 1 }));
    expect(() => r.run(noFinish)).toThrow(/has no FINISH/);
    // ...and the original bytes run again.
    expect(r.run(outOfOrderProgram()).alu_counter).toBe(1);
  });

  it('hands the program a run routed to a caller reading the same bytes, and routes other bytes afresh', () => {
    const r = setup();
    const program = outOfOrderProgram();
    r.run(program);
    const bytes = encodeProgram(cfg, program);
    const at = 0x1000;
    r.memory.write(at, bytes);
    const ran = routedProgram(r.machine, new Uint8Array(bytes), at);
    expect(routedProgram(r.machine, new Uint8Array(bytes), at)).toBe(ran);
    expect(ran.routed.map((x) => x.insn.opcode)).toEqual(program.map((x) => x.opcode));
    const other = encodeProgram(cfg, [mem(OPCODE.LOAD, MEM_TYPE.ACC, { dram_base: DATA / 64, x_size: 1, x_stride: 1 }), ...program.slice(1)]);
    expect(routedProgram(r.machine, other, at)).not.toBe(ran);
  });
});

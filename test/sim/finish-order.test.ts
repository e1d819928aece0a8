/**
 * The FINISH rule on fsim (docs/isa.md decision 10, sim/finish-order.ts): an instruction after FINISH
 * is refused unless tokens order it before FINISH, and it is refused before anything runs; a STORE
 * nothing orders before FINISH is refused after the run; a LOAD tokens release after FINISH runs.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { MEM_TYPE, OPCODE, finishInsn, memInsn } from '../../isa/index.ts';
import { VtaError } from '../../lib/errors.ts';
import { rig } from './harness.ts';

const cfg = defaultVtaConfig();
const ACC = 0x8000;
const OUT = 0x9000;
const loadAcc = memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.ACC, y_size: 1, x_size: 1, x_stride: 1, dram_base: ACC / cfg.accElemBytes, push_next: 1 });
const store = memInsn({ opcode: OPCODE.STORE, memory_type: MEM_TYPE.OUT, y_size: 1, x_size: 1, x_stride: 1, dram_base: OUT / cfg.outElemBytes, pop_prev: 1, push_prev: 1 });
const popStore = memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.UOP, pop_next: 1 });

function refusal(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof VtaError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('the FINISH rule on fsim', () => {
  it('runs a STORE placed after FINISH in program order when tokens order it before FINISH', () => {
    const r = rig(cfg);
    r.put(ACC, Int32Array.from({ length: 16 }, (_, i) => i + 1));
    // Program order: load, no-op popping the store's token, FINISH, then the STORE itself.
    const counters = r.run([loadAcc, popStore, finishInsn(), store]);
    expect(counters.store_insns).toBe(1);
    expect(Array.from(r.get(OUT, 16))).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it('refuses an unordered instruction after FINISH before running anything', () => {
    const r = rig(cfg);
    r.put(ACC, Int32Array.from({ length: 16 }, () => 7));
    const e = refusal(() => r.run([loadAcc, store, popStore, finishInsn()], { count: 5 }));
    expect(e.code).toBe('E_SIM_UNRUN');
    expect(e.message).toMatch(/^FINISH insn #3 \(finish\) completed but 1 instruction\(s\) never ran, first: compute insn #4 \(load\.uop /);
    expect(Array.from(r.get(OUT, 16))).toEqual(new Array(16).fill(0));
  });

  it('refuses a STORE nothing orders before FINISH, and runs a LOAD released after FINISH', () => {
    const r = rig(cfg);
    const e = refusal(() => r.run([loadAcc, { ...store, push_prev: 0 }, finishInsn()]));
    expect(e.code).toBe('E_SIM_UNRUN');
    expect(e.message).toMatch(/^FINISH insn #2 \(finish\) can complete before 1 STORE\(s\) ran .*insn #1 \(store\.out/);
    const lateLoad = memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.INP, y_size: 1, x_size: 1, x_stride: 1, dram_base: ACC / cfg.inpElemBytes, pop_next: 1 });
    const counters = r.run([loadAcc, store, lateLoad, { ...popStore, push_prev: 1 }, finishInsn()]);
    expect(counters.load_insns).toBe(1);
  });
});

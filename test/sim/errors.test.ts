/**
 * Every program error is refused with one line naming the instruction (index and disassembly) and
 * the fault, with a stable code; runaway and stuck programs end quickly with a report.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { DeviceMemory } from '../../sim/memory.ts';
import { ALU_OP, MEM_TYPE, OPCODE, aluInsn, encodeAluRaw, finishInsn, gemmInsn, insnFromWords, memInsn, type Insn, type MemInsn } from './errors-fixtures.ts';
import { isVtaError } from '../../lib/errors.ts';
import { simulate } from '../../sim/index.ts';
import { INSN_BASE, rig } from './harness.ts';

const cfg = defaultVtaConfig();
const UOPS = 0x10000;
const load = (memory_type: number, p: Partial<MemInsn>): MemInsn => memInsn({ opcode: OPCODE.LOAD, memory_type, y_size: 1, ...p });
const store = (p: Partial<MemInsn>): MemInsn => memInsn({ opcode: OPCODE.STORE, memory_type: MEM_TYPE.OUT, y_size: 1, ...p });

/** Run and return the error (code and message), failing the test when the run succeeds. */
function refuse(insns: Insn[], setup?: (r: ReturnType<typeof rig>) => void, opts: { budget?: number; count?: number } = {}): { code: string; message: string } {
  const r = rig(cfg);
  setup?.(r);
  try {
    r.run(insns, opts);
  } catch (e) {
    if (!isVtaError(e)) throw e;
    expect(e.message).not.toContain('\n');
    return { code: e.code, message: e.message };
  }
  throw new Error('the program was accepted');
}

const withUops = (uops: { dst_idx: number; src_idx: number; wgt_idx: number }[]) => (r: ReturnType<typeof rig>) => r.putUops(UOPS, uops);
const uopLoad = (n: number) => load(MEM_TYPE.UOP, { dram_base: UOPS / 4, x_size: n, x_stride: n });

describe('SRAM index out of range', () => {
  it('GEMM wgt index, named with the instruction index, its disassembly and the depth', () => {
    const e = refuse([uopLoad(1), gemmInsn({ uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: 2, wgt_factor_in: 7 }), finishInsn()], withUops([{ dst_idx: 0, src_idx: 0, wgt_idx: 1023 }]));
    expect(e).toEqual({
      code: 'E_SIM_INSN',
      message: 'insn #1 (gemm uop_bgn=0 uop_end=1 iter_out=1 iter_in=2 wgt_factor_in=7): wgt index 1030 out of range (wgt depth 1024) at uop 0, i=0, j=1',
    });
  });

  it('GEMM inp and acc indices, reporting the first bad index in execution order', () => {
    const uops = [
      { dst_idx: 0, src_idx: 2000, wgt_idx: 0 },
      { dst_idx: 2040, src_idx: 0, wgt_idx: 0 },
    ];
    const inp = refuse([uopLoad(2), gemmInsn({ uop_bgn: 0, uop_end: 2, iter_out: 3, iter_in: 1, src_factor_out: 30 }), finishInsn()], withUops(uops));
    expect(inp.message).toMatch(/^insn #1 \(gemm .*\): inp index 2060 out of range \(inp depth 2048\) at uop 0, i=2, j=0$/);
    const acc = refuse([uopLoad(2), gemmInsn({ uop_bgn: 0, uop_end: 2, iter_out: 1, iter_in: 9, dst_factor_in: 1 }), finishInsn()], withUops(uops));
    expect(acc.message).toMatch(/: acc index 2048 out of range \(acc depth 2048\) at uop 1, i=0, j=8$/);
  });

  it('GEMM reset checks only dst; uop_end past the uop buffer', () => {
    const reset = refuse([uopLoad(1), gemmInsn({ reset_reg: 1, uop_bgn: 0, uop_end: 1, iter_out: 2, iter_in: 1, dst_factor_out: 2047 }), finishInsn()], withUops([{ dst_idx: 1, src_idx: 0, wgt_idx: 0 }]));
    expect(reset.message).toMatch(/^insn #1 \(gemm reset_reg=1 .*\): acc index 2048 out of range \(acc depth 2048\)/);
    const uop = refuse([gemmInsn({ uop_bgn: 8000, uop_end: 8200, iter_out: 1, iter_in: 1 }), finishInsn()]);
    expect(uop.message).toBe('insn #0 (gemm uop_bgn=8000 uop_end=8200 iter_out=1 iter_in=1): uop index 8199 out of range (uop depth 8192) for uop_end 8200');
  });

  it('ALU dst and src (src only for tensor operands)', () => {
    const uops = [{ dst_idx: 10, src_idx: 2047, wgt_idx: 0 }];
    const src = refuse([uopLoad(1), aluInsn({ alu_opcode: ALU_OP.ADD, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: 2, src_factor_in: 1 }), finishInsn()], withUops(uops));
    expect(src.message).toMatch(/^insn #1 \(alu\.add .*\): acc index 2048 out of range \(acc depth 2048\) at uop 0, i=0, j=1$/);
    // The same nest with an immediate never reads src: accepted.
    const r = rig(cfg);
    r.putUops(UOPS, uops);
    r.run([uopLoad(1), aluInsn({ alu_opcode: ALU_OP.ADD, use_imm: 1, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: 2, src_factor_in: 1 }), finishInsn()]);
    const dst = refuse([uopLoad(1), aluInsn({ alu_opcode: ALU_OP.MAX, use_imm: 1, uop_bgn: 0, uop_end: 1, iter_out: 2040, iter_in: 1, dst_factor_out: 1 }), finishInsn()], withUops(uops));
    expect(dst.message).toMatch(/: acc index 2048 out of range \(acc depth 2048\) at uop 0, i=2038, j=0$/);
  });

  for (const [t, name, depth] of [
    [MEM_TYPE.UOP, 'uop', 8192],
    [MEM_TYPE.WGT, 'wgt', 1024],
    [MEM_TYPE.INP, 'inp', 2048],
    [MEM_TYPE.ACC, 'acc', 2048],
    [MEM_TYPE.ACC_8BIT, 'acc', 2048],
  ] as const) {
    it(`LOAD ${name} (type ${t}) whose pads carry the SRAM range past the depth`, () => {
      // 4 data elements fit; y_pad_1 = 1 adds a row of 6 that does not.
      const e = refuse([load(t, { sram_base: depth - 10, dram_base: 0x100, y_size: 1, x_size: 4, x_stride: 4, x_pad_0: 1, x_pad_1: 1, y_pad_1: 1 }), finishInsn()]);
      expect(e.code).toBe('E_SIM_INSN');
      expect(e.message).toMatch(new RegExp(`^insn #0 \\(load\\.[a-z_0-9]+ sram_base=${depth - 10} .*\\): ${name} index ${depth + 1} out of range \\(${name} depth ${depth}\\) for sram_base ${depth - 10} \\+ 2 rows of 6 elements$`));
    });
  }

  it('STORE reading past the ACC buffer', () => {
    const e = refuse([store({ sram_base: 2047, dram_base: 0x100, x_size: 2, x_stride: 2, push_prev: 1 }), finishInsn({ pop_next: 1 })]);
    expect(e.message).toMatch(/^insn #0 \(store\.out push_prev sram_base=2047 .*\): acc index 2048 out of range \(acc depth 2048\) for sram_base 2047 \+ 1 rows of 2 elements$/);
  });
});

describe('bad fields and DRAM', () => {
  it('DRAM outside allocated memory, for loads and stores', () => {
    const l = refuse([load(MEM_TYPE.INP, { dram_base: 0x1000000, x_size: 1, x_stride: 1 }), finishInsn()]);
    expect(l).toEqual({
      code: 'E_SIM_INSN',
      message: 'insn #0 (load.inp sram_base=0 dram_base=0x1000000 y_size=1 x_size=1 x_stride=1): DRAM range [0x10000000, 0x10000010) is outside allocated device memory',
    });
    // The second row of these crosses the end of the 1 MiB allocation (rows strided, and contiguous).
    const end = INSN_BASE + (1 << 20);
    const s = refuse([store({ dram_base: (end - 16) / 16, y_size: 2, x_size: 1, x_stride: 3, push_prev: 1 }), finishInsn({ pop_next: 1 })]);
    expect(s.message).toMatch(/^insn #0 \(store\.out .*\): DRAM range \[0x101020, 0x101030\) is outside allocated device memory$/);
    const c = refuse([store({ dram_base: (end - 16) / 16, y_size: 2, x_size: 1, x_stride: 1, push_prev: 1 }), finishInsn({ pop_next: 1 })]);
    expect(c.message).toMatch(/: DRAM range \[0x100ff0, 0x101010\) is outside allocated device memory$/);
    const l2 = refuse([load(MEM_TYPE.ACC, { dram_base: (end - 64) / 64, y_size: 2, x_size: 1, x_stride: 1 }), finishInsn()]);
    expect(l2.message).toMatch(/^insn #0 \(load\.acc .*\): DRAM range \[0x100fc0, 0x101040\) is outside allocated device memory$/);
  });

  it('dependency flags the stage does not have', () => {
    for (const [insn, flag, stage] of [
      [load(MEM_TYPE.INP, { pop_prev: 1 }), 'pop_prev', 'load'],
      [load(MEM_TYPE.WGT, { push_prev: 1 }), 'push_prev', 'load'],
      [store({ pop_next: 1 }), 'pop_next', 'store'],
      [store({ push_next: 1 }), 'push_next', 'store'],
    ] as const) {
      const e = refuse([insn, finishInsn()]);
      expect(e.message).toMatch(new RegExp(`^insn #0 \\(.*\\): ${flag} is illegal on a ${stage}-stage instruction \\(the ${stage} stage has no (previous|next) stage\\)$`));
    }
  });

  it('unknown opcode, memory types, LOAD of OUT, STORE of non-OUT, STORE with pads, unknown ALU opcode', () => {
    expect(refuse([], (r) => r.put(INSN_BASE, insnFromWords(5n, 0n)), { count: 1 }).message).toBe('insn #0 (.insn 0x0000000000000005 0x0000000000000000): unknown opcode 5');
    expect(refuse([load(6, { x_size: 1 }), finishInsn()]).message).toMatch(/^insn #0 \(\.insn .* # load\.mem6\): unknown memory type 6 \(known: UOP 0, WGT 1, INP 2, ACC 3, OUT 4, ACC_8BIT 5\)$/);
    expect(refuse([load(MEM_TYPE.OUT, { x_size: 0 }), finishInsn()]).message).toMatch(/^insn #0 \(load\.out .*\): LOAD cannot target memory type OUT/);
    const synced = (p: Partial<MemInsn>) => [store({ ...p, push_prev: 1 }), finishInsn({ pop_next: 1 })];
    expect(refuse(synced({ memory_type: MEM_TYPE.ACC, x_size: 1, x_stride: 1, dram_base: 0x100 })).message).toMatch(/^insn #0 \(store\.acc .*\): STORE must use memory type OUT, not ACC$/);
    expect(refuse(synced({ x_size: 1, x_stride: 1, dram_base: 0x100, x_pad_1: 2 })).message).toMatch(/: STORE cannot pad: y_pad_0, y_pad_1, x_pad_0 and x_pad_1 must be 0$/);
    const aluThenFinish = (r: ReturnType<typeof rig>) => {
      r.put(INSN_BASE, encodeAluRaw(cfg, 6));
      r.put(INSN_BASE + 16, insnFromWords(3n, 0n));
    };
    expect(refuse([], aluThenFinish, { count: 2 }).message).toMatch(/^insn #0 \(\.insn .* # alu\.op6\): unknown ALU opcode 6 \(known: MIN 0, MAX 1, ADD 2, SHR 3, MUL 4\)$/);
  });

  it('accepts a STORE no-op (x_size 0) of any memory type, as the runtime emits, and an empty STORE', () => {
    const r = rig(cfg);
    r.run([store({ memory_type: MEM_TYPE.UOP, x_size: 0, push_prev: 1 }), finishInsn({ pop_next: 1 })]);
    // y_size 0 writes nothing, so its (unallocated) DRAM address is never touched.
    r.run([store({ x_size: 4, y_size: 0, dram_base: 0x1000000, push_prev: 1 }), finishInsn({ pop_next: 1 })]);
  });
});

describe('the run as a whole', () => {
  it('refuses count 0, a stream with no FINISH, and a stream outside device memory', () => {
    expect(refuse([finishInsn()], undefined, { count: 0 })).toEqual({ code: 'E_SIM_RUN', message: 'instruction count 0 is invalid: a run needs at least one instruction (a FINISH)' });
    expect(refuse([load(MEM_TYPE.INP, {})])).toEqual({ code: 'E_SIM_NO_FINISH', message: 'instruction stream at 0x1000 (1 instructions) has no FINISH, so the run could never end' });
    const memory = new DeviceMemory();
    expect(() => simulate(cfg, memory, 0x5000, 2)).toThrow('instruction stream [0x5000, 0x5020) (2 instructions) is outside allocated device memory');
  });

  it('reports a deadlock with each stage blocked instruction and the token counts', () => {
    const e = refuse([load(MEM_TYPE.INP, { pop_next: 1 }), gemmInsn({ pop_prev: 1 }), store({ push_prev: 1 }), finishInsn()]);
    expect(e).toEqual({
      code: 'E_SIM_DEADLOCK',
      message:
        'deadlock: no stage can progress; load stage at insn #0 (load.inp pop_next sram_base=0 dram_base=0x0 y_size=1 x_size=0 x_stride=0) waiting for g2l; ' +
        'compute stage at insn #1 (gemm pop_prev uop_bgn=0 uop_end=0 iter_out=0 iter_in=0) waiting for l2g; store stage done; tokens l2g=0 g2l=0 g2s=0 s2g=1',
    });
  });

  it('reports tokens left over and instructions that never ran when FINISH completes', () => {
    const tokens = refuse([load(MEM_TYPE.INP, { push_next: 1 }), finishInsn()]);
    expect(tokens).toEqual({ code: 'E_SIM_TOKENS', message: 'FINISH insn #1 (finish) completed with tokens left over: l2g=1 g2l=0 g2s=0 s2g=0 (every queue must end empty)' });
    const unrun = refuse([finishInsn(), uopLoad(0), store({ pop_prev: 1 })]);
    expect(unrun).toEqual({
      code: 'E_SIM_UNRUN',
      message:
        'FINISH insn #0 (finish) completed but 2 instruction(s) never ran, first: compute insn #1 (load.uop sram_base=0 dram_base=0x4000 y_size=1 x_size=0 x_stride=0), ' +
        'store insn #2 (store.out pop_prev sram_base=0 dram_base=0x0 y_size=1 x_size=0 x_stride=0)',
    });
  });

  it('stops at the work budget before running a huge loop nest, naming where each stage is', () => {
    const e = refuse([gemmInsn({ uop_bgn: 0, uop_end: 8192, iter_out: 16383, iter_in: 16383 }), finishInsn()], undefined);
    expect(e.code).toBe('E_SIM_BUDGET');
    expect(e.message).toBe(
      'work budget 1000000000 (instructions + uop-iterations) exceeded at insn #0 (gemm uop_bgn=0 uop_end=8192 iter_out=16383 iter_in=16383), which needs 2198754828289; ' +
        'load stage done; compute stage at insn #0 (gemm uop_bgn=0 uop_end=8192 iter_out=16383 iter_in=16383); store stage done',
    );
    const small = refuse([uopLoad(1), uopLoad(1), uopLoad(1), finishInsn()], undefined, { budget: 2 });
    expect(small.message).toMatch(/^work budget 2 .* exceeded at insn #2 \(load\.uop/);
  });
});

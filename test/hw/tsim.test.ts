/**
 * tsim driver behaviour beyond byte-exact results: faults end with one-line errors (deadlock with
 * stage and token state, cycle budget, SRAM range, DRAM range, a failed RTL assertion), waveforms
 * are written, counters carry cycles and per-module busy/stall figures.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import type { Driver } from '../../drivers/api.ts';
import tsim, { RTL_ASSERT_CODE, addonPath } from '../../drivers/backends/tsim.ts';
import { MEM_TYPE, NO_DEPS, OPCODE, encodeProgram, type Insn, type MemInsn } from '../../isa/index.ts';

const cfg = defaultVtaConfig();
const mem = (opcode: 0 | 1, type: number, f: Partial<MemInsn>): MemInsn => ({
  ...NO_DEPS, opcode, memory_type: type, sram_base: 0, dram_base: 0, y_size: 1, x_size: 1, x_stride: 1,
  y_pad_0: 0, y_pad_1: 0, x_pad_0: 0, x_pad_1: 0, ...f,
});
const FINISH: Insn = { ...NO_DEPS, opcode: OPCODE.FINISH };

describe.skipIf(!existsSync(addonPath(cfg)))('tsim driver', () => {
  let d: Driver;
  beforeAll(async () => {
    d = await tsim.open(cfg);
  });
  afterAll(() => d.close());

  async function run(insns: Insn[], budget?: number, trace?: string) {
    const buf = d.memAlloc(0x10000);
    try {
      d.copyFromHost(buf, encodeProgram(cfg, insns));
      return await d.run(buf.phys, insns.length, { budget, trace });
    } finally {
      d.memFree(buf);
    }
  }

  it('an instruction left behind FINISH is reported', async () => {
    const prog = [mem(OPCODE.STORE, MEM_TYPE.OUT, { x_size: 0, pop_prev: 1 }), FINISH];
    await expect(run(prog)).rejects.toThrow(/^FINISH completed but 1 instruction\(s\) never ran, first: store insn #0/);
  });

  it('a token never pushed is a deadlock naming the waiting stage and the token counts', async () => {
    const prog = [
      mem(OPCODE.STORE, MEM_TYPE.OUT, { x_size: 0, push_prev: 1 }),
      mem(OPCODE.LOAD, MEM_TYPE.UOP, { x_size: 0, pop_prev: 1, pop_next: 1 }),
      FINISH,
    ];
    await expect(run(prog)).rejects.toThrow(
      /^deadlock: no stage can progress; load stage idle .*compute stage waiting for a token at insn #1 .*tokens l2g=0 g2l=0 g2s=0 s2g=1$/,
    );
  });

  it('a cycle budget ends a long run with the stage states', async () => {
    // 200 WGT elements (50 KiB) take over 6000 bus beats: long at run time, with no uop-iterations.
    const buf = d.memAlloc(0x10000);
    const prog: Insn[] = [mem(OPCODE.LOAD, MEM_TYPE.WGT, { x_size: 200, x_stride: 200, dram_base: buf.phys / cfg.wgtElemBytes }), FINISH];
    try {
      const err = await run(prog, 2000).catch((e: unknown) => e as Error & { code: string });
      expect(err).toBeInstanceOf(Error);
      expect((err as { code: string }).code).toBe('E_SIM_BUDGET');
      expect((err as Error).message).toMatch(/cycle budget 2000 exceeded before FINISH; load stage busy at insn #0 \(load\.wgt/);
    } finally {
      d.memFree(buf);
    }
  });

  it('a loop nest with more uop-iterations than the budget has cycles is refused before clocking', async () => {
    const prog: Insn[] = [
      mem(OPCODE.LOAD, MEM_TYPE.UOP, { x_size: 1, dram_base: 0x1000 / 4 }),
      { ...NO_DEPS, opcode: OPCODE.GEMM, reset_reg: 0, uop_bgn: 0, uop_end: 1, iter_out: 1000, iter_in: 1000,
        dst_factor_out: 0, dst_factor_in: 0, src_factor_out: 0, src_factor_in: 0, wgt_factor_out: 0, wgt_factor_in: 0 },
      FINISH,
    ];
    const err = await run(prog, 5000).catch((e: unknown) => e as Error & { code: string });
    expect((err as { code: string }).code).toBe('E_SIM_BUDGET');
    expect((err as Error).message).toMatch(/^cycle budget 5000 cannot be met: the program has 1000000 GEMM\/ALU uop-iterations .* in insn #1 \(gemm/);
  });

  it('an SRAM range error names the instruction', async () => {
    const prog = [mem(OPCODE.LOAD, MEM_TYPE.INP, { sram_base: cfg.inpDepth - 1, x_size: 2, dram_base: 0x100 }), FINISH];
    await expect(run(prog)).rejects.toThrow(/^insn #0 \(load.inp .*: LOAD does not fit its SRAM/);
  });

  it('a DRAM access outside device memory names the instruction and the address', async () => {
    const prog = [mem(OPCODE.LOAD, MEM_TYPE.ACC, { x_size: 1, dram_base: 0x4000000 }), FINISH];
    await expect(run(prog)).rejects.toThrow(/^insn #0 .*DRAM read at 0x100000000 is outside allocated device memory/);
  });

  it('a failed RTL assertion ends the run with one line naming it, and the next run is clean', async () => {
    // 2^16 STOREs each post an s2g token that compute never takes: the 16-bit token counter would
    // wrap to 0 on the last one, which the semaphore asserts against (NoTokenOverflow). The run
    // stops after that clock edge, so the debug registers already show the wrapped count.
    const posts = 1 << 16;
    const prog: Insn[] = [...Array.from({ length: posts }, () => mem(OPCODE.STORE, MEM_TYPE.OUT, { x_size: 0, push_prev: 1 })), FINISH];
    const image = encodeProgram(cfg, prog);
    const buf = d.memAlloc(image.length);
    try {
      d.copyFromHost(buf, image);
      const err = await d.run(buf.phys, prog.length).catch((e: unknown) => e as Error & { code: string });
      expect(err).toBeInstanceOf(Error);
      expect((err as { code: string }).code).toBe(RTL_ASSERT_CODE);
      expect((err as Error).message).toMatch(
        /^RTL assertion NoTokenOverflow failed in vta_top\.u_s2g at cycle \d+; .*tokens l2g=0 g2l=0 g2s=0 s2g=0$/,
      );
      expect((err as Error).message).not.toContain('\n');
    } finally {
      d.memFree(buf);
    }
    const { counters } = await run([mem(OPCODE.LOAD, MEM_TYPE.INP, { x_size: 1, dram_base: 0x100 }), FINISH]);
    expect(counters.load_insns).toBe(1);
  });

  it('counters carry cycles and per-module busy figures, and --trace writes a VCD', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vta-trace-'));
    try {
      const vcd = join(dir, 'run.vcd');
      const { counters } = await run([mem(OPCODE.LOAD, MEM_TYPE.INP, { x_size: 4, dram_base: 0x100 }), FINISH], undefined, vcd);
      expect(counters.cycles).toBeGreaterThan(5);
      expect(counters.inp_load_nbytes).toBe(4 * cfg.inpElemBytes);
      expect(counters.load_busy_cycles).toBeGreaterThan(0);
      expect(counters.mem_read_beats).toBeGreaterThanOrEqual((4 * cfg.inpElemBytes) / 8);
      const text = readFileSync(vcd, 'utf8');
      expect(text).toContain('$enddefinitions');
      expect(text).toMatch(/\$scope module vta_top/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

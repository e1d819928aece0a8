/** sim/race-checker.ts: finds unordered conflicting SRAM accesses, names both instructions. */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { DEFAULT_PASSES, replacePass, type Pass } from '../../compiler/compile.ts';
import type { Synced } from '../../compiler/passes/sync.ts';
import type { Tensorized } from '../../compiler/passes/tensorize.ts';
import { runCompiled } from '../../compiler/execute.ts';
import { getDriver } from '../../drivers/registry.ts';
import { type Insn, MEM_TYPE, OPCODE, encodeProgram, encodeUop, finishInsn, gemmInsn, memInsn } from '../../isa/index.ts';
import { RaceChecker } from '../../sim/race-checker.ts';
import { compile, convGraph, randomTensor, rng } from './helpers.ts';

const cfg = defaultVtaConfig();

/** Run a hand-written program (uop 0 = {0,0,0} at DRAM) with a race checker attached. */
async function check(build: (uopBase: number, dataBase: number) => Insn[]): Promise<RaceChecker> {
  const drv = await (await getDriver('fsim')).open(cfg);
  try {
    const uops = drv.memAlloc(4096);
    const data = drv.memAlloc(1 << 16);
    const u = new Uint8Array(4);
    new DataView(u.buffer).setUint32(0, encodeUop(cfg, { dst_idx: 0, src_idx: 0, wgt_idx: 0 }), true);
    drv.copyFromHost(uops, u);
    const prog = encodeProgram(cfg, build(drv.physAddr(uops) / 4, drv.physAddr(data)));
    const code = drv.memAlloc(prog.length);
    drv.copyFromHost(code, prog);
    const rc = new RaceChecker(cfg);
    await drv.run(drv.physAddr(code), prog.length / 16, { observer: rc });
    return rc;
  } finally {
    drv.close();
  }
}

const L = OPCODE.LOAD;
const loadUop = (uopBase: number) => memInsn({ opcode: L, memory_type: MEM_TYPE.UOP, dram_base: uopBase, y_size: 1, x_size: 1, x_stride: 1 });
const loadInp = (dataBase: number, flags = {}) =>
  memInsn({ opcode: L, memory_type: MEM_TYPE.INP, dram_base: dataBase / 16, y_size: 1, x_size: 1, x_stride: 1, ...flags });
const loadWgt = (dataBase: number, flags = {}) =>
  memInsn({ opcode: L, memory_type: MEM_TYPE.WGT, dram_base: dataBase / 256, y_size: 1, x_size: 1, x_stride: 1, ...flags });
const gemm = (flags = {}) => gemmInsn({ uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: 1, ...flags });
const store = (dataBase: number, flags = {}) =>
  memInsn({ opcode: OPCODE.STORE, memory_type: MEM_TYPE.OUT, dram_base: dataBase / 16 + 64, y_size: 1, x_size: 1, x_stride: 1, ...flags });

describe('race checker', () => {
  it('accepts a correctly synchronised load -> gemm -> store chain', async () => {
    const rc = await check((u, d) => [
      loadUop(u),
      loadInp(d),
      loadWgt(d, { push_next: 1 }),
      gemm({ pop_prev: 1, push_next: 1 }),
      store(d, { pop_prev: 1, push_prev: 1 }),
      memInsn({ opcode: L, memory_type: MEM_TYPE.UOP, pop_next: 1 }),
      finishInsn(),
    ]);
    expect(rc.report()).toEqual([]);
  });

  it('flags RAW: a GEMM reading INP/WGT that no token orders after their loads', async () => {
    const rc = await check((u, d) => [
      loadUop(u),
      loadInp(d),
      loadWgt(d),
      gemm({ push_next: 1 }),
      store(d, { pop_prev: 1, push_prev: 1 }),
      memInsn({ opcode: L, memory_type: MEM_TYPE.UOP, pop_next: 1 }),
      finishInsn(),
    ]);
    const r = rc.report();
    expect(r).toHaveLength(2);
    expect(r[0]).toMatch(/^RAW race on inp\[0\]: insn 1 \(load: load\.inp .*\) and insn 3 \(compute: gemm .*\) are not ordered/);
    expect(r[1]).toMatch(/^RAW race on wgt\[0\]: insn 2 .* and insn 3 /);
  });

  it('flags WAR: a load overwriting INP that a GEMM still has to read', async () => {
    const rc = await check((u, d) => [
      loadUop(u),
      loadInp(d),
      loadWgt(d, { push_next: 1 }),
      loadInp(d), // overwrites inp[0] with no g2l token from the GEMM
      gemm({ pop_prev: 1, push_next: 1 }),
      store(d, { pop_prev: 1, push_prev: 1 }),
      memInsn({ opcode: L, memory_type: MEM_TYPE.UOP, pop_next: 1 }),
      finishInsn(),
    ]);
    // Whatever order fsim picks, load #3 and the GEMM (#4) are unordered: the GEMM's l2g token was
    // pushed by load #2, before load #3 ran.
    expect(rc.report().some((l) => /race on inp\[0\]: insn 3 .* and insn 4 \(compute: gemm/.test(l))).toBe(true);
  });

  it('flags WAR on ACC: a GEMM reset overwriting tiles a store has not been ordered before', async () => {
    const rc = await check((u, d) => [
      loadUop(u),
      loadInp(d),
      loadWgt(d, { push_next: 1 }),
      gemm({ pop_prev: 1, push_next: 1 }),
      store(d, { pop_prev: 1, push_prev: 1 }),
      gemm({ reset_reg: 1 }), // no s2g token before it: may clear acc[0] before the store reads it
      memInsn({ opcode: L, memory_type: MEM_TYPE.UOP, pop_next: 1 }),
      finishInsn(),
    ]);
    expect(rc.report().some((l) => l.startsWith('WAR race on acc[0]') || l.startsWith('RAW race on acc[0]'))).toBe(true);
  });

  it('finds the races of a compiled kernel whose tokens were removed, and none with them', async () => {
    const g = convGraph(rng(1), { n: 1, c: 16, h: 8, w: 8, o: 32, k: 3, stride: 1, pad: 1 }, { bias: true, shift: 8, clip: [0, 127] });
    const x = randomTensor(rng(2), [1, 16, 8, 8], 'int8');
    const dropTokens: Pass<Tensorized, Synced> = {
      name: 'drop-tokens',
      run: (s) => ({ ...s, kernels: s.kernels.map((k) => ({ ...k, flags: k.ops.map(() => ({ pop_prev: 0, pop_next: 0, push_prev: 0, push_next: 0 })) })) }),
    };
    const broken = compile(g, { config: cfg, passes: replacePass(DEFAULT_PASSES, 'sync', dropTokens) });
    const rc = new RaceChecker(cfg);
    // Without the final s2g token FINISH also overtakes the store, which fsim reports.
    await expect(runCompiled(broken, { x }, { observe: () => rc })).rejects.toThrow(/never ran/);
    expect(rc.report().length).toBeGreaterThan(0);
    expect(rc.report()[0]).toMatch(/RAW race on (inp|wgt)\[\d+\]: insn \d+ \(load: load\.(inp|wgt) /);

    const good = compile(g, { config: cfg });
    const rc2 = new RaceChecker(cfg);
    await runCompiled(good, { x }, { observe: () => rc2 });
    expect(rc2.report()).toEqual([]);
  });
});

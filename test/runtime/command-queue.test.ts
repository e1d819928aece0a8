/**
 * Instruction streams built by the command builder, checked field by field against spec §4.2
 * (no driver needed): DMA fields, dependency tokens and NOPs, the synchronize epilogue, loop
 * mapping, the uop cache, and the errors for misuse.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig, makeConfig } from '../../config/config.ts';
import type { DeviceBuffer } from '../../drivers/api.ts';
import { ALU_OP, type Insn, MEM_TYPE, OPCODE, aluInsn, encodeInsn, finishInsn, gemmInsn, insnFromWords, memInsn } from '../../isa/index.ts';
import { CommandQueue, RUNTIME_ERROR, STAGE_ID, type UopKernelBuilder, dumpKernel, dumpStream, placeStream, tokenCounts } from '../../runtime/index.ts';

const cfg = defaultVtaConfig();
/** The builder only reads a buffer's address and size, so plain objects stand in for device memory. */
const buffer = (phys: number, bytes: number): DeviceBuffer => ({ phys, bytes });
const { LOAD, COMPUTE, STORE } = STAGE_ID;

function expectCode(f: () => unknown, code: string, text?: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an error').toBeDefined();
  expect((err as { code?: string }).code).toBe(code);
  expect((err as Error).message).not.toContain('\n');
  if (text) expect((err as Error).message).toMatch(text);
}

const nop = (stage: number, flags: Partial<Record<'pop_prev' | 'pop_next' | 'push_prev' | 'push_next', number>>): Insn =>
  memInsn({
    opcode: stage === STORE ? OPCODE.STORE : OPCODE.LOAD,
    memory_type: stage === LOAD ? MEM_TYPE.INP : MEM_TYPE.UOP,
    ...flags,
  });

describe('2-D loads and stores', () => {
  it('loadBuffer2D fills every field, with dram_base = phys / elem_bytes + offset', () => {
    const cmd = new CommandQueue(cfg);
    cmd.loadBuffer2D(buffer(0x3000, 4096), 5, 4, 3, 16, 1, 2, 3, 4, 7, MEM_TYPE.INP);
    expect(cmd.pending()).toEqual([
      memInsn({
        opcode: OPCODE.LOAD,
        memory_type: MEM_TYPE.INP,
        sram_base: 7,
        dram_base: 0x3000 / 16 + 5,
        y_size: 3,
        x_size: 4,
        x_stride: 16,
        x_pad_0: 1,
        y_pad_0: 2,
        x_pad_1: 3,
        y_pad_1: 4,
      }),
    ]);
  });

  it('uses the element size of each memory type (WGT 256, ACC 64, ACC_8BIT 16) and stores OUT tiles of 16 bytes', () => {
    const cmd = new CommandQueue(cfg);
    const buf = buffer(0x10000, 0x10000);
    cmd.loadBuffer2D(buf, 1, 1, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.WGT);
    cmd.loadBuffer2D(buf, 2, 1, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.ACC);
    cmd.loadBuffer2D(buf, 3, 1, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.ACC_8BIT);
    cmd.storeBuffer2D(9, MEM_TYPE.OUT, buf, 4, 6, 2, 8);
    expect(cmd.pending().map((i) => (i.opcode === OPCODE.LOAD || i.opcode === OPCODE.STORE ? i.dram_base : -1))).toEqual([
      0x10000 / 256 + 1,
      0x10000 / 64 + 2,
      0x10000 / 16 + 3,
      0x10000 / 16 + 4,
    ]);
    expect(cmd.pending()[3]).toEqual(
      memInsn({ opcode: OPCODE.STORE, memory_type: MEM_TYPE.OUT, sram_base: 9, dram_base: 0x1004, y_size: 2, x_size: 6, x_stride: 8 }),
    );
  });

  it('refuses a buffer whose address is not a multiple of the element size', () => {
    const cmd = new CommandQueue(cfg);
    expectCode(() => cmd.loadBuffer2D(buffer(0x1040, 4096), 0, 1, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.WGT), RUNTIME_ERROR.ALIGN, /0x1040.*WGT.*256/);
    expectCode(() => cmd.storeBuffer2D(0, MEM_TYPE.OUT, buffer(0x1008, 4096), 0, 1, 1, 1), RUNTIME_ERROR.ALIGN);
    expect(cmd.pending()).toEqual([]);
  });

  it('refuses rows that leave the device buffer or the SRAM', () => {
    const cmd = new CommandQueue(cfg);
    // 3 rows of 4 INP tiles, stride 16: the last row ends at element 2*16+4 = 36 → 576 bytes.
    cmd.loadBuffer2D(buffer(0x1000, 576), 0, 4, 3, 16, 0, 0, 0, 0, 0, MEM_TYPE.INP);
    expectCode(() => cmd.loadBuffer2D(buffer(0x1000, 575), 0, 4, 3, 16, 0, 0, 0, 0, 0, MEM_TYPE.INP), RUNTIME_ERROR.RANGE, /575-byte/);
    expectCode(() => cmd.storeBuffer2D(0, MEM_TYPE.OUT, buffer(0x1000, 16), 1, 1, 1, 1), RUNTIME_ERROR.RANGE);
    // 2048 INP tiles fit exactly; one pad column more does not.
    cmd.loadBuffer2D(buffer(0x1000, 2048 * 16), 0, 2048, 1, 2048, 0, 0, 0, 0, 0, MEM_TYPE.INP);
    expectCode(() => cmd.loadBuffer2D(buffer(0x1000, 2048 * 16), 0, 2048, 1, 2048, 1, 0, 0, 0, 0, MEM_TYPE.INP), RUNTIME_ERROR.RANGE, /depth 2048/);
    expectCode(() => cmd.storeBuffer2D(2000, MEM_TYPE.OUT, buffer(0x1000, 1 << 20), 0, 49, 1, 49), RUNTIME_ERROR.RANGE, /OUT buffer depth/);
  });

  it('refuses memory types that cannot be loaded or stored, and fields that do not fit', () => {
    const cmd = new CommandQueue(cfg);
    const buf = buffer(0x1000, 1 << 20);
    expectCode(() => cmd.loadBuffer2D(buf, 0, 1, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.OUT), RUNTIME_ERROR.ARG, /OUT cannot be loaded/);
    expectCode(() => cmd.loadBuffer2D(buf, 0, 1, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.UOP), RUNTIME_ERROR.ARG, /pushGemm/);
    expectCode(() => cmd.storeBuffer2D(0, MEM_TYPE.ACC, buf, 0, 1, 1, 1), RUNTIME_ERROR.ARG, /only OUT/);
    expectCode(() => cmd.loadBuffer2D(buf, 0, 1, 1, 1, 16, 0, 0, 0, 0, MEM_TYPE.INP), RUNTIME_ERROR.ARG, /x_pad_before is 16/);
    expectCode(() => cmd.loadBuffer2D(buf, 0, 1.5, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.INP), RUNTIME_ERROR.ARG, /x_size/);
    expectCode(() => cmd.loadBuffer2D(buf, -1, 1, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.INP), RUNTIME_ERROR.ARG, /offset/);
  });
});

describe('dependency tokens (VTADepPush / VTADepPop)', () => {
  it('a push goes on the last instruction when it belongs to the pushing stage, and pending pops go on the next one', () => {
    const cmd = new CommandQueue(cfg);
    const buf = buffer(0x1000, 1 << 16);
    cmd.loadBuffer2D(buf, 0, 1, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.INP);
    cmd.depPush(LOAD, COMPUTE);
    cmd.depPop(LOAD, COMPUTE);
    cmd.depPop(STORE, COMPUTE);
    cmd.loadBuffer2D(buf, 0, 1, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.ACC);
    cmd.depPush(COMPUTE, STORE);
    cmd.depPush(COMPUTE, LOAD);
    cmd.depPop(COMPUTE, STORE);
    cmd.storeBuffer2D(0, MEM_TYPE.OUT, buf, 0, 1, 1, 1);
    cmd.depPush(STORE, COMPUTE);
    const [ld, acc, st, ...rest] = cmd.pending();
    expect(rest).toEqual([]);
    expect([ld!.pop_prev, ld!.pop_next, ld!.push_prev, ld!.push_next]).toEqual([0, 0, 0, 1]);
    expect([acc!.pop_prev, acc!.pop_next, acc!.push_prev, acc!.push_next]).toEqual([1, 1, 1, 1]);
    expect([st!.pop_prev, st!.pop_next, st!.push_prev, st!.push_next]).toEqual([1, 0, 1, 0]);
  });

  it('a push that cannot merge gets a NOP of its stage (also when the same push bit is already set)', () => {
    const cmd = new CommandQueue(cfg);
    cmd.depPush(LOAD, COMPUTE);
    cmd.loadBuffer2D(buffer(0x1000, 4096), 0, 1, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.WGT);
    cmd.depPush(LOAD, COMPUTE);
    cmd.depPush(LOAD, COMPUTE);
    cmd.depPush(COMPUTE, LOAD);
    cmd.depPush(STORE, COMPUTE);
    expect(cmd.pending()).toEqual([
      nop(LOAD, { push_next: 1 }),
      memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.WGT, dram_base: 0x10, y_size: 1, x_size: 1, x_stride: 1, push_next: 1 }),
      nop(LOAD, { push_next: 1 }),
      nop(COMPUTE, { push_prev: 1 }),
      nop(STORE, { push_prev: 1 }),
    ]);
    // The NOPs are the spec's encodings: a LOAD/STORE with x_size 0.
    expect(encodeInsn(cfg, nop(COMPUTE, { pop_prev: 1, pop_next: 1 }))).toEqual(insnFromWords(0x18n, 0n));
  });

  it('a second pop of the same queue commits the first one as a NOP; a push commits the pushing stage\'s pops first', () => {
    const cmd = new CommandQueue(cfg);
    cmd.depPop(LOAD, COMPUTE);
    cmd.depPop(LOAD, COMPUTE);
    cmd.depPop(COMPUTE, STORE);
    cmd.depPush(STORE, COMPUTE);
    cmd.depPop(COMPUTE, LOAD);
    cmd.depPush(LOAD, COMPUTE);
    cmd.depPush(COMPUTE, STORE);
    expect(cmd.pending()).toEqual([
      nop(COMPUTE, { pop_prev: 1 }),
      // The store NOP that carries the pending pop is a store-stage instruction: the push merges.
      nop(STORE, { pop_prev: 1, push_prev: 1 }),
      // A load or compute NOP is a LOAD with x_size 0, which belongs to no stage for merging.
      nop(LOAD, { pop_next: 1 }),
      nop(LOAD, { push_next: 1 }),
      nop(COMPUTE, { pop_prev: 1 }),
      nop(COMPUTE, { push_next: 1 }),
    ]);
  });

  it('rejects load<->store dependencies and bad stage ids with a clear error', () => {
    const cmd = new CommandQueue(cfg);
    expectCode(() => cmd.depPush(LOAD, STORE), RUNTIME_ERROR.DEP, /load and store have no token queue/);
    expectCode(() => cmd.depPop(STORE, LOAD), RUNTIME_ERROR.DEP, /load and store have no token queue/);
    expectCode(() => cmd.depPush(COMPUTE, COMPUTE), RUNTIME_ERROR.DEP, /itself/);
    expectCode(() => cmd.depPop(0, 2), RUNTIME_ERROR.DEP, /stage ids/);
    expect(cmd.pending()).toEqual([]);
  });
});

describe('synchronize epilogue (VTASynchronize)', () => {
  it('ends with store and load tokens to compute, a compute NOP popping both, and FINISH', () => {
    const cmd = new CommandQueue(cfg);
    const buf = buffer(0x2000, 4096);
    cmd.loadBuffer2D(buf, 0, 1, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.INP);
    cmd.storeBuffer2D(0, MEM_TYPE.OUT, buf, 0, 1, 1, 1);
    const sealed = cmd.seal();
    expect(sealed.insns.slice(1)).toEqual([
      memInsn({ opcode: OPCODE.STORE, memory_type: MEM_TYPE.OUT, dram_base: 0x200, y_size: 1, x_size: 1, x_stride: 1, push_prev: 1 }),
      nop(LOAD, { push_next: 1 }),
      nop(COMPUTE, { pop_prev: 1, pop_next: 1 }),
      finishInsn(),
    ]);
    expect(tokenCounts(sealed.insns)).toEqual({ l2g: 0, g2l: 0, g2s: 0, s2g: 0 });
    // Sealing starts a new stream.
    expect(cmd.pending()).toEqual([]);
    expect(cmd.seal().insns).toEqual([
      nop(STORE, { push_prev: 1 }),
      nop(LOAD, { push_next: 1 }),
      nop(COMPUTE, { pop_prev: 1, pop_next: 1 }),
      finishInsn(),
    ]);
  });

  it('commits pops left pending on the load and store stages before their final pushes', () => {
    const cmd = new CommandQueue(cfg);
    cmd.depPop(COMPUTE, LOAD);
    cmd.depPop(COMPUTE, STORE);
    expect(cmd.seal().insns).toEqual([
      nop(STORE, { pop_prev: 1, push_prev: 1 }),
      nop(LOAD, { pop_next: 1 }),
      nop(LOAD, { push_next: 1 }),
      nop(COMPUTE, { pop_prev: 1, pop_next: 1 }),
      finishInsn(),
    ]);
  });
});

describe('micro-op kernels', () => {
  it('GEMM: loop[0] is the outer loop, loop[1] the inner one; a LOAD UOP precedes the first use', () => {
    const cmd = new CommandQueue(cfg);
    const k = cmd.uopKernel('gemm', (b) => {
      b.uopLoopBegin(4, 4, 1, 0);
      b.uopLoopBegin(3, 1, 0, 1);
      b.uopPush(0, 0, 0);
      b.uopPush(1, 4, 8);
      b.uopLoopEnd();
      b.uopLoopEnd();
    });
    cmd.depPop(LOAD, COMPUTE);
    cmd.pushGemm(k);
    const [load, gemm] = cmd.pending();
    expect(load).toEqual(
      memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.UOP, pop_prev: 1, sram_base: 0, dram_base: 0, y_size: 1, x_size: 2, x_stride: 2 }),
    );
    expect(gemm).toEqual(
      gemmInsn({ uop_bgn: 0, uop_end: 2, iter_out: 4, iter_in: 3, dst_factor_out: 4, src_factor_out: 1, dst_factor_in: 1, wgt_factor_in: 1 }),
    );
    // One loop: it is the OUTER loop for GEMM; a missing loop has extent 1 and zero factors.
    const one = cmd.uopKernel('gemm-one-loop', (b) => {
      b.uopLoopBegin(5, 2, 3, 4);
      b.uopPush(0, 0, 0);
      b.uopLoopEnd();
    }, { reset: true });
    cmd.pushGemm(one);
    expect(cmd.pending()[3]).toEqual(
      gemmInsn({ reset_reg: 1, uop_bgn: 2, uop_end: 3, iter_out: 5, dst_factor_out: 2, src_factor_out: 3, wgt_factor_out: 4, iter_in: 1 }),
    );
  });

  it('ALU: a single loop is the INNER loop; two loops are outer then inner; no loop is 1x1', () => {
    const cmd = new CommandQueue(cfg);
    const single = cmd.uopKernel('alu-1', (b) => {
      b.uopLoopBegin(8, 1, 1);
      b.uopPush(1, 1);
      b.uopLoopEnd();
    });
    cmd.pushAlu(single, ALU_OP.SHR, true, -3);
    const double = cmd.uopKernel('alu-2', (b) => {
      b.uopLoopBegin(2, 16, 16);
      b.uopLoopBegin(8, 1, 1);
      b.uopPush(0, 64);
      b.uopLoopEnd();
      b.uopLoopEnd();
    });
    cmd.pushAlu(double, ALU_OP.ADD, false);
    const none = cmd.uopKernel('alu-0', (b) => b.uopPush(5, 5));
    cmd.pushAlu(none, ALU_OP.MUL, 1, 7);
    const insns = cmd.pending();
    expect(insns.map((i) => i.opcode)).toEqual([OPCODE.LOAD, OPCODE.ALU, OPCODE.LOAD, OPCODE.ALU, OPCODE.LOAD, OPCODE.ALU]);
    // Spec §2.7's worked ALU vector is exactly this instruction (uop range [1,2) there; here [0,1)).
    expect(insns[1]).toEqual(
      aluInsn({ alu_opcode: ALU_OP.SHR, use_imm: 1, imm: -3, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: 8, dst_factor_in: 1, src_factor_in: 1 }),
    );
    expect(insns[3]).toEqual(
      aluInsn({
        alu_opcode: ALU_OP.ADD,
        uop_bgn: 1,
        uop_end: 2,
        iter_out: 2,
        dst_factor_out: 16,
        src_factor_out: 16,
        iter_in: 8,
        dst_factor_in: 1,
        src_factor_in: 1,
      }),
    );
    expect(insns[5]).toEqual(aluInsn({ alu_opcode: ALU_OP.MUL, use_imm: 1, imm: 7, uop_bgn: 2, uop_end: 3, iter_out: 1, iter_in: 1 }));
  });

  it('a kernel is built once per key and its uops are loaded once while resident', () => {
    const cmd = new CommandQueue(cfg);
    let builds = 0;
    const make = () =>
      cmd.uopKernel('k', (b) => {
        builds++;
        b.uopPush(0, 0);
        b.uopPush(1, 1);
      });
    cmd.pushAlu(make(), ALU_OP.ADD, true, 1);
    cmd.pushAlu(make(), ALU_OP.ADD, true, 2);
    expect(builds).toBe(1);
    expect(cmd.pending().map((i) => i.opcode)).toEqual([OPCODE.LOAD, OPCODE.ALU, OPCODE.ALU]);
    // A new stream starts with an empty uop SRAM: the kernel is reloaded, but not rebuilt.
    cmd.seal();
    cmd.pushAlu(make(), ALU_OP.ADD, true, 3);
    expect(builds).toBe(1);
    expect(cmd.pending().map((i) => i.opcode)).toEqual([OPCODE.LOAD, OPCODE.ALU]);
  });

  it('places kernels at [end, end+n), wraps to 0 past the uop depth, and reloads overwritten kernels', () => {
    // LOG_UOP_BUFF_SIZE 10: a 256-entry uop buffer.
    const small = makeConfig({ ...defaultVtaConfig().json, LOG_UOP_BUFF_SIZE: 10 });
    expect(small.uopDepth).toBe(256);
    const cmd = new CommandQueue(small);
    const kernel = (key: string, n: number, base: number) =>
      cmd.uopKernel(key, (b) => {
        for (let i = 0; i < n; i++) b.uopPush(base + i, base + i);
      });
    const a = kernel('a', 100, 0);
    const b = kernel('b', 100, 100);
    const c = kernel('c', 100, 200);
    for (const k of [a, b, c, b, a, c]) cmd.pushAlu(k, ALU_OP.ADD, true, 1);
    const loads = cmd.pending().filter((i) => i.opcode === OPCODE.LOAD);
    const alus = cmd.pending().filter((i) => i.opcode === OPCODE.ALU);
    // a [0,100), b [100,200), c wraps to [0,100) evicting a; b still resident; a goes to
    // [100,200) evicting b; c is still at [0,100).
    expect(loads.map((l) => (l.opcode === OPCODE.LOAD ? [l.sram_base, l.x_size, l.dram_base] : []))).toEqual([
      [0, 100, 0],
      [100, 100, 100],
      [0, 100, 200],
      [100, 100, 300],
    ]);
    expect(alus.map((i) => (i.opcode === OPCODE.ALU ? [i.uop_bgn, i.uop_end] : []))).toEqual([
      [0, 100],
      [100, 200],
      [0, 100],
      [100, 200],
      [100, 200],
      [0, 100],
    ]);
    // The image holds each load's uops where its LOAD UOP points.
    const sealed = cmd.seal();
    expect(sealed.uopImage.length).toBe(400);
    expect(Array.from(sealed.uopImage.subarray(300, 400))).toEqual(Array.from(a.words));
    const placed = placeStream(small, sealed, 0x8000);
    const firstLoad = placed[sealed.uopLoadIndices[3]!]!;
    expect(firstLoad.opcode === OPCODE.LOAD && firstLoad.dram_base).toBe(0x8000 / 4 + 300);
  });

  it('VerifyDep: a uop may not write the dst of either of the two uops before it', () => {
    const cmd = new CommandQueue(cfg);
    expectCode(() => cmd.uopKernel('same', (b) => { b.uopPush(3, 0); b.uopPush(3, 1); }), RUNTIME_ERROR.UOP_DEP, /dst 3/);
    expectCode(() => cmd.uopKernel('two-back', (b) => { b.uopPush(3, 0); b.uopPush(4, 1); b.uopPush(3, 2); }), RUNTIME_ERROR.UOP_DEP, /uop #0/);
    const ok = cmd.uopKernel('three-back', (b) => { b.uopPush(3, 0); b.uopPush(4, 1); b.uopPush(5, 2); b.uopPush(3, 3); });
    expect(ok.uops.map((u) => u.dst_idx)).toEqual([3, 4, 5, 3]);
    // A failed build caches nothing: the key can be built again.
    expect(cmd.uopKernel('same', (b) => b.uopPush(3, 0)).uops.length).toBe(1);
  });

  it('refuses malformed kernels and kernels that reach past a buffer', () => {
    const cmd = new CommandQueue(cfg);
    expectCode(() => cmd.uopKernel('late-loop', (b) => { b.uopPush(0, 0); b.uopLoopBegin(2, 1, 1); }), RUNTIME_ERROR.KERNEL, /loops must come first/);
    const threeLoops = (b: UopKernelBuilder) => {
      for (let i = 0; i < 3; i++) b.uopLoopBegin(2, 1, 1);
    };
    expectCode(() => cmd.uopKernel('three', threeLoops), RUNTIME_ERROR.KERNEL, /at most 2/);
    expectCode(() => cmd.uopKernel('open', (b) => { b.uopLoopBegin(2, 1, 1); b.uopPush(0, 0); }), RUNTIME_ERROR.KERNEL, /without uopLoopEnd/);
    expectCode(() => cmd.uopKernel('empty', () => {}), RUNTIME_ERROR.KERNEL, /no micro-ops/);
    expectCode(() => cmd.uopKernel('zero', (b) => b.uopLoopBegin(0, 1, 1)), RUNTIME_ERROR.ARG, /extent/);
    expectCode(() => cmd.uopKernel('wide', (b) => b.uopPush(2048, 0)), RUNTIME_ERROR.ARG, /dst_idx/);
    const far = cmd.uopKernel('far', (b) => { b.uopLoopBegin(2, 0, 1200); b.uopPush(0, 900, 0); b.uopLoopEnd(); });
    expectCode(() => cmd.pushGemm(far), RUNTIME_ERROR.RANGE, /src index reaches 2100, past the INP buffer depth 2048/);
    const wgt = cmd.uopKernel('wgt', (b) => b.uopPush(0, 0, 1));
    expectCode(() => cmd.pushAlu(wgt, ALU_OP.ADD, false), RUNTIME_ERROR.KERNEL, /wgt index 0/);
    const reset = cmd.uopKernel('reset', (b) => b.uopPush(0, 0), { reset: true });
    expectCode(() => cmd.pushAlu(reset, ALU_OP.ADD, false), RUNTIME_ERROR.KERNEL, /reset/);
    const plain = cmd.uopKernel('plain', (b) => b.uopPush(0, 0));
    expectCode(() => cmd.pushAlu(plain, 5, false), RUNTIME_ERROR.ARG, /ALU opcode 5/);
    expectCode(() => cmd.pushAlu(plain, ALU_OP.ADD, true, 40000), RUNTIME_ERROR.ARG, /imm/);
    // A factor that passes the builder but not the GEMM field (wgt factors have 10 bits).
    const wideFactor = cmd.uopKernel('wide-factor', (b) => { b.uopLoopBegin(1, 0, 0, 1500); b.uopPush(0, 0, 0); b.uopLoopEnd(); });
    expectCode(() => cmd.pushGemm(wideFactor), RUNTIME_ERROR.ARG, /wgt_factor_out = 1500 does not fit in 10 bits/);
    // Nothing was emitted by any refused call, and no refused kernel was placed in the uop SRAM.
    expect(cmd.pending()).toEqual([]);
    expect(cmd.seal().uopImage.length).toBe(0);
  });

  it('refuses a kernel built for another configuration', () => {
    const other = new CommandQueue(loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname));
    const k = other.uopKernel('k', (b) => b.uopPush(0, 0));
    expectCode(() => new CommandQueue(cfg).pushAlu(k, ALU_OP.ADD, false), RUNTIME_ERROR.KERNEL, /another configuration/);
  });
});

describe('dump', () => {
  it('prints one line per instruction with its stage and running token counts', () => {
    const cmd = new CommandQueue(cfg);
    const buf = buffer(0x1000, 4096);
    cmd.loadBuffer2D(buf, 0, 1, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.INP);
    cmd.depPush(LOAD, COMPUTE);
    cmd.depPop(LOAD, COMPUTE);
    cmd.pushGemm(cmd.uopKernel('g', (b) => b.uopPush(0, 0, 0)));
    const lines = cmd.dump();
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^0 load +load\.inp push_next .*\| l2g=1 g2l=0 g2s=0 s2g=0$/);
    expect(lines[1]).toMatch(/^1 compute +load\.uop pop_prev .*\| l2g=0 g2l=0 g2s=0 s2g=0$/);
    expect(lines[2]).toMatch(/^2 compute +gemm uop_bgn=0 uop_end=1 iter_out=1 iter_in=1 +\| l2g=0/);
    expect(lines[3]).toBe('3 instructions; every token queue ends empty');
    const sealed = dumpStream(cfg, cmd.seal().insns);
    expect(sealed.at(-3)).toMatch(/compute +nop pop_prev pop_next +\| l2g=0 g2l=0 g2s=0 s2g=0$/);
    expect(sealed.at(-2)).toMatch(/compute +finish/);
    expect(dumpStream(cfg, [nop(LOAD, { push_next: 1 })]).at(-1)).toBe('1 instructions; queues not empty at the end: l2g=1');
  });

  it('prints a kernel\'s loops and micro-ops', () => {
    const k = new CommandQueue(cfg).uopKernel('r', (b) => { b.uopLoopBegin(4, 16, 1, 0); b.uopPush(2, 0, 0); b.uopLoopEnd(); }, { reset: true });
    expect(dumpKernel(k)).toEqual([
      "kernel 'r' reset: 1 uop(s), 1 loop(s)",
      '  loop 0: extent=4 dst_factor=16 src_factor=1 wgt_factor=0',
      '  0: uop dst_idx=2 src_idx=0 wgt_idx=0',
    ]);
  });
});

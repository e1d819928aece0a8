/**
 * The `timing` driver without tsim: it is registered as a clocked driver with a DRAM model and a
 * timeline; it gives fsim's bytes, counters and errors; and its cycles follow the structure of the
 * RTL it models (one uop-iteration per cycle, DRAM latency and outstanding bursts, beats of the bus
 * width, well-formed spans). The comparison with tsim itself is test/hw/timing-tsim.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import type { Driver } from '../../drivers/api.ts';
import fsim from '../../drivers/backends/fsim.ts';
import timing from '../../drivers/backends/timing.ts';
import { getDriver } from '../../drivers/registry.ts';
import { memoryModel, memoryOpenOptions, type MemoryModel } from '../../drivers/memory-model.ts';
import { MEM_TYPE, OPCODE, encodeProgram, encodeUop, finishInsn, gemmInsn, memInsn, type Insn } from '../../isa/index.ts';
import { randomBytes } from '../../lib/random.ts';
import { randomProgram } from '../hw/random-program.ts';

const cfg = defaultVtaConfig();

/** Run `insns` on a fresh device of `driver` with random INP/WGT data and 16 uops; counters and spans. */
async function runProgram(open: () => Promise<Driver>, insns: (mem: { inp: number; wgt: number; uop: number }) => Insn[], timeline = false) {
  const d = await open();
  try {
    const inp = d.memAlloc(cfg.inpDepth * cfg.inpElemBytes);
    const wgt = d.memAlloc(64 * cfg.wgtElemBytes);
    const uop = d.memAlloc(16 * 4);
    d.copyFromHost(inp, randomBytes(inp.bytes, 1));
    d.copyFromHost(wgt, randomBytes(wgt.bytes, 2));
    d.copyFromHost(uop, new Uint8Array(Uint32Array.from({ length: 16 }, (_, k) => encodeUop(cfg, { dst_idx: k, src_idx: 0, wgt_idx: k })).buffer));
    const program = encodeProgram(cfg, insns({ inp: inp.phys / cfg.inpElemBytes, wgt: wgt.phys / cfg.wgtElemBytes, uop: uop.phys / 4 }));
    const code = d.memAlloc(program.length);
    d.copyFromHost(code, program);
    return await d.run(code.phys, program.length / 16, { timeline });
  } finally {
    d.close();
  }
}

const onTiming = (memory?: MemoryModel) => () => timing.open(cfg, memory ? { memory } : {});
const uopLoad = (m: { uop: number }) => memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.UOP, dram_base: m.uop, y_size: 1, x_size: 16, x_stride: 16 });
const gemm = (iterOut: number) => gemmInsn({ uop_bgn: 0, uop_end: 16, iter_out: iterOut, iter_in: 1, dst_factor_out: 0, src_factor_out: 1 });
const wgtLoad = (m: { wgt: number }, tiles: number) =>
  memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.WGT, dram_base: m.wgt, y_size: 1, x_size: tiles, x_stride: tiles });

describe('timing driver', () => {
  it('is registered as a clocked driver with a DRAM model and a timeline, and takes --memory', async () => {
    const info = await getDriver('timing');
    expect(info).toBe(timing);
    expect([info.clocked, info.modelsMemory, info.timeline, info.unavailable?.()]).toEqual([true, true, true, undefined]);
    expect(memoryOpenOptions(info, memoryModel('pynq')).memory?.name).toBe('pynq');
  });

  it("gives fsim's bytes and counters on random programs, and reports cycles", async () => {
    for (let seed = 300; seed < 306; seed++) {
      const p = randomProgram(cfg, seed);
      const results = [];
      for (const d of [await fsim.open(cfg), await timing.open(cfg)]) {
        const buf = d.memAllocAt(p.base, p.image.length);
        d.copyFromHost(buf, p.image);
        const { counters } = await d.run(p.insnAddr, p.insnCount);
        const out = new Uint8Array(p.out.bytes);
        d.copyToHost(out, buf, p.out.addr - p.base);
        results.push({ counters, out });
        d.close();
      }
      const [f, t] = results;
      expect(t!.out, `seed ${seed}`).toEqual(f!.out);
      for (const [k, v] of Object.entries(f!.counters)) expect(t!.counters[k], `seed ${seed} ${k}`).toBe(v);
      expect(t!.counters.cycles!).toBeGreaterThan(0);
    }
  });

  it("refuses what fsim refuses, with fsim's error", async () => {
    // A GEMM that pops a token nobody pushes: a deadlock.
    const bad = (m: { uop: number }) => [uopLoad(m), gemmInsn({ ...gemm(1), pop_prev: 1 }), finishInsn()];
    const want = await runProgram(() => fsim.open(cfg), bad).catch((e: Error) => e.message);
    const got = await runProgram(onTiming(), bad).catch((e: Error) => e.message);
    expect(want).toMatch(/deadlock/);
    expect(got).toBe(want);
  });

  it('a GEMM loop nest issues one uop-iteration per cycle', async () => {
    const cycles = async (iterOut: number) => (await runProgram(onTiming(), (m) => [uopLoad(m), gemm(iterOut), finishInsn()])).counters;
    const small = await cycles(10);
    const large = await cycles(110);
    expect(large.cycles! - small.cycles!).toBe(100 * 16);
    expect(large.gemm_busy_cycles! - small.gemm_busy_cycles!).toBe(100 * 16);
  });

  it('DRAM latency and fewer bursts in flight cost cycles; a 128-bit bus halves the beats', async () => {
    const load = (m: { wgt: number }) => [wgtLoad(m, 32), finishInsn()];
    const at = async (memory: MemoryModel) => (await runProgram(onTiming(memory), load)).counters;
    const ideal = await at(memoryModel('ideal'));
    const slow = await at(memoryModel('ideal', { readLatency: 40 }));
    const serial = await at(memoryModel('ideal', { readLatency: 40, outstanding: 1 }));
    const wide = await at(memoryModel('ideal', { busBits: 128 }));
    expect(slow.cycles!).toBeGreaterThan(ideal.cycles!);
    expect(serial.cycles!).toBeGreaterThan(slow.cycles!);
    expect(serial.load_mem_wait_cycles!).toBeGreaterThan(slow.load_mem_wait_cycles!);
    // 32 WGT tiles plus the two instructions: 64-bit beats, then 128-bit ones.
    expect(ideal.mem_read_beats).toBe((32 * cfg.wgtElemBytes + 2 * 16) / 8);
    expect(wide.mem_read_beats).toBe((32 * cfg.wgtElemBytes + 2 * 16) / 16);
    expect(wide.cycles!).toBeLessThan(ideal.cycles!);
  });

  it('records one span per instruction per stage, the FINISH ending at the cycle count', async () => {
    const r = await runProgram(onTiming(), (m) => [uopLoad(m), wgtLoad(m, 4), gemm(4), finishInsn()], true);
    const spans = r.spans!;
    expect(spans.filter((s) => s.stage === 'fetch').map((s) => s.insn)).toEqual([0, 1, 2, 3]);
    expect(spans.filter((s) => s.stage === 'load').map((s) => s.insn)).toEqual([1]);
    expect(spans.filter((s) => s.stage === 'compute').map((s) => s.insn)).toEqual([0, 2, 3]);
    for (const s of spans) expect(s.end).toBeGreaterThan(s.start);
    expect(spans.find((s) => s.stage === 'compute' && s.insn === 3)!.end).toBe(r.counters.cycles);
    const gemmSpan = spans.find((s) => s.stage === 'compute' && s.insn === 2)!;
    expect(gemmSpan.end - gemmSpan.start).toBe(4 * 16 + 5);
  });
});


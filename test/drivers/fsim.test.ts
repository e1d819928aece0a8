/** The fsim driver through the Driver API: memory handling, runs, errors, registry entry. */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { getDriver } from '../../drivers/registry.ts';
import { ALU_OP, MEM_TYPE, OPCODE, aluInsn, encodeProgram, encodeUop, finishInsn, memInsn } from '../../isa/index.ts';

const cfg = defaultVtaConfig();

describe('fsim driver', () => {
  it('is registered, unclocked and available', async () => {
    const info = await getDriver('fsim');
    expect(info.clocked).toBe(false);
    expect(info.unavailable?.()).toBeUndefined();
  });

  it('allocates page-aligned buffers, copies both ways and runs a program on them', async () => {
    const d = await (await getDriver('fsim')).open(cfg);
    const insns = d.memAlloc(5 * 16);
    const uops = d.memAlloc(4);
    const data = d.memAlloc(64);
    const out = d.memAlloc(16);
    expect(insns.phys % 4096).toBe(0);
    expect(insns.phys).toBeGreaterThan(0);
    expect(d.physAddr(data, 8)).toBe(data.phys + 8);
    d.copyFromHost(data, new Uint8Array(Int32Array.from({ length: 16 }, (_, i) => 1000 + i).buffer));
    d.copyFromHost(uops, new Uint8Array(Uint32Array.of(encodeUop(cfg, { dst_idx: 0, src_idx: 0, wgt_idx: 0 })).buffer));
    const prog = encodeProgram(cfg, [
      memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.ACC, dram_base: data.phys / 64, y_size: 1, x_size: 1, x_stride: 1 }),
      memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.UOP, dram_base: uops.phys / 4, y_size: 1, x_size: 1, x_stride: 1 }),
      aluInsn({ alu_opcode: ALU_OP.SHR, use_imm: 1, imm: 2, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: 1, push_next: 1 }),
      memInsn({ opcode: OPCODE.STORE, memory_type: MEM_TYPE.OUT, dram_base: out.phys / 16, y_size: 1, x_size: 1, x_stride: 1, pop_prev: 1, push_prev: 1 }),
      finishInsn({ pop_next: 1 }),
    ]);
    d.copyFromHost(insns, prog);
    const { counters } = await d.run(insns.phys, 5);
    const got = new Uint8Array(16);
    d.copyToHost(got, out);
    expect(Array.from(got)).toEqual(Array.from({ length: 16 }, (_, i) => ((1000 + i) >> 2) & 0xff));
    expect(counters.alu_counter).toBe(1);
    expect(counters.cycles).toBeUndefined();
    d.close();
  });

  it('refuses out-of-buffer copies, foreign or freed buffers, bad programs and use after close', async () => {
    const d = await (await getDriver('fsim')).open(cfg);
    const a = d.memAlloc(100);
    expect(() => d.copyFromHost(a, new Uint8Array(10), 95)).toThrow('copyFromHost: [95, 105) is outside the 100-byte buffer at 0x1000');
    expect(() => d.copyToHost(new Uint8Array(101), a)).toThrow(/copyToHost: \[0, 101\) is outside/);
    d.memFree(a);
    expect(() => d.physAddr(a)).toThrow('physAddr: buffer at 0x1000 is not a live fsim allocation');
    const b = d.memAlloc(32);
    d.copyFromHost(b, encodeProgram(cfg, [finishInsn({ pop_prev: 1 })]));
    await expect(d.run(b.phys, 1)).rejects.toMatchObject({ code: 'E_SIM_DEADLOCK' });
    await expect(d.run(b.phys, 0)).rejects.toMatchObject({ code: 'E_SIM_RUN' });
    d.close();
    expect(() => d.memAlloc(10)).toThrow('fsim device is closed');
    await expect(d.run(b.phys, 1)).rejects.toThrow('fsim device is closed');
  });

  it('places buffers exactly with memAllocAt, at unaligned addresses too', async () => {
    const d = await (await getDriver('fsim')).open(cfg);
    const buf = d.memAllocAt(0x2345, 100);
    expect(buf.phys).toBe(0x2345);
    d.copyFromHost(buf, encodeProgram(cfg, [finishInsn()]));
    const { counters } = await d.run(0x2345, 1);
    expect(counters.compute_insns).toBe(1);
    expect(() => d.memAllocAt(0x2400, 10)).toThrow(/overlaps/);
    d.memFree(buf);
    d.memAllocAt(0x2400, 10);
    d.close();
  });
});

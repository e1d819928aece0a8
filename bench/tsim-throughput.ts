/**
 * tsim figures for `make bench`: simulated cycles per second of the Verilated RTL, and GEMM
 * utilisation on a large GEMM (cycles against MACs / (BATCH * BLOCK_IN * BLOCK_OUT), the number
 * of cycles at one uop-iteration per cycle).
 */
import { medianSeconds } from './measure.ts';
import { defaultVtaConfig } from '../config/config.ts';
import tsim from '../drivers/backends/tsim.ts';
import { MEM_TYPE, NO_DEPS, OPCODE, encodeProgram, encodeUop, type Insn, type MemInsn } from '../isa/index.ts';
import { VtaError } from '../lib/errors.ts';

const mem = (type: number, f: Partial<MemInsn>): MemInsn => ({
  ...NO_DEPS, opcode: OPCODE.LOAD, memory_type: type, sram_base: 0, dram_base: 0, y_size: 1, x_size: 1, x_stride: 1,
  y_pad_0: 0, y_pad_1: 0, x_pad_0: 0, x_pad_1: 0, ...f,
});

export async function runTsimBench(): Promise<Record<string, number>> {
  const cfg = defaultVtaConfig();
  const why = tsim.unavailable?.();
  if (why) throw new VtaError('E_DRIVER', `tsim bench: ${why}`);
  const d = await tsim.open(cfg);
  try {
    const UOPS = 16;
    const ITER_OUT = 128;
    const ITER_IN = 64;
    const buf = d.memAlloc(0x40000);
    const uopBase = buf.phys + 0x1000;
    const uops = new Uint8Array(UOPS * 4);
    const view = new DataView(uops.buffer);
    for (let k = 0; k < UOPS; k++) view.setUint32(4 * k, encodeUop(cfg, { dst_idx: k, src_idx: k, wgt_idx: k }), true);
    const prog: Insn[] = [
      mem(MEM_TYPE.UOP, { dram_base: uopBase / 4, x_size: UOPS, x_stride: UOPS }),
      { ...NO_DEPS, opcode: OPCODE.GEMM, reset_reg: 0, uop_bgn: 0, uop_end: UOPS, iter_out: ITER_OUT, iter_in: ITER_IN,
        dst_factor_out: 16, dst_factor_in: 0, src_factor_out: 0, src_factor_in: 16, wgt_factor_out: 0, wgt_factor_in: 0 },
      { ...NO_DEPS, opcode: OPCODE.FINISH },
    ];
    d.copyFromHost(buf, encodeProgram(cfg, prog));
    d.copyFromHost(buf, uops, 0x1000);
    const iterations = UOPS * ITER_OUT * ITER_IN;
    const { counters } = await d.run(buf.phys, prog.length);
    const seconds = await medianSeconds(() => d.run(buf.phys, prog.length), { samples: 5, minSampleSeconds: 0 });
    const cycles = counters.cycles ?? 0;
    d.memFree(buf);
    return {
      gemm_iterations: iterations,
      gemm_macs: iterations * cfg.macsPerUop,
      gemm_cycles: cycles,
      gemm_cycles_per_iteration: cycles / iterations,
      gemm_utilisation: iterations / cycles,
      simulated_cycles_per_second: cycles / seconds,
    };
  } finally {
    d.close();
  }
}

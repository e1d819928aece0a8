/**
 * Run reports for the profile page's tests: built by api/report.ts from counters of a kind a
 * clocked driver returns, so the page is tested on the shape `vta run --report` writes.
 */
import { buildReport } from '../../api/report.ts';
import type { KernelReport } from '../../api/run.ts';
import { defaultVtaConfig } from '../../config/config.ts';
import { IDEAL_MEMORY } from '../../drivers/memory-model.ts';
import { zeroCounters, type Counters } from '../../sim/api.ts';
import type { ProfileReport } from '../../viz/profile.ts';

/** A kernel whose counters say: `gemm` GEMM and `alu` ALU uop-iterations in `cycles`, `bytes` moved. */
export function kernel(name: string, cycles: number | undefined, gemm: number, alu: number, bytes: number): KernelReport {
  const c: Counters = { ...zeroCounters(), gemm_counter: gemm, alu_counter: alu, inp_load_nbytes: bytes / 2, wgt_load_nbytes: bytes / 4, out_store_nbytes: bytes / 4 };
  if (cycles !== undefined) {
    Object.assign(c, { cycles, compute_busy_cycles: gemm + alu, compute_stall_cycles: 7, compute_mem_wait_cycles: 3, compute_insn_wait_cycles: 2, load_stall_cycles: 11 });
  }
  return { name, nodes: [name], insnCount: 10, uopCount: 4, dramBytes: bytes, minDramBytes: bytes / 2, counters: c };
}

export const KERNELS = [kernel('conv<1>', 4000, 3000, 200, 8000), kernel('add & relu', 1200, 0, 900, 6000), kernel('fc', 5000, 100, 10, 30000)];

export function clockedReport(kernels = KERNELS): ProfileReport {
  return buildReport({ driver: 'tsim', config: defaultVtaConfig(), memory: IDEAL_MEMORY, batches: 1, kernels });
}

export function unclockedReport(): ProfileReport {
  const kernels = KERNELS.map((k) => kernel(k.name, undefined, k.counters!.gemm_counter, k.counters!.alu_counter, k.dramBytes));
  return buildReport({ driver: 'fsim', config: defaultVtaConfig(), memory: undefined, batches: 1, kernels });
}

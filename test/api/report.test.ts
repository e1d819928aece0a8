/**
 * The run report (api/report.ts): figures derived from the counters (utilisation per cycle, MACs,
 * DRAM bytes against the minimum, stalls by cause), totals as the sum of the kernels, and on a
 * driver without a clock a report that says cycles are unavailable instead of inventing them.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelInputs, openModel, reportOfRun, runModel } from '../../api/index.ts';
import { defaultVtaConfig } from '../../config/config.ts';
import { clockedReport, KERNELS } from '../viz/profile-fixtures.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const cfg = defaultVtaConfig();

describe('run report', () => {
  it('on fsim: counters it can have, no cycles, and a note saying so', async () => {
    const model = openModel(join(ROOT, 'models', 'cnn.onnx'));
    const run = await runModel(model, await modelInputs(model));
    const report = reportOfRun(model, run);
    expect(report.format).toBe('vta-report/1');
    expect(report.driver).toBe('fsim');
    expect(report.config.bitstream).toBe(cfg.bitstream);
    expect(report.memory.name).toBe('none');
    expect(report.note).toMatch(/cycles.*unavailable/);
    expect(report.peak.bytesPerCycle).toBeUndefined();
    expect(report.kernels.map((k) => k.name)).toEqual(model.compiled.kernels.map((k) => k.name));
    for (const [i, k] of report.kernels.entries()) {
      const c = run.kernels[i]!.counters!;
      expect(k.cycles).toBeUndefined();
      expect(k.stalls).toBeUndefined();
      expect(k.macs).toBe(c.gemm_counter * cfg.batch * cfg.blockIn * cfg.blockOut);
      expect(k.dram.moved).toBe(c.uop_load_nbytes + c.inp_load_nbytes + c.wgt_load_nbytes + c.acc_load_nbytes + c.acc8_load_nbytes + c.out_store_nbytes);
      expect(k.dram.minimum).toBe(model.compiled.kernels[i]!.minDramBytes);
    }
    expect(report.total!.macs).toBe(report.kernels.reduce((a, k) => a + k.macs, 0));
    expect(report.total!.dram.moved).toBe(report.kernels.reduce((a, k) => a + k.dram.moved, 0));
  });

  it('on a clocked driver: utilisation per cycle, stalls by cause, the memory model and the peaks', () => {
    const report = clockedReport();
    expect(report.memory.description).toBe('ideal (read latency 1, no limit on outstanding reads, 64-bit bus, write latency 1)');
    expect(report.peak).toEqual({ macsPerCycle: cfg.batch * cfg.blockIn * cfg.blockOut, bytesPerCycle: 8 });
    for (const [i, k] of report.kernels.entries()) {
      const c = KERNELS[i]!.counters!;
      expect(k.gemmUtilisation).toBe(c.gemm_counter / c.cycles!);
      expect(k.aluUtilisation).toBe(c.alu_counter / c.cycles!);
      expect(k.macsPerCycle).toBe((c.gemm_counter * cfg.macsPerUop) / c.cycles!);
      expect(k.stalls!.compute).toEqual({ token: c.compute_stall_cycles, memory: c.compute_mem_wait_cycles, fetch: c.compute_insn_wait_cycles });
      expect(k.stalls!.load.token).toBe(c.load_stall_cycles);
      expect(k.dram.overMinimum).toBe(k.dram.moved / k.dram.minimum);
    }
    const cycles = KERNELS.reduce((a, k) => a + k.counters!.cycles!, 0);
    expect(report.total!.cycles).toBe(cycles);
    expect(report.total!.gemmUtilisation).toBe(KERNELS.reduce((a, k) => a + k.counters!.gemm_counter, 0) / cycles);
  });
});

/**
 * The run report (`vta run --report FILE.json`): per kernel and in total, the cycles, GEMM and ALU
 * utilisation, DRAM bytes moved against the minimum, and on clocked drivers the stall cycles of
 * each stage by cause, from the counters the driver returned. docs/profiling.md lists the fields.
 */
import type { VtaConfig } from '../config/config.ts';
import { describeMemory, type MemoryModel } from '../drivers/memory-model.ts';
import type { Counters } from '../sim/api.ts';
import type { KernelProfile, ProfileReport, StageStalls } from '../viz/profile.ts';
import type { Model } from './open.ts';
import { addCounters, type KernelReport, type RunReport } from './run.ts';

export const REPORT_FORMAT = 'vta-report/1';

/** What an unclocked driver's report says instead of a memory model. */
const NO_CLOCK_MEMORY: ProfileReport['memory'] = {
  name: 'none',
  description: 'no DRAM timing: the driver has no clock',
  readLatency: 0,
  busBytes: 0,
  bytesPerCycle: 0,
};
const NO_CLOCK_NOTE = 'cycles, utilisation and stalls are unavailable: this driver does not count cycles';

/** The DRAM model as the report states it: one beat of the bus per cycle at most. */
function reportedMemory(m: MemoryModel): ProfileReport['memory'] {
  return { name: m.name, description: describeMemory(m), readLatency: m.readLatency, busBytes: m.busBytes, bytesPerCycle: m.busBytes };
}

const LOADED = ['uop_load_nbytes', 'inp_load_nbytes', 'wgt_load_nbytes', 'acc_load_nbytes', 'acc8_load_nbytes'] as const;

/** Bytes the kernel's loads and stores moved (instruction fetch aside). */
function movedBytes(c: Counters): number {
  return LOADED.reduce((a, k) => a + c[k], 0) + c.out_store_nbytes;
}

const count = (c: Counters, key: string): number => c[key] ?? 0;

/** Stall cycles of each stage by cause (docs/profiling.md, hw/regmap.ts). */
function stalls(c: Counters): StageStalls {
  const stage = (s: string) => ({
    token: count(c, `${s}_stall_cycles`),
    memory: count(c, `${s}_mem_wait_cycles`),
    fetch: count(c, `${s}_insn_wait_cycles`),
  });
  return {
    fetch: { memory: count(c, 'fetch_mem_wait_cycles'), queueFull: count(c, 'fetch_stall_cycles') },
    load: stage('load'),
    compute: stage('compute'),
    store: stage('store'),
  };
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : 0);

function profileOf(name: string, c: Counters, minDramBytes: number, cfg: VtaConfig, extra: Partial<KernelProfile>): KernelProfile {
  const moved = movedBytes(c);
  const macs = c.gemm_counter * cfg.macsPerUop;
  const p: KernelProfile = {
    name,
    ...extra,
    gemmOps: c.gemm_counter,
    aluOps: c.alu_counter,
    macs,
    dram: { moved, minimum: minDramBytes, overMinimum: ratio(moved, minDramBytes) },
    intensity: ratio(macs, moved),
  };
  const cycles = c.cycles;
  if (cycles === undefined) return p;
  return {
    ...p,
    cycles,
    gemmUtilisation: ratio(c.gemm_counter, cycles),
    aluUtilisation: ratio(c.alu_counter, cycles),
    macsPerCycle: ratio(macs, cycles),
    bytesPerCycle: ratio(moved, cycles),
    busy: {
      fetch: count(c, 'fetch_busy_cycles'),
      load: count(c, 'load_busy_cycles'),
      compute: count(c, 'compute_busy_cycles'),
      store: count(c, 'store_busy_cycles'),
    },
    stalls: stalls(c),
  };
}

export interface ReportInput {
  driver: string;
  config: VtaConfig;
  /** The driver's DRAM model; undefined for a driver without a clock. */
  memory: MemoryModel | undefined;
  batches: number;
  kernels: KernelReport[];
}

/** The report of a run: each kernel that ran, then the total over them (cycles summed: kernels run one after another). */
export function buildReport(input: ReportInput): ProfileReport {
  const cfg = input.config;
  const ran = input.kernels.filter((k) => k.counters);
  const kernels = ran.map((k) =>
    profileOf(k.name, k.counters!, k.minDramBytes * input.batches, cfg, { nodes: k.nodes, insns: k.insnCount * input.batches }),
  );
  const sum = ran.reduce<Counters | undefined>((a, k) => addCounters(a, k.counters!), undefined);
  const minTotal = ran.reduce((a, k) => a + k.minDramBytes * input.batches, 0);
  const total = sum ? profileOf('total', sum, minTotal, cfg, { insns: ran.reduce((a, k) => a + k.insnCount * input.batches, 0) }) : undefined;
  return {
    format: REPORT_FORMAT,
    driver: input.driver,
    config: { bitstream: cfg.bitstream, batch: cfg.batch, blockIn: cfg.blockIn, blockOut: cfg.blockOut, json: { ...cfg.json } },
    memory: input.memory ? reportedMemory(input.memory) : NO_CLOCK_MEMORY,
    peak: { macsPerCycle: cfg.macsPerUop, ...(input.memory ? { bytesPerCycle: input.memory.busBytes } : {}) },
    ...(input.memory ? {} : { note: NO_CLOCK_NOTE }),
    batches: input.batches,
    kernels,
    ...(total ? { total } : {}),
  };
}

/** The report of a finished runModel (the api equivalent of `vta run --report`). */
export function reportOfRun(model: Model, run: RunReport): ProfileReport {
  return buildReport({ driver: run.driver, config: model.config, memory: run.memory, batches: run.batches, kernels: run.kernels });
}

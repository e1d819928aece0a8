/**
 * The simulator's public contract: stage and queue names, counters, and the observer hooks that
 * tools such as the race checker (compiler issue) and tracers attach to. Types only.
 */
import type { Insn } from '../isa/encoding.ts';

export type StageName = 'load' | 'compute' | 'store';
/** Token queues: l2g load→compute, g2l compute→load, g2s compute→store, s2g store→compute. */
export type QueueName = 'l2g' | 'g2l' | 'g2s' | 's2g';

/**
 * Run counters, named after TVM's fsim profiler where it has a name. Byte counts exclude padding
 * (x_size·y_size·element bytes, as fsim counts them). `*_counter` are uop-iterations
 * (iter_out·iter_in·(uop_end−uop_bgn)); GEMM resets are counted apart from real GEMMs.
 * Drivers with a clock add `cycles` and may add more keys (per-module busy/stall counts).
 */
export interface Counters {
  load_insns: number;
  compute_insns: number;
  store_insns: number;
  uop_load_nbytes: number;
  inp_load_nbytes: number;
  wgt_load_nbytes: number;
  acc_load_nbytes: number;
  acc8_load_nbytes: number;
  out_store_nbytes: number;
  gemm_counter: number;
  gemm_reset_counter: number;
  alu_counter: number;
  cycles?: number;
  [extra: string]: number | undefined;
}

export function zeroCounters(): Counters {
  return {
    load_insns: 0,
    compute_insns: 0,
    store_insns: 0,
    uop_load_nbytes: 0,
    inp_load_nbytes: 0,
    wgt_load_nbytes: 0,
    acc_load_nbytes: 0,
    acc8_load_nbytes: 0,
    out_store_nbytes: 0,
    gemm_counter: 0,
    gemm_reset_counter: 0,
    alu_counter: 0,
  };
}

/** Read-only view of the on-chip SRAMs, for observers (e.g. to read the uops a GEMM will use). */
export interface SramView {
  readonly uop: Uint32Array;
  readonly inp: Int8Array;
  readonly wgt: Int8Array;
  readonly acc: Int32Array;
}

export interface InsnEvent {
  /** Index of the instruction in the stream (0-based, program order). */
  readonly index: number;
  readonly stage: StageName;
  readonly insn: Insn;
  readonly sram: SramView;
}

/**
 * Hooks called by the simulator. Order for one instruction: onPop for each pop, beforeInsn,
 * (execution), afterInsn, onPush for each push.
 */
export interface SimObserver {
  onPop?(stage: StageName, queue: QueueName, index: number): void;
  beforeInsn?(e: InsnEvent): void;
  afterInsn?(e: InsnEvent): void;
  onPush?(stage: StageName, queue: QueueName, index: number): void;
}

/**
 * The RTL's cycle counters (hw/regmap.ts COUNTERS, vta_top's cnt_inc): each stage's busy and
 * token-stall cycles, fetch's, the cycles a read client waits for DRAM and a stage waits for
 * fetch, and the bus beats. Added per cycle, or for a run of identical cycles at once.
 */
import type { ComputeEngine } from './compute-stage.ts';

export type TimingCounters = Record<string, number>;

export class StageCounters {
  private fetchBusy = 0;
  private fetchStall = 0;
  private fetchMemWait = 0;
  private readonly busy = [0, 0, 0];
  private readonly stall = [0, 0, 0];
  private readonly insnWait = [0, 0, 0];
  private loadMemWait = 0;
  private computeMemWait = 0;

  /** `n` cycles of this state (busy: registered busy_q; fire: starting an instruction). */
  cycle(
    fetchActive: boolean,
    fetchStall: boolean,
    fetchBuffered: boolean,
    busy: readonly boolean[],
    fire: readonly boolean[],
    stall: readonly boolean[],
    loadMemWait: boolean,
    computeMemWait: boolean,
    n: number,
  ): void {
    if (fetchActive && !fetchStall) this.fetchBusy += n;
    if (fetchStall) this.fetchStall += n;
    if (fetchActive && !fetchBuffered) this.fetchMemWait += n;
    for (let s = 0; s < 3; s++) {
      const b = busy[s] || fire[s];
      if (b) this.busy[s]! += n;
      if (stall[s]) this.stall[s]! += n;
      if (fetchActive && !b && !stall[s]) this.insnWait[s]! += n;
    }
    if (loadMemWait) this.loadMemWait += n;
    if (computeMemWait) this.computeMemWait += n;
  }

  finish(cycles: number, readBeats: number, writeBeats: number, compute: ComputeEngine): TimingCounters {
    return {
      cycles,
      fetch_busy_cycles: this.fetchBusy,
      fetch_stall_cycles: this.fetchStall,
      load_busy_cycles: this.busy[0]!,
      load_stall_cycles: this.stall[0]!,
      compute_busy_cycles: this.busy[1]!,
      compute_stall_cycles: this.stall[1]!,
      store_busy_cycles: this.busy[2]!,
      store_stall_cycles: this.stall[2]!,
      gemm_busy_cycles: compute.gemmBusy,
      alu_busy_cycles: compute.aluBusy,
      mem_read_beats: readBeats,
      mem_write_beats: writeBeats,
      fetch_mem_wait_cycles: this.fetchMemWait,
      load_mem_wait_cycles: this.loadMemWait,
      compute_mem_wait_cycles: this.computeMemWait,
      store_mem_wait_cycles: 0,
      load_insn_wait_cycles: this.insnWait[0]!,
      compute_insn_wait_cycles: this.insnWait[1]!,
      store_insn_wait_cycles: this.insnWait[2]!,
      acc_wr_count: compute.accWrites,
    };
  }
}

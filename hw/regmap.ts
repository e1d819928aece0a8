/**
 * The host register map of the RTL (VCR, spec §5.2, then our event counters, fault and debug
 * registers). One table shared by the parameter generator (it becomes localparams in vta_pkg.sv)
 * and the tsim driver, so the two cannot disagree on an offset.
 */

/** Byte offsets of the 32-bit registers. 0x00..0x24 are Chisel's VCR map. */
export const REG = {
  control: 0x00,
  cycles: 0x04,
  insn_count: 0x08,
  insn_addr: 0x0c,
  uop_base: 0x10,
  inp_base: 0x14,
  wgt_base: 0x18,
  acc_base: 0x1c,
  out_base: 0x20,
  acc_wr_count: 0x24,
  fault_status: 0x28,
  fault_insn: 0x2c,
  fault_value: 0x30,
  finish_status: 0x34,
} as const;

/** Event counters, in this order from COUNTER_BASE (one 32-bit register each). */
export const COUNTERS = [
  'load_insns',
  'compute_insns',
  'store_insns',
  'uop_load_nbytes',
  'inp_load_nbytes',
  'wgt_load_nbytes',
  'acc_load_nbytes',
  'acc8_load_nbytes',
  'out_store_nbytes',
  'gemm_counter',
  'gemm_reset_counter',
  'alu_counter',
  'fetch_busy_cycles',
  'fetch_stall_cycles',
  'load_busy_cycles',
  'load_stall_cycles',
  'compute_busy_cycles',
  'compute_stall_cycles',
  'store_busy_cycles',
  'store_stall_cycles',
  'gemm_busy_cycles',
  'alu_busy_cycles',
  'mem_read_beats',
  'mem_write_beats',
  // Stall causes (docs/profiling.md): waiting for DRAM (a read client wants a beat that has not
  // come, or a write beat/burst not taken); waiting for fetch (the stage's queue is empty while
  // fetch still has instructions to dispatch). Token waits are the *_stall_cycles above.
  'fetch_mem_wait_cycles',
  'load_mem_wait_cycles',
  'compute_mem_wait_cycles',
  'store_mem_wait_cycles',
  'load_insn_wait_cycles',
  'compute_insn_wait_cycles',
  'store_insn_wait_cycles',
] as const;
export const COUNTER_BASE = 0x40;

/** Debug registers, in this order from DEBUG_BASE: what each stage is doing, token counts. */
export const DEBUG = [
  'fetch_state',
  'fetch_count',
  'load_state',
  'load_insn',
  'compute_state',
  'compute_insn',
  'store_state',
  'store_insn',
  'tokens_l2g',
  'tokens_g2l',
  'tokens_g2s',
  'tokens_s2g',
  'queue_load',
  'queue_compute',
  'queue_store',
] as const;
export const DEBUG_BASE = 0xc0;

/** Values of the *_state debug registers (vta_stage_ctrl). */
export const STAGE_STATES = ['idle', 'wait-token', 'busy', 'done'] as const;
export const FETCH_STATES = ['idle', 'fetching', 'done'] as const;

/** fault_status bits [7:4]: what went wrong (bit 0 = a fault is latched). */
export const FAULTS: Record<number, string> = {
  1: 'unknown instruction (opcode, memory type or ALU opcode)',
  2: 'LOAD does not fit its SRAM (sram_base + padded rows x columns > depth)',
  3: 'GEMM/ALU index out of range (uop, ACC, INP or WGT)',
  4: 'STORE must use memory type OUT without padding',
  5: 'STORE reads past the end of the OUT/ACC SRAM',
};

/**
 * The compute stage's engines (hw/rtl/vta_compute.sv), one running at a time: LOAD UOP / ACC /
 * ACC_8BIT through the stage's read client (uops are tiles narrower than a beat), and the GEMM and
 * ALU pipelines. Those issue one uop-iteration per cycle from the cycle after the start
 * (vta_uop_iter), and the last iteration leaves the pipeline (uop read, index add, operand read
 * and MAC or lane op, ACC write: vta_uop_fetch, vta_tensor_gemm, vta_tensor_alu) PIPE_TAIL cycles
 * later; an empty loop nest is done the cycle after its start. FINISH and no-ops are done at once.
 */
import type { VtaConfig } from '../../config/config.ts';
import { MEM_TYPE, OPCODE, type GemmInsn, type Insn, type MemInsn } from '../../isa/index.ts';
import { TensorLoad } from './tensor-load.ts';

/** Cycles from the last uop-iteration's issue to done: S1, S2, S3, then the cycle done is seen. */
export const PIPE_TAIL = 4;

/** Uop-iterations of a GEMM or ALU loop nest (none when a count or the uop range is empty). */
export function loopIterations(insn: GemmInsn): number {
  return insn.iter_out * insn.iter_in * Math.max(0, insn.uop_end - insn.uop_bgn);
}

export class ComputeEngine {
  readonly tensor: TensorLoad;
  /** The cycle the running GEMM/ALU is done, or -1. */
  private loopDoneAt = -1;
  /** GEMM / ALU pipeline busy cycles (the gemm_busy_cycles, alu_busy_cycles counters). */
  gemmBusy = 0;
  aluBusy = 0;
  /** ACC writes (GEMM and ALU iterations, ACC-load tiles): the acc_wr_count register. */
  accWrites = 0;

  constructor(
    private readonly cfg: VtaConfig,
    busBytes: number,
  ) {
    this.tensor = new TensorLoad(busBytes);
  }

  private tileBytes(memoryType: number): number {
    if (memoryType === MEM_TYPE.UOP) return this.cfg.uopElemBytes;
    if (memoryType === MEM_TYPE.ACC) return this.cfg.accElemBytes;
    return this.cfg.batch * this.cfg.blockOut;
  }

  /** Start an instruction at cycle `c`; true when it is done at once. */
  start(insn: Insn, c: number): boolean {
    if (insn.opcode === OPCODE.LOAD) {
      const mem = insn as MemInsn;
      if (mem.memory_type !== MEM_TYPE.UOP && mem.memory_type !== MEM_TYPE.ACC && mem.memory_type !== MEM_TYPE.ACC_8BIT) return true;
      const tileBytes = this.tileBytes(mem.memory_type);
      const done = this.tensor.start(mem, tileBytes, mem.dram_base * tileBytes);
      if (!done && mem.memory_type !== MEM_TYPE.UOP) this.accWrites += this.tensor.tiles;
      return done;
    }
    if (insn.opcode === OPCODE.GEMM || insn.opcode === OPCODE.ALU) {
      const n = loopIterations(insn as GemmInsn);
      const busy = n > 0 ? n + PIPE_TAIL - 1 : 0;
      if (insn.opcode === OPCODE.GEMM) this.gemmBusy += busy;
      else this.aluBusy += busy;
      this.accWrites += n;
      this.loopDoneAt = n > 0 ? c + n + PIPE_TAIL : c + 1;
      return false;
    }
    return true;
  }

  /** The cycle a running loop nest is done (for skipping cycles), else Infinity. */
  nextTimer(): number {
    return this.loopDoneAt >= 0 ? this.loopDoneAt : Infinity;
  }

  /** One cycle of a running instruction (`beatOnBus`: one of the stage's read beats is on the bus). */
  tick(c: number, beatOnBus: boolean): { done: boolean; moved: boolean } {
    if (this.loopDoneAt >= 0) {
      if (c < this.loopDoneAt) return WAITING;
      this.loopDoneAt = -1;
      return DONE;
    }
    return this.tensor.tick(beatOnBus);
  }
}

const WAITING = { done: false, moved: false };
const DONE = { done: true, moved: true };

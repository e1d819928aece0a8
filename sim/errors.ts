/**
 * Simulator errors. Every problem with a program is one line: the instruction's index in the
 * stream, its disassembly, and what is wrong, e.g.
 *   insn #12 (gemm uop_bgn=0 uop_end=1 iter_out=1 iter_in=1): wgt index 1030 out of range (wgt depth 1024)
 * Semantic functions throw a bare InsnFault (the reason only); the scheduler, which knows the index
 * and the bytes, turns it into a SimError.
 */
import { type ErrorCode, VtaError } from '../lib/errors.ts';

/** The simulator's codes by kind (their meanings: lib/error-codes.ts). */
export const SIM_CODES = {
  insn: 'E_SIM_INSN',
  deadlock: 'E_SIM_DEADLOCK',
  tokens: 'E_SIM_TOKENS',
  unrun: 'E_SIM_UNRUN',
  noFinish: 'E_SIM_NO_FINISH',
  run: 'E_SIM_RUN',
  budget: 'E_SIM_BUDGET',
} as const satisfies Record<string, ErrorCode>;

export class SimError extends VtaError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'SimError';
  }
}

/** Thrown by semantic functions: the reason only. Not user-facing on its own. */
export class InsnFault extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InsnFault';
  }
}

/** `insn #12 (disassembly)`: how every message names an instruction. */
export function insnLabel(index: number, disasm: string): string {
  return `insn #${index} (${disasm})`;
}

export function insnError(index: number, disasm: string, reason: string): SimError {
  return new SimError(SIM_CODES.insn, `${insnLabel(index, disasm)}: ${reason}`);
}

/** The standard SRAM range reason, naming the buffer, the index and the depth. */
export function sramRange(buffer: string, index: number, depth: number, where = ''): InsnFault {
  return new InsnFault(`${buffer} index ${index} out of range (${buffer} depth ${depth})${where}`);
}

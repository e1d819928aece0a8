/**
 * FINISH (spec §3.6): no effect on the machine; the scheduler ends the run once it has executed.
 * Kept as a semantic function so every opcode has one.
 */
import type { FinishInsn } from '../../isa/index.ts';
import type { ExecContext } from './context.ts';

export function execFinish(_ctx: ExecContext, _insn: FinishInsn): void {}

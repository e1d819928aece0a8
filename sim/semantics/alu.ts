/**
 * ALU (spec §3.5): lane-wise ACC[dst] = op(ACC[dst], B) with B the sign-extended immediate or the
 * ACC tile at src. MIN/MAX signed, ADD wraps, SHR by |B| & 31 (negative B shifts left), MUL keeps
 * the low 32 bits. reset_reg is ignored, as in every implementation.
 */
import { ALU_OP_NAMES, type AluInsn } from '../../isa/index.ts';
import { InsnFault } from '../errors.ts';
import { isAluOpcode } from '../kernels.ts';
import type { ExecContext } from './context.ts';
import { prepareUopLoop } from './uop-loop.ts';

export function execAlu(ctx: ExecContext, insn: AluInsn): void {
  const { cfg, kernels, counters } = ctx;
  if (!isAluOpcode(insn.alu_opcode)) {
    throw new InsnFault(`unknown ALU opcode ${insn.alu_opcode} (known: ${ALU_OP_NAMES.map((n, i) => `${n} ${i}`).join(', ')})`);
  }
  const roles = [
    { field: 'dst', buffer: 'acc', depth: cfg.accDepth, factorOut: insn.dst_factor_out, factorIn: insn.dst_factor_in },
    ...(insn.use_imm
      ? []
      : [{ field: 'src', buffer: 'acc', depth: cfg.accDepth, factorOut: insn.src_factor_out, factorIn: insn.src_factor_in } as const]),
  ] as const;
  const loop = prepareUopLoop(ctx, insn, roles);
  if (!loop) return;
  kernels.alu(loop, insn.alu_opcode, insn.use_imm !== 0, insn.imm);
  counters.alu_counter += loop.iterOut * loop.iterIn * ctx.uops.count;
}

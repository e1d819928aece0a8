/**
 * GEMM (spec §3.4): for every uop-iteration, ACC[dst] += INP[src] · WGT[wgt]ᵀ with int32
 * wrap-around, or ACC[dst] = 0 when reset_reg is set (then src and wgt are not read).
 */
import type { GemmInsn } from '../../isa/index.ts';
import type { ExecContext } from './context.ts';
import { prepareUopLoop } from './uop-loop.ts';

export function execGemm(ctx: ExecContext, insn: GemmInsn): void {
  const { cfg, kernels, counters } = ctx;
  const dst = { field: 'dst', buffer: 'acc', depth: cfg.accDepth, factorOut: insn.dst_factor_out, factorIn: insn.dst_factor_in } as const;
  if (insn.reset_reg) {
    const loop = prepareUopLoop(ctx, insn, [dst]);
    if (!loop) return;
    kernels.gemmReset(loop);
    counters.gemm_reset_counter += loop.iterOut * loop.iterIn * ctx.uops.count;
    return;
  }
  const roles = [
    dst,
    { field: 'src', buffer: 'inp', depth: cfg.inpDepth, factorOut: insn.src_factor_out, factorIn: insn.src_factor_in },
    { field: 'wgt', buffer: 'wgt', depth: cfg.wgtDepth, factorOut: insn.wgt_factor_out, factorIn: insn.wgt_factor_in },
  ] as const;
  const loop = prepareUopLoop(ctx, insn, roles, [insn.wgt_factor_out, insn.wgt_factor_in]);
  if (!loop) return;
  kernels.gemm(loop);
  counters.gemm_counter += loop.iterOut * loop.iterIn * ctx.uops.count;
}

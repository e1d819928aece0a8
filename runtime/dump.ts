/**
 * Human-readable dumps for debugging (TVM's VTA_DEBUG_DUMP_INSN / _UOP): one line per instruction
 * with its stage and the token count of every queue after it, counted in program order. A count
 * that goes negative means a pop comes before its push in program order (legal, the stages run
 * concurrently); counts left non-zero at the end are tokens nobody consumes.
 */
import type { VtaConfig } from '../config/config.ts';
import { type Insn, formatInsn, formatUop } from '../isa/index.ts';
import { DEP_FLAGS, type QueueName, STAGE_NAMES, formatCounts, namedCounts, replayTokens, stageOfInsn } from '../isa/pipeline.ts';
import { isNop } from './insn-queue.ts';
import type { UopKernel } from './uop-kernel.ts';

function text(cfg: VtaConfig, insn: Insn): string {
  if (!isNop(insn)) return formatInsn(cfg, insn);
  return ['nop', ...DEP_FLAGS.filter((f) => insn[f])].join(' ');
}

/** The token counts of the four queues after running `insns` in program order. */
export function tokenCounts(insns: readonly Insn[]): Record<QueueName, number> {
  return namedCounts(replayTokens(insns));
}

/** One line per instruction: index, stage, disassembly, and the running token counts. */
export function dumpStream(cfg: VtaConfig, insns: readonly Insn[]): string[] {
  const width = String(Math.max(insns.length - 1, 0)).length;
  const lines: string[] = [];
  const left = replayTokens(insns, undefined, (i, counts) => {
    const insn = insns[i]!;
    lines.push(`${String(i).padStart(width)} ${STAGE_NAMES[stageOfInsn(insn)]!.padEnd(7)} ${text(cfg, insn).padEnd(60)} | ${formatCounts(counts)}`);
  });
  lines.push(
    left.every((n) => n === 0)
      ? `${insns.length} instructions; every token queue ends empty`
      : `${insns.length} instructions; queues not empty at the end: ${formatCounts(left, (q) => left[q] !== 0)}`,
  );
  return lines;
}

/** The micro-ops and loops of a kernel, one per line. */
export function dumpKernel(kernel: UopKernel): string[] {
  const lines = [`kernel '${kernel.key}'${kernel.reset ? ' reset' : ''}: ${kernel.uops.length} uop(s), ${kernel.loops.length} loop(s)`];
  kernel.loops.forEach((l, i) =>
    lines.push(`  loop ${i}: extent=${l.extent} dst_factor=${l.dstFactor} src_factor=${l.srcFactor} wgt_factor=${l.wgtFactor}`),
  );
  kernel.uops.forEach((u, i) => lines.push(`  ${i}: ${formatUop(u)}`));
  return lines;
}

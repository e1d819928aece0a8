/**
 * Human-readable dumps for debugging (TVM's VTA_DEBUG_DUMP_INSN / _UOP): one line per instruction
 * with its stage and the token count of every queue after it, counted in program order. A count
 * that goes negative means a pop comes before its push in program order (legal, the stages run
 * concurrently); counts left non-zero at the end are tokens nobody consumes.
 */
import type { VtaConfig } from '../config/config.ts';
import { type Insn, formatInsn, formatUop } from '../isa/index.ts';
import type { QueueName } from '../sim/api.ts';
import { STAGE, STAGE_NAMES, isNop, stageOfInsn } from './insn-queue.ts';
import type { UopKernel } from './uop-kernel.ts';

type Flag = 'pop_prev' | 'pop_next' | 'push_prev' | 'push_next';

/** Which token queue each dependency flag of each stage uses (spec §3.9). */
const QUEUE_OF: Record<number, Partial<Record<Flag, QueueName>>> = {
  [STAGE.LOAD]: { pop_next: 'g2l', push_next: 'l2g' },
  [STAGE.COMPUTE]: { pop_prev: 'l2g', pop_next: 's2g', push_prev: 'g2l', push_next: 'g2s' },
  [STAGE.STORE]: { pop_prev: 'g2s', push_prev: 's2g' },
};
const QUEUES: readonly QueueName[] = ['l2g', 'g2l', 'g2s', 's2g'];

function text(cfg: VtaConfig, insn: Insn): string {
  if (!isNop(insn)) return formatInsn(cfg, insn);
  const flags = (['pop_prev', 'pop_next', 'push_prev', 'push_next'] as const).filter((f) => insn[f]);
  return ['nop', ...flags].join(' ');
}

/** The token counts of the four queues after running `insns` in program order. */
export function tokenCounts(insns: readonly Insn[]): Record<QueueName, number> {
  const counts: Record<QueueName, number> = { l2g: 0, g2l: 0, g2s: 0, s2g: 0 };
  for (const insn of insns) applyTokens(insn, counts);
  return counts;
}

function applyTokens(insn: Insn, counts: Record<QueueName, number>): void {
  const map = QUEUE_OF[stageOfInsn(insn)]!;
  for (const f of ['pop_prev', 'pop_next'] as const) if (insn[f] && map[f]) counts[map[f]]--;
  for (const f of ['push_prev', 'push_next'] as const) if (insn[f] && map[f]) counts[map[f]]++;
}

/** One line per instruction: index, stage, disassembly, and the running token counts. */
export function dumpStream(cfg: VtaConfig, insns: readonly Insn[]): string[] {
  const counts: Record<QueueName, number> = { l2g: 0, g2l: 0, g2s: 0, s2g: 0 };
  const width = String(Math.max(insns.length - 1, 0)).length;
  const lines = insns.map((insn, i) => {
    applyTokens(insn, counts);
    const tokens = QUEUES.map((q) => `${q}=${counts[q]}`).join(' ');
    return `${String(i).padStart(width)} ${STAGE_NAMES[stageOfInsn(insn)].padEnd(7)} ${text(cfg, insn).padEnd(60)} | ${tokens}`;
  });
  const left = QUEUES.filter((q) => counts[q] !== 0);
  lines.push(
    left.length === 0
      ? `${insns.length} instructions; every token queue ends empty`
      : `${insns.length} instructions; queues not empty at the end: ${left.map((q) => `${q}=${counts[q]}`).join(' ')}`,
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

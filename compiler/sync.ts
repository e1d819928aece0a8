/**
 * Dependency-token insertion. Every pair of ops from different stages whose SRAM footprints
 * conflict (RAW, WAR, WAW) is ordered by a token: the earlier op pushes, the later op pops.
 *
 * Why this can neither deadlock nor race:
 * - each pop is paired with a push by an op that comes earlier in program order, and pushes on a
 *   queue are created in the same order as the pops that consume them (the k-th push feeds the
 *   k-th pop), so running the stream in program order satisfies every pop: some stage can always
 *   progress, and no token is left over at FINISH;
 * - a conflict with op A of stage Y is ordered when the popping stage has already synchronised
 *   with A or a later op of Y (stages run in order), directly or transitively; otherwise a new
 *   token is added. Vector clocks track that knowledge.
 * Only neighbouring stages share queues; load and store never conflict (they touch disjoint SRAMs).
 */
import type { DepFlags, Insn } from '../isa/index.ts';
import { QUEUE_NAMES, STAGE, STAGES, STAGE_NAMES, formatCounts, isPop, queueBetween, replayTokens } from '../isa/pipeline.ts';
import { compileError } from './errors.ts';
import { type KOp, footprints, stageOfOp, type Footprint } from './kernel-ir.ts';

/** The dependency flags token insertion gives each op. */
export type SyncFlags = DepFlags;

/** Which stages touch each SRAM (INP/WGT: load and compute; ACC: compute and store). */
const BUFFER_STAGES: Record<string, number[]> = { inp: [STAGE.LOAD, STAGE.COMPUTE], wgt: [STAGE.LOAD, STAGE.COMPUTE], acc: [STAGE.COMPUTE, STAGE.STORE] };

interface Access {
  op: number;
  stage: number;
  lo: number;
  hi: number;
  write: boolean;
}

/** Flags per op (same length as `ops`). `accDepth` sizes FINISH's footprint. */
export function insertSync(ops: KOp[], accDepth: number): SyncFlags[] {
  const flags: SyncFlags[] = ops.map(() => ({ pop_prev: 0, pop_next: 0, push_prev: 0, push_next: 0 }));
  const stageIdx = ops.map(stageOfOp);
  // knows[s][y]: highest op index of stage y known complete before stage s's next op starts.
  const knows: number[][] = STAGES.map(() => STAGES.map(() => -1));
  // Clock each op carries with its pushes: what its stage knew when it completed, plus itself
  // (op i's at [3i, 3i+3): one array for the kernel instead of one per op).
  const clockAt = new Int32Array(ops.length * 3);
  // Accesses per SRAM and per stage, each list in program order: a stage's scan only walks the
  // other stage's accesses (a scan over one mixed list skipped its own stage's, quadratic in long kernels).
  const history: Record<string, Access[][]> = { inp: [[], [], []], wgt: [[], [], []], acc: [[], [], []] };

  ops.forEach((op, i) => {
    const s = stageIdx[i]!;
    const fps: Footprint[] = footprints(op, accDepth);
    // Latest conflicting op per other stage.
    const need = [-1, -1, -1];
    // Indexed loops: this runs once per op of the model, mostly before the JIT has optimised it.
    for (let f = 0; f < fps.length; f++) {
      const fp = fps[f]!;
      const stages = BUFFER_STAGES[fp.buf]!;
      for (let j = 0; j < stages.length; j++) {
        const y = stages[j]!;
        if (y === s) continue;
        const h = history[fp.buf]![y]!;
        // Newest first: ops at or before what is already ordered cannot add a token, and the
        // first conflict found is the latest.
        for (let k = h.length - 1; k >= 0; k--) {
          const a = h[k]!;
          if (a.op <= need[y]! || a.op <= knows[s]![y]!) break;
          if (a.lo < fp.hi && fp.lo < a.hi && (a.write || fp.write)) {
            need[y] = a.op;
            break;
          }
        }
      }
    }
    for (let y = 0; y < 3; y++) {
      const a = need[y]!;
      if (a < 0 || a <= knows[s]![y]!) continue;
      const q = queueBetween(STAGES[y]!, STAGES[s]!);
      if (!q) throw compileError('E_INTERNAL', undefined, `op ${i} (${STAGE_NAMES[s]}) conflicts with op ${a} (${STAGE_NAMES[y]}), which shares no token queue with it`);
      if (flags[a]![q.push]) throw compileError('E_INTERNAL', undefined, `op ${a} would push twice on ${QUEUE_NAMES[q.queue]}`);
      flags[a]![q.push] = 1;
      flags[i]![q.pop] = 1;
      for (let z = 0; z < 3; z++) knows[s]![z] = Math.max(knows[s]![z]!, clockAt[3 * a + z]!);
    }
    knows[s]![s] = i;
    clockAt.set(knows[s]!, 3 * i);
    for (let f = 0; f < fps.length; f++) {
      const fp = fps[f]!;
      history[fp.buf]![s]!.push({ op: i, stage: s, lo: fp.lo, hi: fp.hi, write: fp.write });
    }
  });
  return flags;
}

/**
 * Static proof that an emitted stream cannot deadlock and ends with empty queues: execute the
 * token flags in program order (one valid schedule). If every pop finds a token there, then in
 * any stuck state the earliest blocked instruction would find at least as many tokens as here, a
 * contradiction, so every scheduler runs the stream to FINISH.
 */
export function verifyTokens(insns: readonly Insn[]): void {
  const left = replayTokens(insns, (i, stage, { flag, queue }, before) => {
    const what = `instruction ${i} (${STAGE_NAMES[stage]})`;
    const verb = isPop(flag) ? 'pops' : 'pushes';
    if (queue === undefined) throw compileError('E_INTERNAL', undefined, `${what} ${verb} a queue its stage does not have`);
    if (isPop(flag) && before === 0) throw compileError('E_INTERNAL', undefined, `${what} pops ${QUEUE_NAMES[queue]} with no token pushed before it in program order`);
  });
  if (left.some((n) => n !== 0)) throw compileError('E_INTERNAL', undefined, `tokens left at FINISH: ${formatCounts(left, (q) => left[q] !== 0, ', ')}`);
}

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
import { type Insn, MEM_TYPE, OPCODE } from '../isa/index.ts';
import type { StageName, QueueName } from '../sim/api.ts';
import { compileError } from './errors.ts';
import { type KOp, footprints, stageOf, type Footprint } from './kernel-ir.ts';

export interface SyncFlags {
  pop_prev: number;
  pop_next: number;
  push_prev: number;
  push_next: number;
}

const STAGES: StageName[] = ['load', 'compute', 'store'];
const SI: Record<StageName, number> = { load: 0, compute: 1, store: 2 };

/** The queue from stage `from` to stage `to`, and which flag each side uses. */
function queueOf(from: StageName, to: StageName): { queue: QueueName; push: keyof SyncFlags; pop: keyof SyncFlags } | undefined {
  if (from === 'load' && to === 'compute') return { queue: 'l2g', push: 'push_next', pop: 'pop_prev' };
  if (from === 'compute' && to === 'load') return { queue: 'g2l', push: 'push_prev', pop: 'pop_next' };
  if (from === 'compute' && to === 'store') return { queue: 'g2s', push: 'push_next', pop: 'pop_prev' };
  if (from === 'store' && to === 'compute') return { queue: 's2g', push: 'push_prev', pop: 'pop_next' };
  return undefined;
}

/** Which stages touch each SRAM (INP/WGT: load and compute; ACC: compute and store). */
const BUFFER_STAGES: Record<string, number[]> = { inp: [0, 1], wgt: [0, 1], acc: [1, 2] };

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
  const stageIdx = ops.map((op) => SI[stageOf(op)]);
  // knows[s][y]: highest op index of stage y known complete before stage s's next op starts.
  const knows: number[][] = STAGES.map(() => [-1, -1, -1]);
  // Clock each op carries with its pushes: what its stage knew when it completed, plus itself.
  const clockAt: number[][] = [];
  const history: Record<string, Access[]> = { inp: [], wgt: [], acc: [] };

  ops.forEach((op, i) => {
    const s = stageIdx[i]!;
    const fps: Footprint[] = footprints(op, accDepth);
    // Latest conflicting op per other stage.
    const need = [-1, -1, -1];
    for (const fp of fps) {
      const h = history[fp.buf]!;
      const others = BUFFER_STAGES[fp.buf]!.filter((y) => y !== s);
      for (let k = h.length - 1; k >= 0; k--) {
        const a = h[k]!;
        // History is in program order: once every other stage's older ops are known to be
        // ordered, nothing further back can matter.
        let floor = Infinity;
        for (const y of others) floor = Math.min(floor, Math.max(need[y]!, knows[s]![y]!));
        if (a.op <= floor) break;
        if (a.stage === s || a.op <= need[a.stage]! || a.op <= knows[s]![a.stage]!) continue;
        if (a.lo < fp.hi && fp.lo < a.hi && (a.write || fp.write)) need[a.stage] = a.op;
      }
    }
    for (let y = 0; y < 3; y++) {
      const a = need[y]!;
      if (a < 0 || a <= knows[s]![y]!) continue;
      const q = queueOf(STAGES[y]!, STAGES[s]!);
      if (!q) throw compileError('E_INTERNAL', undefined, `op ${i} (${stageOf(op)}) conflicts with op ${a} (${STAGES[y]}), which shares no token queue with it`);
      if (flags[a]![q.push]) throw compileError('E_INTERNAL', undefined, `op ${a} would push twice on ${q.queue}`);
      flags[a]![q.push] = 1;
      flags[i]![q.pop] = 1;
      const c = clockAt[a]!;
      for (let z = 0; z < 3; z++) knows[s]![z] = Math.max(knows[s]![z]!, c[z]!);
    }
    knows[s]![s] = i;
    clockAt[i] = [...knows[s]!];
    for (const fp of fps) history[fp.buf]!.push({ op: i, stage: s, lo: fp.lo, hi: fp.hi, write: fp.write });
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
  const count: Record<QueueName, number> = { l2g: 0, g2l: 0, g2s: 0, s2g: 0 };
  insns.forEach((insn, i) => {
    const stage = insnStage(insn);
    const [popPrev, popNext, pushPrev, pushNext] = QUEUES_OF[stage];
    const pops: [number, QueueName | undefined][] = [
      [insn.pop_prev, popPrev],
      [insn.pop_next, popNext],
    ];
    for (const [flag, q] of pops) {
      if (!flag) continue;
      if (!q) throw compileError('E_INTERNAL', undefined, `instruction ${i} (${stage}) pops a queue its stage does not have`);
      if (count[q] === 0) throw compileError('E_INTERNAL', undefined, `instruction ${i} (${stage}) pops ${q} with no token pushed before it in program order`);
      count[q]--;
    }
    for (const [flag, q] of [
      [insn.push_prev, pushPrev],
      [insn.push_next, pushNext],
    ] as [number, QueueName | undefined][]) {
      if (!flag) continue;
      if (!q) throw compileError('E_INTERNAL', undefined, `instruction ${i} (${stage}) pushes a queue its stage does not have`);
      count[q]++;
    }
  });
  const left = (Object.entries(count) as [QueueName, number][]).filter(([, n]) => n !== 0);
  if (left.length) throw compileError('E_INTERNAL', undefined, `tokens left at FINISH: ${left.map(([q, n]) => `${q}=${n}`).join(', ')}`);
}

/** [pop_prev, pop_next, push_prev, push_next] queues per stage (spec §3.9). */
const QUEUES_OF: Record<StageName, (QueueName | undefined)[]> = {
  load: [undefined, 'g2l', undefined, 'l2g'],
  compute: ['l2g', 's2g', 'g2l', 'g2s'],
  store: ['g2s', undefined, 's2g', undefined],
};

function insnStage(insn: Insn): StageName {
  if (insn.opcode === OPCODE.STORE) return 'store';
  if (insn.opcode === OPCODE.LOAD && (insn.memory_type === MEM_TYPE.INP || insn.memory_type === MEM_TYPE.WGT)) return 'load';
  return 'compute';
}

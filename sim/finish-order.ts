/**
 * The FINISH rule (docs/isa.md "When a run ends"), checked by every driver:
 * 1. Before the run starts: every instruction after the first FINISH in program order is ordered
 *    before that FINISH by dependency tokens. The hardware fetches all `count` instructions, so an
 *    unordered one after FINISH (a count one too large, a FINISH written early, a second FINISH)
 *    would run or not depending on when a driver sees the FINISH. (Ordered ones, e.g. the last
 *    STORE of a stream merged out of program order, must run before FINISH anyway.)
 * 2. Once the run has ended (FINISH completed, no stage can move) with nothing left unrun and no
 *    fault: every STORE is ordered before FINISH, by the store stage's order and dependency tokens (the
 *    k-th pop of a queue waits for the k-th push). The host reads DRAM once FINISH has completed,
 *    so a STORE nothing orders before it may not have written yet.
 * Both are properties of the stream alone (a dry run of the token dataflow, no data, finds which
 * push each pop takes); 2 is checked after the run so that a deadlock, a fault or an instruction
 * that could never run is reported first, as every driver sees them.
 */
import type { VtaConfig } from '../config/config.ts';
import { OPCODE, disasmInsn } from '../isa/index.ts';
import { STAGE, STAGE_NAMES } from '../isa/pipeline.ts';
import { SIM_CODES, SimError, insnLabel } from './errors.ts';
import type { Program } from './stream.ts';

/** Routed's "no queue" slot (stream.ts NONE), named here so this module imports only types from it. */
const NONE = -1;

/** Refuse (E_SIM_UNRUN) a stream with an instruction after its first FINISH that no token chain orders before it. */
export function checkAfterFinishOrdered(cfg: VtaConfig, program: Program): void {
  const { routed, stageQueues } = program;
  const finish = firstFinish(program);
  if (finish < 0 || finish === routed.length - 1) return;
  const before = finishPredecessors(program);
  if (!before) return;
  const after = (j: number) => j > finish && !before.has(j);
  let unordered = 0;
  for (let j = finish + 1; j < routed.length; j++) if (after(j)) unordered++;
  if (unordered === 0) return;
  const label = (i: number) => insnLabel(i, disasmInsn(cfg, program.bytes, i * 16));
  const first = STAGE_NAMES.flatMap((name, s) => {
    const i = stageQueues[s]!.find(after);
    return i === undefined ? [] : [`${name} ${label(i)}`];
  });
  // Worded as the run would end: FINISH completes and the instructions after it are left over.
  throw new SimError(SIM_CODES.unrun, `FINISH ${label(finish)} completed but ${unordered} instruction(s) never ran, first: ${first.join(', ')}`);
}

function firstFinish(program: Program): number {
  return program.routed.findIndex((r) => r.insn.opcode === OPCODE.FINISH);
}

/** The instructions ordered before the first FINISH, or undefined when it can never run; cached per program. */
const predecessors = new WeakMap<Program, Set<number> | undefined>();

function finishPredecessors(program: Program): Set<number> | undefined {
  if (predecessors.has(program)) return predecessors.get(program);
  const pusherOf = dryRunToFinish(program);
  const before = pusherOf && orderedBefore(program, firstFinish(program), pusherOf);
  predecessors.set(program, before);
  return before;
}

/** Programs whose STOREs are all ordered before FINISH (a property of the stream: checked once). */
const storesOrdered = new WeakSet<Program>();

/** Refuse (E_SIM_UNRUN) a stream with a STORE that no token chain orders before its FINISH. */
export function checkStoresBeforeFinish(cfg: VtaConfig, program: Program): void {
  if (storesOrdered.has(program)) return;
  const before = finishPredecessors(program);
  if (!before) return;
  const finish = firstFinish(program);
  const unordered = program.stageQueues[STAGE.STORE]!.filter((i) => !before.has(i));
  if (unordered.length === 0) {
    storesOrdered.add(program);
    return;
  }
  const label = (i: number) => insnLabel(i, disasmInsn(cfg, program.bytes, i * 16));
  throw new SimError(
    SIM_CODES.unrun,
    `FINISH ${label(finish)} can complete before ${unordered.length} STORE(s) ran (to the host they never ran): no token chain orders ` +
      `${label(unordered[0]!)} before it (the compute stage must pop the store stage's last push_prev before FINISH)`,
  );
}

/**
 * Run the token dataflow alone (stage rotation, pops and pushes, no data) until FINISH. Returns, per
 * instruction, the pushing instruction of each token it popped (slots 2i and 2i+1), or undefined
 * when FINISH can never run.
 */
function dryRunToFinish(program: Program): Int32Array | undefined {
  const { routed, stageQueues } = program;
  const fifos: number[][] = [[], [], [], []];
  const fifoHeads = [0, 0, 0, 0];
  const pusherOf = new Int32Array(routed.length * 2).fill(NONE);
  const heads = [0, 0, 0];
  const ready = (q: number) => q === NONE || fifoHeads[q]! < fifos[q]!.length;
  for (;;) {
    let progressed = false;
    for (let s = 0; s < 3; s++) {
      const q = stageQueues[s]!;
      while (heads[s]! < q.length) {
        const r = routed[q[heads[s]!]!]!;
        if (!ready(r.pop0) || !ready(r.pop1)) break;
        if (r.pop0 !== NONE) pusherOf[2 * r.index] = fifos[r.pop0]![fifoHeads[r.pop0]!++]!;
        if (r.pop1 !== NONE) pusherOf[2 * r.index + 1] = fifos[r.pop1]![fifoHeads[r.pop1]!++]!;
        if (r.push0 !== NONE) fifos[r.push0]!.push(r.index);
        if (r.push1 !== NONE) fifos[r.push1]!.push(r.index);
        heads[s]!++;
        progressed = true;
        if (r.insn.opcode === OPCODE.FINISH) return pusherOf;
      }
    }
    if (!progressed) return undefined;
  }
}

/** The instructions that happen before `finish`: its stage predecessors and the pushers of its pops, transitively. */
function orderedBefore(program: Program, finish: number, pusherOf: Int32Array): Set<number> {
  const { routed, stageQueues } = program;
  const posInStage = new Int32Array(routed.length);
  for (const q of stageQueues) q.forEach((i, pos) => (posInStage[i] = pos));
  const seen = new Set<number>([finish]);
  const work = [finish];
  const visit = (i: number) => {
    if (i !== NONE && !seen.has(i)) {
      seen.add(i);
      work.push(i);
    }
  };
  while (work.length > 0) {
    const i = work.pop()!;
    const pos = posInStage[i]!;
    if (pos > 0) visit(stageQueues[routed[i]!.stage]![pos - 1]!);
    visit(pusherOf[2 * i]!);
    visit(pusherOf[2 * i + 1]!);
  }
  return seen;
}

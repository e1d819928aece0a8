/**
 * The instruction list of one stream and its dependency-token bookkeeping (spec §4.2): pending
 * pops per stage, DepPop / DepPush, and the no-op instructions that carry tokens when no real
 * instruction of the right stage is at hand.
 */
import type { VtaConfig } from '../config/config.ts';
import { type DepFlags, type Insn, MEM_TYPE, type MemInsn, OPCODE, finishInsn, memInsn } from '../isa/index.ts';
import { DEP_FLAGS, STAGE, type Stage, stageOfInsn } from '../isa/pipeline.ts';
import { RUNTIME_ERROR, RuntimeError } from './errors.ts';
import type { UopLoad } from './uop-cache.ts';

/**
 * The stage ids of TVM's runtime API (VTADepPush / VTADepPop arguments): load 1, compute 2,
 * store 3. Only the public calls take them; inside, stages are isa/pipeline.ts's.
 */
export const STAGE_ID = { LOAD: 1, COMPUTE: 2, STORE: 3 } as const;
export type StageId = (typeof STAGE_ID)[keyof typeof STAGE_ID];
const stageOfId = (id: StageId): Stage => (id - 1) as Stage;

/** Instructions the runtime appends itself when it synchronizes (pushes, pops, compute NOP, FINISH). */
export const SYNC_EPILOGUE_MAX = 6;

/** One instruction of the stream; a LOAD UOP also records where in the uop image its data is. */
export interface StreamEntry {
  readonly insn: Insn;
  readonly uopLoad?: UopLoad;
}

/**
 * The stage a DepPush may attach its token to. A LOAD with x_size 0 is a no-op that belongs to no
 * stage here (as in TVM), so a push after a pop-only NOP gets its own NOP.
 */
function mergeStageOf(insn: Insn): Stage | undefined {
  if (insn.opcode === OPCODE.LOAD && insn.x_size === 0) return undefined;
  return stageOfInsn(insn);
}

/**
 * The token NOP: a no-op memory instruction of a stage (all sizes and addresses zero), carrying
 * dependency flags when no real instruction of that stage is at hand.
 */
export function nopInsn(stage: Stage, flags: Partial<DepFlags>): MemInsn {
  return memInsn({
    opcode: stage === STAGE.STORE ? OPCODE.STORE : OPCODE.LOAD,
    memory_type: stage === STAGE.LOAD ? MEM_TYPE.INP : MEM_TYPE.UOP,
    ...flags,
  });
}

/** True for an instruction that only moves tokens (a NOP as built by nopInsn). */
export function isNop(insn: Insn): boolean {
  return (insn.opcode === OPCODE.LOAD || insn.opcode === OPCODE.STORE) && insn.x_size === 0;
}

/**
 * The end of a stream. FINISH carries no dependency flags (TVM's runtime never sets them): when
 * the stream's last compute step must pop or push, a compute NOP before FINISH carries `flags`.
 */
export function finishWithTokens(flags: Partial<DepFlags>): Insn[] {
  return DEP_FLAGS.some((f) => flags[f]) ? [nopInsn(STAGE.COMPUTE, flags), finishInsn()] : [finishInsn()];
}

/** Throws unless (from, to) is a pair of stage ids with a token queue between them. */
export function checkStagePair(call: string, from: number, to: number): asserts from is StageId {
  const ok = (s: number) => s === STAGE_ID.LOAD || s === STAGE_ID.COMPUTE || s === STAGE_ID.STORE;
  if (!ok(from) || !ok(to)) {
    throw new RuntimeError(RUNTIME_ERROR.DEP, `${call}(${from}, ${to}): stage ids are load 1, compute 2, store 3`);
  }
  if (from === to) {
    throw new RuntimeError(RUNTIME_ERROR.DEP, `${call}(${from}, ${to}): a stage cannot send a token to itself`);
  }
  if (Math.abs(from - to) === 2) {
    throw new RuntimeError(
      RUNTIME_ERROR.DEP,
      `${call}(${from}, ${to}): load and store have no token queue between them; go through compute (stage 2)`,
    );
  }
}

export class InsnQueue {
  private readonly list: StreamEntry[] = [];
  /** Pending pops per stage. */
  private readonly pendingPopPrev = [false, false, false];
  private readonly pendingPopNext = [false, false, false];
  private readonly maxInsns: number;

  constructor(cfg: VtaConfig) {
    this.maxInsns = Math.floor(cfg.maxXfer / cfg.insnBytes);
  }

  get length(): number {
    return this.list.length;
  }

  entries(): readonly StreamEntry[] {
    return this.list;
  }

  /**
   * Append an instruction run by `stage`. It takes the stage's pending pops and starts without
   * pushes. `epilogue` appends (synchronize's own) may use the room kept free for them.
   */
  append(stage: Stage, insn: Insn, uopLoad?: UopLoad, epilogue = false): Insn {
    const withDeps: Insn = { ...insn, ...this.takePendingPops(stage), push_prev: 0, push_next: 0 };
    this.push({ insn: withDeps, ...(uopLoad && { uopLoad }) }, epilogue);
    return withDeps;
  }

  private push(entry: StreamEntry, epilogue: boolean): void {
    if (!epilogue) this.ensureRoom(1);
    else if (this.list.length >= this.maxInsns) throw new Error('internal: the synchronize epilogue overflowed its reserved room');
    this.list.push(entry);
  }

  private takePendingPops(stage: Stage): Pick<DepFlags, 'pop_prev' | 'pop_next'> {
    const pops = { pop_prev: this.pendingPopPrev[stage] ? 1 : 0, pop_next: this.pendingPopNext[stage] ? 1 : 0 };
    this.pendingPopPrev[stage] = false;
    this.pendingPopNext[stage] = false;
    return pops;
  }

  /** Throws unless `n` more instructions fit, leaving room for the synchronize epilogue. */
  ensureRoom(n: number): void {
    if (this.list.length + n > this.maxInsns - SYNC_EPILOGUE_MAX) {
      throw new RuntimeError(
        RUNTIME_ERROR.FULL,
        `the instruction stream is full (${this.list.length} instructions, at most ${this.maxInsns} per run); synchronize first`,
      );
    }
  }

  /** The next instruction of stage `to` waits for a token from stage `from` (TVM stage ids). */
  depPop(from: number, to: number, epilogue = false): void {
    checkStagePair('depPop', from, to);
    const stage = stageOfId(to as StageId);
    const pending = from < to ? this.pendingPopPrev : this.pendingPopNext;
    // One instruction pops at most one token per queue: a second pop of the same queue goes on a NOP.
    if (pending[stage]) this.commitPendingPop(stage, epilogue);
    pending[stage] = true;
  }

  /** Stage `from` sends a token to stage `to` once its latest instruction completes (TVM stage ids). */
  depPush(from: number, to: number, epilogue = false): void {
    checkStagePair('depPush', from, to);
    const stage = stageOfId(from);
    this.commitPendingPop(stage, epilogue);
    const flag = from < to ? 'push_next' : 'push_prev';
    const last = this.list[this.list.length - 1];
    if (last && mergeStageOf(last.insn) === stage && !last.insn[flag]) {
      last.insn[flag] = 1;
      return;
    }
    const nop = this.append(stage, nopInsn(stage, {}), undefined, epilogue);
    nop[flag] = 1;
  }

  /** Put the pending pops of `stage` on a NOP of that stage. */
  commitPendingPop(stage: Stage, epilogue = false): void {
    if (this.pendingPopPrev[stage] || this.pendingPopNext[stage]) this.append(stage, nopInsn(stage, {}), undefined, epilogue);
  }

  /** End the stream: FINISH, after a compute NOP with the compute stage's pending pops if any. */
  finish(): void {
    for (const insn of finishWithTokens(this.takePendingPops(STAGE.COMPUTE))) this.push({ insn }, true);
  }

  hasPendingPop(): boolean {
    return this.pendingPopPrev.some((p) => p) || this.pendingPopNext.some((p) => p);
  }

  reset(): void {
    this.list.length = 0;
    this.pendingPopPrev.fill(false);
    this.pendingPopNext.fill(false);
  }
}

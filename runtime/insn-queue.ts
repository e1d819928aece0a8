/**
 * The instruction list of one stream and its dependency-token bookkeeping (spec §4.2): pending
 * pops per stage, DepPop / DepPush, and the no-op instructions that carry tokens when no real
 * instruction of the right stage is at hand.
 */
import type { VtaConfig } from '../config/config.ts';
import { type Insn, MEM_TYPE, type MemInsn, OPCODE, memInsn } from '../isa/index.ts';
import type { StageName } from '../sim/api.ts';
import { RUNTIME_ERROR, RuntimeError } from './errors.ts';
import type { UopLoad } from './uop-cache.ts';

/** Stage ids of TVM's runtime and compiler (queue ids): load 1, compute 2, store 3. */
export const STAGE = { LOAD: 1, COMPUTE: 2, STORE: 3 } as const;
export type StageId = (typeof STAGE)[keyof typeof STAGE];
export const STAGE_NAMES: Readonly<Record<StageId, StageName>> = { 1: 'load', 2: 'compute', 3: 'store' };

/** Instructions the runtime appends itself when it synchronizes (pushes, pops, compute NOP, FINISH). */
export const SYNC_EPILOGUE_MAX = 6;

/** One instruction of the stream; a LOAD UOP also records where in the uop image its data is. */
export interface StreamEntry {
  readonly insn: Insn;
  readonly uopLoad?: UopLoad;
}

/** The stage that executes an instruction (spec §3.8; same routing as the hardware's fetch). */
export function stageOfInsn(insn: Insn): StageId {
  switch (insn.opcode) {
    case OPCODE.LOAD:
      return insn.memory_type === MEM_TYPE.INP || insn.memory_type === MEM_TYPE.WGT ? STAGE.LOAD : STAGE.COMPUTE;
    case OPCODE.STORE:
      return STAGE.STORE;
    default:
      return STAGE.COMPUTE;
  }
}

/**
 * The stage a DepPush may attach its token to. A LOAD with x_size 0 is a no-op that belongs to no
 * stage here (as in TVM), so a push after a pop-only NOP gets its own NOP.
 */
function mergeStageOf(insn: Insn): StageId | undefined {
  if (insn.opcode === OPCODE.LOAD && insn.x_size === 0) return undefined;
  return stageOfInsn(insn);
}

/** A no-op memory instruction of a stage: all sizes and addresses zero, only dependency flags. */
export function nopInsn(stage: StageId, flags: Partial<Pick<MemInsn, 'pop_prev' | 'pop_next' | 'push_prev' | 'push_next'>>): MemInsn {
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

/** Throws unless (from, to) is a pair of stages with a token queue between them. */
export function checkStagePair(call: string, from: number, to: number): asserts from is StageId {
  const ok = (s: number) => s === STAGE.LOAD || s === STAGE.COMPUTE || s === STAGE.STORE;
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
  /** Pending pops per stage id (index 0 unused). */
  private readonly pendingPopPrev = [false, false, false, false];
  private readonly pendingPopNext = [false, false, false, false];
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
  append(stage: StageId, insn: Insn, uopLoad?: UopLoad, epilogue = false): Insn {
    if (!epilogue) this.ensureRoom(1);
    else if (this.list.length >= this.maxInsns) throw new Error('internal: the synchronize epilogue overflowed its reserved room');
    const withDeps: Insn = {
      ...insn,
      pop_prev: this.pendingPopPrev[stage] ? 1 : 0,
      pop_next: this.pendingPopNext[stage] ? 1 : 0,
      push_prev: 0,
      push_next: 0,
    };
    this.pendingPopPrev[stage] = false;
    this.pendingPopNext[stage] = false;
    this.list.push(uopLoad ? { insn: withDeps, uopLoad } : { insn: withDeps });
    return withDeps;
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

  /** The next instruction of stage `to` waits for a token from stage `from`. */
  depPop(from: number, to: number, epilogue = false): void {
    checkStagePair('depPop', from, to);
    const pending = from < to ? this.pendingPopPrev : this.pendingPopNext;
    // One instruction pops at most one token per queue: a second pop of the same queue goes on a NOP.
    if (pending[to]) this.commitPendingPop(to as StageId, epilogue);
    pending[to] = true;
  }

  /** Stage `from` sends a token to stage `to` once its latest instruction completes. */
  depPush(from: number, to: number, epilogue = false): void {
    checkStagePair('depPush', from, to);
    this.commitPendingPop(from, epilogue);
    const flag = from < to ? 'push_next' : 'push_prev';
    const last = this.list[this.list.length - 1];
    if (last && mergeStageOf(last.insn) === from && !last.insn[flag]) {
      last.insn[flag] = 1;
      return;
    }
    const nop = this.append(from, nopInsn(from, {}), undefined, epilogue);
    nop[flag] = 1;
  }

  /** Put the pending pops of `stage` on a NOP of that stage. */
  commitPendingPop(stage: StageId, epilogue = false): void {
    if (this.pendingPopPrev[stage] || this.pendingPopNext[stage]) this.append(stage, nopInsn(stage, {}), undefined, epilogue);
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

/**
 * The machine's vocabulary (spec §3.8, §3.9): the three stages, the four token queues between
 * them, which stage runs an instruction, which queue each dependency flag names, how a stream's
 * tokens replay in program order, the loop nest of GEMM/ALU, the run counters and the observer
 * hooks. The simulator, the runtime, the compiler and the RTL package generator all read it from
 * here, with this one numbering.
 */
import { type DepFlags, type Insn } from './encoding.ts';
import { MEM_TYPE, OPCODE } from './fields.ts';

// ---- stages --------------------------------------------------------------------------------

/** Stages in pipeline order: each one's "previous" neighbour has the lower number. */
export const STAGE = { LOAD: 0, COMPUTE: 1, STORE: 2 } as const;
export type Stage = (typeof STAGE)[keyof typeof STAGE];
export type StageName = 'load' | 'compute' | 'store';
export const STAGES: readonly Stage[] = [STAGE.LOAD, STAGE.COMPUTE, STAGE.STORE];
export const STAGE_NAMES: readonly StageName[] = ['load', 'compute', 'store'];
export const STAGE_BY_NAME: Readonly<Record<StageName, Stage>> = { load: STAGE.LOAD, compute: STAGE.COMPUTE, store: STAGE.STORE };

/**
 * The stage that runs each opcode other than LOAD. A LOAD runs in the stage that owns the SRAM it
 * fills (below); OUT is written by STORE only, so no stage loads it.
 */
const STAGE_OF_OPCODE: ReadonlyMap<number, Stage> = new Map<number, Stage>([
  [OPCODE.STORE, STAGE.STORE],
  [OPCODE.GEMM, STAGE.COMPUTE],
  [OPCODE.ALU, STAGE.COMPUTE],
  [OPCODE.FINISH, STAGE.COMPUTE],
]);
const STAGE_OF_LOAD: ReadonlyMap<number, Stage> = new Map<number, Stage>([
  [MEM_TYPE.INP, STAGE.LOAD],
  [MEM_TYPE.WGT, STAGE.LOAD],
  [MEM_TYPE.UOP, STAGE.COMPUTE],
  [MEM_TYPE.ACC, STAGE.COMPUTE],
  [MEM_TYPE.ACC_8BIT, STAGE.COMPUTE],
]);

/** The stage that runs (opcode, memory type), or undefined when none can (unknown opcode, LOAD OUT). */
export function stageOf(opcode: number, memoryType: number): Stage | undefined {
  return opcode === OPCODE.LOAD ? STAGE_OF_LOAD.get(memoryType) : STAGE_OF_OPCODE.get(opcode);
}

/** The stage of a LOAD of `memoryType` (undefined for OUT and unknown types). */
export function stageOfLoad(memoryType: number): Stage | undefined {
  return STAGE_OF_LOAD.get(memoryType);
}

/** The stage of a well-formed instruction (anything the encoder accepts except LOAD OUT). */
export function stageOfInsn(insn: Insn): Stage {
  const stage = insn.opcode === OPCODE.LOAD ? STAGE_OF_LOAD.get(insn.memory_type) : STAGE_OF_OPCODE.get(insn.opcode);
  if (stage === undefined) throw new Error(`internal: no stage runs opcode ${insn.opcode} (LOAD of OUT?)`);
  return stage;
}

/**
 * Bit masks for the RTL: bit i set when opcode i (other than LOAD) / a LOAD of memory type i runs
 * in `stage`.
 */
export function opcodeMask(stage: Stage): number {
  let mask = 0;
  for (const [op, s] of STAGE_OF_OPCODE) if (s === stage) mask |= 1 << op;
  return mask;
}
export function loadMemTypeMask(stage: Stage): number {
  let mask = 0;
  for (const [t, s] of STAGE_OF_LOAD) if (s === stage) mask |= 1 << t;
  return mask;
}

// ---- token queues --------------------------------------------------------------------------

/** Token queues: l2g load→compute, g2l compute→load, g2s compute→store, s2g store→compute. */
export const QUEUE = { L2G: 0, G2L: 1, G2S: 2, S2G: 3 } as const;
export type Queue = (typeof QUEUE)[keyof typeof QUEUE];
export type QueueName = 'l2g' | 'g2l' | 'g2s' | 's2g';
export const QUEUE_NAMES: readonly QueueName[] = ['l2g', 'g2l', 'g2s', 's2g'];

export type DepFlag = keyof DepFlags;
/** The four dependency flags, pops first (the order a stage takes them). */
export const DEP_FLAGS: readonly DepFlag[] = ['pop_prev', 'pop_next', 'push_prev', 'push_next'];
export const isPop = (flag: DepFlag): boolean => flag === 'pop_prev' || flag === 'pop_next';

/**
 * The queue each dependency flag names, per stage. A flag with no queue is illegal on that stage:
 * load has no previous stage, store no next one.
 */
const FLAG_QUEUES: readonly Readonly<Record<DepFlag, Queue | undefined>>[] = [
  { pop_prev: undefined, pop_next: QUEUE.G2L, push_prev: undefined, push_next: QUEUE.L2G },
  { pop_prev: QUEUE.L2G, pop_next: QUEUE.S2G, push_prev: QUEUE.G2L, push_next: QUEUE.G2S },
  { pop_prev: QUEUE.G2S, pop_next: undefined, push_prev: QUEUE.S2G, push_next: undefined },
];

/** The queue `flag` names on `stage`, or undefined when the stage has no neighbour on that side. */
export function queueOfFlag(stage: Stage, flag: DepFlag): Queue | undefined {
  return FLAG_QUEUES[stage]![flag];
}

/** The queue from stage `from` to stage `to` and the flags that push and pop it, if they are neighbours. */
export function queueBetween(from: Stage, to: Stage): { queue: Queue; push: DepFlag; pop: DepFlag } | undefined {
  if (Math.abs(from - to) !== 1) return undefined;
  const push: DepFlag = from < to ? 'push_next' : 'push_prev';
  const pop: DepFlag = from < to ? 'pop_prev' : 'pop_next';
  return { queue: queueOfFlag(from, push)!, push, pop };
}

/** One dependency flag an instruction sets, and the queue it names (undefined: illegal on its stage). */
export interface TokenUse {
  readonly flag: DepFlag;
  readonly queue: Queue | undefined;
}

/** The flags `insn` sets, pops first, each with the queue it names on `stage`. */
export function tokenUses(stage: Stage, insn: DepFlags): TokenUse[] {
  return DEP_FLAGS.filter((flag) => insn[flag]).map((flag) => ({ flag, queue: queueOfFlag(stage, flag) }));
}

/** Tokens per queue, indexed by Queue. */
export type TokenCounts = Int32Array;

/**
 * Token replay: apply the instructions' flags in program order (one valid schedule of the stages),
 * popping before pushing. `onUse` sees each flag with the count of its queue before the move and
 * may throw (an illegal flag, a pop of an empty queue); otherwise legal flags just move tokens and
 * counts may go negative. Returns the counts after the last instruction.
 */
export function replayTokens(
  insns: readonly Insn[],
  onUse?: (index: number, stage: Stage, use: TokenUse, before: number) => void,
  after?: (index: number, counts: TokenCounts) => void,
): TokenCounts {
  const counts: TokenCounts = new Int32Array(QUEUE_NAMES.length);
  insns.forEach((insn, i) => {
    const stage = stageOfInsn(insn);
    for (const use of tokenUses(stage, insn)) {
      onUse?.(i, stage, use, use.queue === undefined ? 0 : counts[use.queue]!);
      if (use.queue !== undefined) counts[use.queue]! += isPop(use.flag) ? -1 : 1;
    }
    after?.(i, counts);
  });
  return counts;
}

/** Token counts by queue name. */
export function namedCounts(counts: TokenCounts): Record<QueueName, number> {
  return { l2g: counts[QUEUE.L2G]!, g2l: counts[QUEUE.G2L]!, g2s: counts[QUEUE.G2S]!, s2g: counts[QUEUE.S2G]! };
}

/** `l2g=0 g2l=1 ...` for the queues `which` selects (all by default). */
export function formatCounts(counts: TokenCounts, which: (q: Queue) => boolean = () => true, sep = ' '): string {
  return QUEUE_NAMES.flatMap((name, q) => (which(q as Queue) ? [`${name}=${counts[q]}`] : [])).join(sep);
}

// ---- loops and work --------------------------------------------------------------------------

/**
 * The two hardware loops of a GEMM/ALU around its uop list (spec §3.4): iteration counts, and
 * per loop the index step of each operand, in tiles (wgt steps are GEMM's only).
 */
export interface LoopNest {
  iterOut: number;
  iterIn: number;
  dstOut: number;
  dstIn: number;
  srcOut: number;
  srcIn: number;
  wgtOut: number;
  wgtIn: number;
}

// ---- counters and observers --------------------------------------------------------------------

/**
 * Run counters, named after TVM's fsim profiler where it has a name. Byte counts exclude padding
 * (x_size·y_size·element bytes, as fsim counts them). `*_counter` are uop-iterations
 * (iter_out·iter_in·(uop_end−uop_bgn)); GEMM resets are counted apart from real GEMMs.
 * Drivers with a clock add `cycles` and may add more keys (per-module busy/stall counts).
 */
export interface Counters {
  load_insns: number;
  compute_insns: number;
  store_insns: number;
  uop_load_nbytes: number;
  inp_load_nbytes: number;
  wgt_load_nbytes: number;
  acc_load_nbytes: number;
  acc8_load_nbytes: number;
  out_store_nbytes: number;
  gemm_counter: number;
  gemm_reset_counter: number;
  alu_counter: number;
  cycles?: number;
  [extra: string]: number | undefined;
}

/** The counter of instructions run by each stage, by Stage. */
export const STAGE_INSN_COUNTERS = ['load_insns', 'compute_insns', 'store_insns'] as const;

export function zeroCounters(): Counters {
  return {
    load_insns: 0,
    compute_insns: 0,
    store_insns: 0,
    uop_load_nbytes: 0,
    inp_load_nbytes: 0,
    wgt_load_nbytes: 0,
    acc_load_nbytes: 0,
    acc8_load_nbytes: 0,
    out_store_nbytes: 0,
    gemm_counter: 0,
    gemm_reset_counter: 0,
    alu_counter: 0,
  };
}

/** Read-only view of the on-chip SRAMs, for observers (e.g. to read the uops a GEMM will use). */
export interface SramView {
  readonly uop: Uint32Array;
  readonly inp: Int8Array;
  readonly wgt: Int8Array;
  readonly acc: Int32Array;
}

export interface InsnEvent {
  /** Index of the instruction in the stream (0-based, program order). */
  readonly index: number;
  readonly stage: StageName;
  readonly insn: Insn;
  readonly sram: SramView;
}

/**
 * Hooks a machine calls (the race checker and tracers attach here). Order for one instruction:
 * onPop for each pop, beforeInsn, (execution), afterInsn, onPush for each push.
 */
export interface SimObserver {
  onPop?(stage: StageName, queue: QueueName, index: number): void;
  beforeInsn?(e: InsnEvent): void;
  afterInsn?(e: InsnEvent): void;
  onPush?(stage: StageName, queue: QueueName, index: number): void;
}

/**
 * The run loop (spec §3.8–§3.10): instructions are routed to three in-order stage queues, the four
 * dependency-token queues gate them, and a fixed rotation load → compute → store runs each stage
 * until it blocks or drains. For an instruction: pops are checked (all requested queues must hold
 * a token) and taken, the instruction executes, then its pushes are made. The run ends when FINISH
 * has executed and no stage can progress. Unlike TVM's fsim, which starts at a random stage and
 * spins on a deadlock, this rotation is deterministic and a state where no stage can progress is
 * reported.
 */
import type { VtaConfig } from '../config/config.ts';
import { DramError, type DeviceMemory } from './memory.ts';
import { OPCODE, type Insn, disasmInsn } from '../isa/index.ts';
import { type Counters, QUEUE_NAMES, STAGE_INSN_COUNTERS, STAGE_NAMES, type SimObserver, zeroCounters } from '../isa/pipeline.ts';
import { InsnFault, SIM_CODES, SimError, insnError, insnLabel } from './errors.ts';
import type { Machine } from './machine.ts';
import { NONE, type Program, type Routed, readStream, routeStream } from './stream.ts';
import { execAlu } from './semantics/alu.ts';
import type { ExecContext } from './semantics/context.ts';
import { execFinish } from './semantics/finish.ts';
import { checkStoresBeforeFinish } from './finish-order.ts';
import { execGemm } from './semantics/gemm.ts';
import { execLoad } from './semantics/load.ts';
import { execStore } from './semantics/store.ts';
import { DEFAULT_WORK_BUDGET } from '../lib/limits.ts';

export interface SimulateOptions {
  /** Bound on executed instructions plus uop-iterations (default DEFAULT_BUDGET). */
  budget?: number;
  observer?: SimObserver;
}

/** Large enough for a ResNet-18 inference many times over, small enough that a runaway loop nest ends. */
export const DEFAULT_BUDGET = DEFAULT_WORK_BUDGET;

function execute(ctx: ExecContext, insn: Insn): void {
  switch (insn.opcode) {
    case OPCODE.LOAD:
      return execLoad(ctx, insn);
    case OPCODE.STORE:
      return execStore(ctx, insn);
    case OPCODE.GEMM:
      return execGemm(ctx, insn);
    case OPCODE.ALU:
      return execAlu(ctx, insn);
    case OPCODE.FINISH:
      return execFinish(ctx, insn);
  }
}

/**
 * The programs each machine ran lately, by address and length, reused when the same bytes run
 * again (a host running a model's kernels on every inference, a benchmark): decoding and routing
 * are then skipped. The bytes are compared on every run, so a changed stream is routed afresh.
 * Routed entries are never modified by a run, so sharing them is safe.
 */
const recentPrograms = new WeakMap<Machine, Map<string, Program>>();
/** Enough for every kernel of a large network; the oldest entry goes first. */
const RECENT_PROGRAMS = 256;

/** The routed program of `bytes` at `insnPhys` for `machine`: the one it ran lately, else routed now. */
export function prepare(machine: Machine, bytes: Uint8Array, insnPhys: number): Program {
  let recent = recentPrograms.get(machine);
  if (!recent) recentPrograms.set(machine, (recent = new Map()));
  const key = `${insnPhys}:${bytes.length}`;
  const cached = recent.get(key);
  if (cached && Buffer.from(cached.bytes.buffer, cached.bytes.byteOffset, cached.bytes.length).equals(bytes)) return cached;
  const program = routeStream(machine.cfg, bytes, insnPhys);
  recent.delete(key);
  if (recent.size >= RECENT_PROGRAMS) recent.delete(recent.keys().next().value!);
  recent.set(key, program);
  return program;
}

/**
 * Run `count` instructions at physical address `insnPhys` on `machine` until FINISH
 * (VTADeviceRun). Token queues start empty; SRAM contents are whatever the machine holds.
 * Throws a SimError (one line) for any program error.
 */
export function runProgram(machine: Machine, memory: DeviceMemory, insnPhys: number, count: number, options: SimulateOptions = {}): Counters {
  const cfg = machine.cfg;
  const bytes = readStream(cfg, memory, insnPhys, count);
  const program = prepare(machine, bytes, insnPhys);
  const { routed, stageQueues } = program;
  // Message helpers: only called on the error paths.
  const label = (i: number) => insnLabel(i, disasmInsn(cfg, bytes, i * 16));

  machine.clearTokens();
  const tokens = machine.tokens;
  const counters = zeroCounters();
  const ctx: ExecContext = { cfg, machine, memory, kernels: machine.kernels, counters, uops: machine.kernels.storage.uops };
  const observer = options.observer;
  const budget = options.budget ?? DEFAULT_BUDGET;
  // NaN would compare false against every amount of work and so switch the bound off.
  if (!(budget > 0)) throw new SimError(SIM_CODES.run, `work budget ${budget} is invalid: it must be a positive number`);
  const heads = [0, 0, 0];
  let work = 0;

  const stageStatus = () => describeStages(cfg, bytes, program, heads, tokens);

  // As the hardware does, the run ends once FINISH has completed and no stage can move any more:
  // instructions of other stages that tokens let run after FINISH still run (FINISH is last in
  // program order, finish-order.ts), so every driver ends in the same state.
  let finish: Routed | undefined;
  for (;;) {
    let progressed = false;
    for (let s = 0; s < 3; s++) {
      const q = stageQueues[s]!;
      while (heads[s]! < q.length) {
        const r = routed[q[heads[s]!]!]!;
        if ((r.pop0 !== NONE && tokens[r.pop0]! === 0) || (r.pop1 !== NONE && tokens[r.pop1]! === 0)) break;
        work += r.cost;
        if (work > budget) {
          throw new SimError(SIM_CODES.budget, `work budget ${budget} (instructions + uop-iterations) exceeded at ${label(r.index)}, which needs ${r.cost}; ${stageStatus()}`);
        }
        if (r.pop0 !== NONE) tokens[r.pop0]!--;
        if (r.pop1 !== NONE) tokens[r.pop1]!--;
        if (observer) {
          const e = { index: r.index, stage: STAGE_NAMES[s]!, insn: r.insn, sram: machine };
          if (r.pop0 !== NONE) observer.onPop?.(e.stage, QUEUE_NAMES[r.pop0]!, r.index);
          if (r.pop1 !== NONE) observer.onPop?.(e.stage, QUEUE_NAMES[r.pop1]!, r.index);
          observer.beforeInsn?.(e);
          executeChecked(ctx, r, bytes);
          observer.afterInsn?.(e);
          if (r.push0 !== NONE) observer.onPush?.(e.stage, QUEUE_NAMES[r.push0]!, r.index);
          if (r.push1 !== NONE) observer.onPush?.(e.stage, QUEUE_NAMES[r.push1]!, r.index);
        } else {
          executeChecked(ctx, r, bytes);
        }
        if (r.push0 !== NONE) tokens[r.push0]!++;
        if (r.push1 !== NONE) tokens[r.push1]!++;
        heads[s]!++;
        counters[STAGE_INSN_COUNTERS[s]!]++;
        progressed = true;
        if (r.insn.opcode === OPCODE.FINISH) finish = r;
      }
    }
    if (progressed) continue;
    if (finish) break;
    throw new SimError(SIM_CODES.deadlock, `deadlock: no stage can progress; ${stageStatus()}; tokens ${machine.tokenSummary()}`);
  }

  const left = STAGE_NAMES.map((_, s) => stageQueues[s]!.length - heads[s]!);
  const unrun = left.reduce((a, b) => a + b, 0);
  if (unrun > 0) {
    const first = STAGE_NAMES.flatMap((name, s) => (left[s]! > 0 ? [`${name} ${label(stageQueues[s]![heads[s]!]!)}`] : []));
    throw new SimError(SIM_CODES.unrun, `FINISH ${label(finish.index)} completed but ${unrun} instruction(s) never ran, first: ${first.join(', ')}`);
  }
  checkStoresBeforeFinish(cfg, program);
  if (tokens.some((t) => t !== 0)) {
    throw new SimError(SIM_CODES.tokens, `FINISH ${label(finish.index)} completed with tokens left over: ${machine.tokenSummary()} (every queue must end empty)`);
  }
  return counters;
}

/** Where each stage is: `load stage at insn #3 (...) waiting for g2l; compute stage done; ...`. */
function describeStages(cfg: VtaConfig, bytes: Uint8Array, program: Program, heads: number[], tokens: Int32Array): string {
  return STAGE_NAMES.map((name, s) => {
    const q = program.stageQueues[s]!;
    if (heads[s]! >= q.length) return `${name} stage done`;
    const r = program.routed[q[heads[s]!]!]!;
    const waits = [r.pop0, r.pop1].filter((p) => p !== NONE && tokens[p]! === 0).map((p) => QUEUE_NAMES[p]);
    return `${name} stage at ${insnLabel(r.index, disasmInsn(cfg, bytes, r.index * 16))}${waits.length ? ` waiting for ${waits.join(' and ')}` : ''}`;
  }).join('; ');
}

function executeChecked(ctx: ExecContext, r: Routed, bytes: Uint8Array): void {
  try {
    execute(ctx, r.insn);
  } catch (e) {
    if (e instanceof InsnFault || e instanceof DramError) throw insnError(r.index, disasmInsn(ctx.cfg, bytes, r.index * 16), e.message);
    throw e;
  }
}

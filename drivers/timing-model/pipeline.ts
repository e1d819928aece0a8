/**
 * The cycle model of the whole core (hw/rtl/vta_top.sv): fetch, the three stages with their
 * instruction queues and sequencing (vta_stage_ctrl: pop tokens, start, done, post tokens, retire),
 * the four token counters, the shared read channel and the store's write responses. It steps the
 * RTL's cycles from launch (cycle 0 is the first with the run register set) and, when a cycle
 * changes nothing but timers (a loop nest running, DRAM latency), jumps to the next timer, so its
 * cost follows instructions and bus beats, not cycles. It models timing only: the data comes from
 * the functional simulator, which has run the program before.
 */
import type { VtaConfig } from '../../config/config.ts';
import { OPCODE, type Insn, disasmInsn } from '../../isa/index.ts';
import { STAGE_NAMES } from '../../isa/pipeline.ts';
import { SIM_CODES, SimError, insnLabel } from '../../sim/errors.ts';
import { NONE, type Program, type Routed } from '../../sim/stream.ts';
import type { MemoryModel } from '../memory-model.ts';
import { ComputeEngine } from './compute-stage.ts';
import { Fetch } from './fetch.ts';
import { LoadEngine } from './load-stage.ts';
import { CLIENT, ReadChannel, WriteResponses } from './memory-bus.ts';
import { StoreEngine } from './store-stage.ts';
import type { TensorLoad } from './tensor-load.ts';
import { StageCounters, type TimingCounters } from './counters.ts';

/** Instructions each stage's queue holds (hw/gen-params.ts InsnQueueDepth). */
export const INSN_QUEUE_DEPTH = 512;
/** Quiet cycles after FINISH before the run ends (vta_top run_end). */
const QUIET_TO_END = 4;
/** Quiet cycles without FINISH that the RTL reports as a deadlock. */
const QUIET_TO_DEADLOCK = 7;

export interface TimingRun {
  counters: TimingCounters;
  /** With events on: the RTL's timeline events, four words each (drivers/stage-spans.ts). */
  events?: number[];
}

const LOAD = 0;
const COMPUTE = 1;
const STORE = 2;
const FETCH_EVENT = 0;

function tokensOk(r: Routed, tokens: Int32Array): boolean {
  return (r.pop0 === NONE || tokens[r.pop0]! > 0) && (r.pop1 === NONE || tokens[r.pop1]! > 0);
}

/** Run the timing of `program` (already run by fsim, so well formed) on `memory`. */
export function timeProgram(cfg: VtaConfig, program: Program, insnPhys: number, memory: MemoryModel, recordEvents = false): TimingRun {
  const routed = program.routed;
  const count = routed.length;
  const busBytes = memory.busBytes;
  const bus = new ReadChannel(memory);
  const responses = new WriteResponses(memory);
  const fetch = new Fetch(busBytes, insnPhys, count);
  const load = new LoadEngine(cfg, busBytes);
  const compute = new ComputeEngine(cfg, busBytes);
  const store = new StoreEngine(busBytes, cfg.outElemBytes, responses);
  const queues = program.stageQueues;
  const qHead = [0, 0, 0];
  const qCount = [0, 0, 0];
  const busy = [false, false, false];
  const tokens = new Int32Array(4);
  const tokenDelta = new Int32Array(4);
  const k = new StageCounters();
  const events: number[] | undefined = recordEvents ? [] : undefined;
  const fire = [false, false, false];
  const retire = [false, false, false];
  const stall = [false, false, false];
  let finishSeen = false;
  let quietRun = 0;
  let readBeats = 0;

  for (let c = 0; ; ) {
    const ending = finishSeen && quietRun === QUIET_TO_END;
    // ---- what every block sees this cycle (registered state only)
    const onBus = bus.beatClient(c);
    let blockedAll = true;
    for (let s = 0; s < 3; s++) {
      const head = qCount[s]! > 0 ? routed[queues[s]![qHead[s]!]!]! : undefined;
      const ok = head !== undefined && tokensOk(head, tokens);
      fire[s] = !busy[s] && ok;
      stall[s] = !busy[s] && head !== undefined && !ok;
      if (busy[s] || ok) blockedAll = false;
    }
    const loadReady = load.tensor.rReady();
    const computeReady = compute.tensor.rReady();
    let grant = -1;
    if (bus.arReady()) {
      if (fetch.arValid()) grant = CLIENT.FETCH;
      else if (load.tensor.dma.busy) grant = CLIENT.LOAD;
      else if (compute.tensor.dma.busy) grant = CLIENT.COMPUTE;
    }
    const beatTaken = onBus === CLIENT.FETCH || (onBus === CLIENT.LOAD && loadReady) || (onBus === CLIENT.COMPUTE && computeReady);
    const buffered = fetch.buffered > 0;
    const next = buffered ? routed[fetch.dispatched]! : undefined;
    const dispatch = next !== undefined && qCount[next.stage]! < INSN_QUEUE_DEPTH;
    const fetchStall = buffered && !dispatch;
    const fetchBusy = fetch.active;
    const quiet = blockedAll && (!fetchBusy || fetchStall);
    if (!dispatch && !fire[LOAD] && !fire[COMPUTE] && !fire[STORE] && fetch.still(bus.arReady()) && (onBus === CLIENT.LOAD ? compute.tensor.stillWithoutBeats() : onBus === CLIENT.COMPUTE && load.tensor.stillWithoutBeats())) {
      const n = streamWindow(onBus === CLIENT.LOAD ? load.tensor : compute.tensor, c);
      if (n > 0) {
        k.cycle(fetchBusy, fetchStall, buffered, busy, fire, stall, onBus !== CLIENT.LOAD && loadReady, onBus !== CLIENT.COMPUTE && computeReady, n);
        readBeats += n;
        quietRun = 0;
        c += n;
        continue;
      }
    }
    if (busy[STORE] && onBus < 0 && grant < 0 && !dispatch && !fire[LOAD] && !fire[COMPUTE] && fetch.still(false) && load.tensor.stillWithoutBeats() && compute.tensor.stillWithoutBeats()) {
      const n = storeWindow(c);
      if (n > 0) {
        k.cycle(fetchBusy, fetchStall, buffered, busy, fire, stall, loadReady, computeReady, n);
        quietRun = 0;
        c += n;
        continue;
      }
    }
    k.cycle(fetchBusy, fetchStall, buffered, busy, fire, stall, loadReady && onBus !== CLIENT.LOAD, computeReady && onBus !== CLIENT.COMPUTE, 1);

    // ---- the cycle's transfers
    let moved = grant >= 0 || beatTaken || dispatch;
    if (grant === CLIENT.FETCH) {
      bus.accept(grant, fetch.dma.burstBeats(), c);
      fetch.granted();
    } else if (grant >= 0) {
      const dma = grant === CLIENT.LOAD ? load.tensor.dma : compute.tensor.dma;
      bus.accept(grant, dma.burstBeats(), c);
      dma.advance();
    }
    if (beatTaken) {
      readBeats++;
      const last = bus.take();
      if (onBus === CLIENT.FETCH) fetch.beat(last);
    }
    if (dispatch) {
      const idx = fetch.dispatched;
      events?.push(c, FETCH_EVENT, 1, idx);
    }
    for (let s = 0; s < 3; s++) {
      if (!fire[s] && !busy[s]) {
        retire[s] = false;
        continue;
      }
      const idx = queues[s]![qHead[s]!]!;
      const r = routed[idx]!;
      let done: boolean;
      if (fire[s]) {
        moved = true;
        events?.push(c, s + 1, 0, idx);
        if (r.pop0 !== NONE) tokenDelta[r.pop0]!--;
        if (r.pop1 !== NONE) tokenDelta[r.pop1]!--;
        done = startInsn(s, r.insn, c);
        if (s === COMPUTE && r.insn.opcode === OPCODE.FINISH) finishSeen = true;
      } else {
        const t = s === LOAD ? load.tensor.tick(onBus === CLIENT.LOAD) : s === COMPUTE ? compute.tick(c, onBus === CLIENT.COMPUTE) : store.tick(c);
        done = t.done;
        if (t.moved) moved = true;
      }
      retire[s] = done;
      if (done) {
        events?.push(c, s + 1, 1, idx);
        if (r.push0 !== NONE) tokenDelta[r.push0]!++;
        if (r.push1 !== NONE) tokenDelta[r.push1]!++;
        qHead[s]!++;
        qCount[s]!--;
        busy[s] = false;
      } else {
        busy[s] = true;
      }
    }
    for (let q = 0; q < 4; q++) {
      tokens[q]! += tokenDelta[q]!;
      tokenDelta[q] = 0;
    }
    if (fetchBusy && fetch.dispatched === count) {
      fetch.active = false;
      moved = true;
    }
    if (dispatch) {
      qCount[next!.stage]!++;
      fetch.dispatched++;
    }
    if (ending) {
      return { counters: k.finish(c + 1, readBeats, store.writeBeats, compute), ...(events ? { events } : {}) };
    }
    quietRun = quiet ? Math.min(quietRun + 1, QUIET_TO_DEADLOCK) : 0;
    if (moved) {
      c++;
      continue;
    }
    // ---- nothing changed but timers: the next cycles repeat this one until the first timer
    let until = Math.min(compute.nextTimer(), store.nextTimer());
    const beatAt = bus.nextBeatAt();
    if (beatAt > c) until = Math.min(until, beatAt);
    if (quiet) {
      if (finishSeen) until = Math.min(until, c + 1 + Math.max(0, QUIET_TO_END - quietRun));
      else if (until === Infinity) throw deadlock(cfg, program, fetch, qHead, qCount, tokens);
    }
    if (until === Infinity) throw deadlock(cfg, program, fetch, qHead, qCount, tokens);
    const repeat = until - c - 1;
    if (repeat > 0) {
      k.cycle(fetchBusy, fetchStall, buffered, busy, fire, stall, loadReady && onBus !== CLIENT.LOAD, computeReady && onBus !== CLIENT.COMPUTE, repeat);
      if (quiet) quietRun = Math.min(quietRun + repeat, QUIET_TO_DEADLOCK);
    }
    c = until;
  }

  /**
   * Cycles from `c` in which the loads, the read channel and a running STORE move alone: the beats
   * on the bus are `tensor`'s, one taken per cycle (no pad slot, the front burst not exhausted),
   * both loads' next bursts are addressed, and the store writes; every other block waits (fetch,
   * the other load at a data tile, token waits) or counts down a timer not due yet. The window ends
   * before the cycle the store is done. Those cycles are run at once; 0 when none qualifies.
   */
  function streamWindow(tensor: TensorLoad, c: number): number {
    let n = Math.min(tensor.streamBeats(), bus.frontBeats(), compute.nextTimer() - c);
    if (n < 2) return 0;
    if (busy[STORE]) {
      for (let i = 0; i < n; i++) {
        if (store.doneNow()) {
          n = i;
          break;
        }
        store.tick(c + i);
      }
      if (n === 0) return 0;
    }
    for (let i = 0; i < n && bus.arReady(); i++) {
      const dma = load.tensor.dma.busy ? load.tensor.dma : compute.tensor.dma.busy ? compute.tensor.dma : undefined;
      if (!dma) break;
      bus.accept(dma === load.tensor.dma ? CLIENT.LOAD : CLIENT.COMPUTE, dma.burstBeats(), c + i);
      dma.advance();
    }
    bus.takeBeats(n);
    tensor.takeBeats(n);
    return n;
  }

  /**
   * Cycles from `c` in which a running STORE moves alone: no read beat on the bus or burst
   * addressed, fetch and the loads waiting, no timer due (a loop nest's end, the next read beat).
   * The window ends before the cycle the store is done. Those cycles are run at once; 0 when none
   * qualifies.
   */
  function storeWindow(c: number): number {
    const n = Math.min(compute.nextTimer(), bus.nextBeatAt()) - c;
    for (let i = 0; i < n; i++) {
      if (store.doneNow()) return i;
      store.tick(c + i);
    }
    return n;
  }

  function startInsn(stage: number, insn: Insn, c: number): boolean {
    if (stage === LOAD) return load.start(insn);
    if (stage === COMPUTE) return compute.start(insn, c);
    return store.start(insn as never);
  }
}

/** The RTL's deadlock report: what each stage waits at, and the tokens. */
function deadlock(cfg: VtaConfig, program: Program, fetch: Fetch, qHead: number[], qCount: number[], tokens: Int32Array): SimError {
  const label = (i: number) => insnLabel(i, disasmInsn(cfg, program.bytes, i * 16));
  const parts = STAGE_NAMES.map((name, s) => (qCount[s]! === 0 ? `${name} stage idle (queue empty)` : `${name} stage waiting for a token at ${label(program.stageQueues[s]![qHead[s]!]!)}`));
  const t = `l2g=${tokens[0]} g2l=${tokens[1]} g2s=${tokens[2]} s2g=${tokens[3]}`;
  return new SimError(SIM_CODES.deadlock, `deadlock: no stage can progress; ${parts.join('; ')}; fetch dispatched ${fetch.dispatched} of ${program.routed.length}; tokens ${t}`);
}

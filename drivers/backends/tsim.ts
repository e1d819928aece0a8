/**
 * The `tsim` driver: the Driver API on the SystemVerilog VTA (hw/rtl) compiled by Verilator into a
 * Node-API addon (hw/bridge). Device memory is a DeviceMemory whose regions the addon reads and
 * writes in place as the RTL's AXI memory. A run resets the core (empty token queues, SRAM kept),
 * programs the VCR registers (spec §5.2), and clocks the model in chunks until FINISH, a fault, a
 * deadlock, a failed RTL assertion or the cycle budget; errors are one line naming the
 * instruction, stage and tokens (an assertion by its label and instance, hw/README.md).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../../lib/paths.ts';
import { defaultVtaConfig, type VtaConfig } from '../../config/config.ts';
import { COUNTERS, COUNTER_BASE, DEBUG, DEBUG_BASE, FAULTS, REG, STAGE_STATES } from '../../hw/regmap.ts';
import { disasmInsn } from '../../isa/index.ts';
import { STAGE_NAMES } from '../../isa/pipeline.ts';
import { type Program, type Routed, readStream, routeStream } from '../../sim/stream.ts';
import { checkStoresBeforeFinish } from '../../sim/finish-order.ts';
import { VtaError } from '../../lib/errors.ts';
import { SIM_CODES, SimError, insnError, insnLabel } from '../../sim/errors.ts';
import { zeroCounters, type Counters } from '../../sim/api.ts';
import { OPCODE } from '../../isa/fields.ts';
import type { Driver, DriverInfo, OpenOptions, RunOptions, RunResult } from '../api.ts';
import { IDEAL_MEMORY, configForMemory, type MemoryModel } from '../memory-model.ts';
import { SpanBuilder } from '../stage-spans.ts';
import { SimulatedDevice } from '../simulated-device.ts';
import { DEFAULT_CYCLE_BUDGET } from '../../lib/limits.ts';

const HW = join(packageRoot(), 'hw');
/**
 * Default cycle budget of one run: far above any conformance program. At about 1-2.5 M simulated
 * cycles/s it bounds a long run to a few minutes; a loop nest too large for it is refused up front.
 */
export { DEFAULT_CYCLE_BUDGET };
/** Cycles simulated per call into the addon (timeline events are drained in between). */
const CHUNK = 1 << 20;

/** How one chunk of cycles ended. */
interface ChunkResult {
  stop: 'budget' | 'finished' | 'deadlock' | 'fault' | 'memfault' | 'assert';
  cycles: number;
  faultAddr: number;
  faultWrite: boolean;
  faultClient: number;
  /** With stop 'assert': the assertion's label and the instance that asserts it. */
  assertion?: string;
  assertScope?: string;
}

interface TsimModel {
  reset(): void;
  setRegions(regions: { phys: number; bytes: Uint8Array }[]): void;
  regWrite(addr: number, value: number): void;
  regRead(addr: number): number;
  setMemory(timing: { readLatency: number; outstanding: number; writeLatency: number }): void;
  /**
   * Clock up to `maxCycles` cycles on a thread of libuv's pool (the model refuses every other call
   * until it resolves), so that the models of separate devices run at the same time.
   */
  runAsync(maxCycles: number): Promise<ChunkResult>;
  /** Collect timeline events from now on (false: stop and drop them); drained at each chunk. */
  eventsEnable(on: boolean): void;
  /** Events since the last drain, four words each (see drivers/stage-spans.ts). */
  eventsDrain(): Uint32Array;
  traceOpen(path: string): void;
  traceClose(): void;
  close(): void;
}

/** How to build tsim for a config, in a checkout (make) and in an installed package (vta build-rtl). */
const BUILD_HINT = "run vta build-rtl --config <that config's json> (in a checkout: make -C hw rtl CONFIG=<json>; needs verilator)";

export function addonPath(cfg: VtaConfig): string {
  return join(HW, 'build', cfg.bitstream, 'vta_tsim.node');
}

function loadModel(cfg: VtaConfig): TsimModel {
  const path = addonPath(cfg);
  if (!existsSync(path)) {
    throw new VtaError('E_DRIVER', `tsim is not built for config ${cfg.bitstream}: ${BUILD_HINT}`);
  }
  const addon = createRequire(import.meta.url)(path) as { Tsim: new () => TsimModel };
  return new addon.Tsim();
}

/** A failed RTL assertion: the design broke one of its own invariants (hw/rtl/vta_assert.svh). */
export const RTL_ASSERT_CODE = 'E_RTL_ASSERT';

const hex = (n: number) => '0x' + n.toString(16);
const CLIENT_NAMES = ['fetch', 'load', 'compute', 'store'];

class TsimDriver extends SimulatedDevice {
  readonly name = 'tsim';
  private model: TsimModel | undefined;

  /**
   * The program's config stays `config`; the model is the build with the memory's bus width (the
   * bus changes no instruction, only how many bytes a beat carries).
   */
  constructor(
    config: VtaConfig,
    readonly dram: MemoryModel,
  ) {
    super(config);
    this.model = loadModel(configForMemory(config, dram));
    this.model.setMemory(dram);
  }

  private live(): TsimModel {
    this.checkOpen();
    if (!this.model) throw new VtaError('E_DRIVER', 'tsim device is closed');
    return this.model;
  }

  /** The stream as the host sees it, checked exactly as fsim checks it before anything runs. */
  private readStream(insnPhys: number, count: number): Program {
    const bytes = readStream(this.config, this.memory, insnPhys, count);
    return routeStream(this.config, bytes, insnPhys);
  }

  /**
   * Refuse, before clocking anything, a program that cannot finish within the budget: the compute
   * stage does at most one GEMM/ALU uop-iteration per cycle, so their total is a lower bound on the
   * cycles. A loop nest of 10^12 iterations then fails at once instead of after the whole budget.
   */
  private checkBudget(program: Program, budget: number): void {
    let total = 0;
    let biggest: Routed | undefined;
    for (const r of program.routed) {
      total += r.cost - 1;
      if (!biggest || r.cost > biggest.cost) biggest = r;
    }
    if (total > budget && biggest) {
      const at = insnLabel(biggest.index, disasmInsn(this.config, program.bytes, biggest.index * 16));
      throw new SimError(
        SIM_CODES.budget,
        `cycle budget ${budget} cannot be met: the program has ${total} GEMM/ALU uop-iterations (at most one per cycle), ${biggest.cost - 1} of them in ${at}`,
      );
    }
  }

  private debug(model: TsimModel): Record<(typeof DEBUG)[number], number> {
    const out = {} as Record<(typeof DEBUG)[number], number>;
    DEBUG.forEach((name, i) => (out[name] = model.regRead(DEBUG_BASE + 4 * i)));
    return out;
  }

  private tokenSummary(d: Record<(typeof DEBUG)[number], number>): string {
    return `l2g=${d.tokens_l2g} g2l=${d.tokens_g2l} g2s=${d.tokens_g2s} s2g=${d.tokens_s2g}`;
  }

  /** "load stage at insn #3 (...) waiting for a token; compute stage idle; ..." from the debug registers. */
  private stageStatus(model: TsimModel, bytes: Uint8Array, count: number): string {
    const d = this.debug(model);
    const label = (i: number) => (i < count ? insnLabel(i, disasmInsn(this.config, bytes, i * 16)) : `insn #${i}`);
    const parts = STAGE_NAMES.map((name) => {
      const state = STAGE_STATES[d[`${name}_state`]] ?? 'unknown';
      const queued = d[`queue_${name}`];
      if (queued === 0) return `${name} stage idle (queue empty)`;
      return `${name} stage ${state === 'wait-token' ? 'waiting for a token' : state} at ${label(d[`${name}_insn`])}`;
    });
    return `${parts.join('; ')}; fetch dispatched ${d.fetch_count} of ${count}; tokens ${this.tokenSummary(d)}`;
  }

  override async run(insnPhys: number, count: number, options: RunOptions = {}): Promise<RunResult> {
    const model = this.live();
    const program = this.readStream(insnPhys, count);
    const bytes = program.bytes;
    const budget = options.budget ?? DEFAULT_CYCLE_BUDGET;
    if (!(budget > 0)) throw new SimError(SIM_CODES.run, `cycle budget ${budget} is invalid: it must be a positive number`);
    this.checkBudget(program, budget);
    const label = (i: number) => insnLabel(i, disasmInsn(this.config, bytes, i * 16));

    model.reset();
    model.setRegions(this.memory.allRegions().map((r) => ({ phys: r.phys, bytes: r.bytes })));
    if (options.trace) {
      try {
        model.traceOpen(options.trace);
      } catch {
        throw new VtaError('E_DRIVER', `cannot write the waveform file ${options.trace}`);
      }
    }
    try {
      model.regWrite(REG.cycles, 0);
      model.regWrite(REG.insn_count, count);
      model.regWrite(REG.insn_addr, insnPhys);
      for (const r of [REG.uop_base, REG.inp_base, REG.wgt_base, REG.acc_base, REG.out_base]) model.regWrite(r, 0);
      const spans = options.timeline ? new SpanBuilder() : undefined;
      model.eventsEnable(!!spans);
      model.regWrite(REG.control, 1);
      let used = 0;
      for (;;) {
        const res = await model.runAsync(Math.min(CHUNK, budget - used));
        used += res.cycles;
        spans?.add(model.eventsDrain());
        if (res.stop === 'finished') break;
        if (res.stop === 'assert') {
          throw new VtaError(
            RTL_ASSERT_CODE,
            `RTL assertion ${res.assertion} failed in ${res.assertScope} at cycle ${used}; ${this.stageStatus(model, bytes, count)}`,
          );
        }
        if (res.stop === 'memfault') {
          const who = CLIENT_NAMES[res.faultClient] ?? 'memory';
          const d = this.debug(model);
          const at = res.faultClient === 1 ? d.load_insn : res.faultClient === 2 ? d.compute_insn : res.faultClient === 3 ? d.store_insn : -1;
          const what = `DRAM ${res.faultWrite ? 'write' : 'read'} at ${hex(res.faultAddr)} is outside allocated device memory`;
          if (at >= 0 && at < count) throw insnError(at, disasmInsn(this.config, bytes, at * 16), what);
          throw new SimError(SIM_CODES.run, `${who}: ${what}`);
        }
        if (res.stop === 'fault') {
          const status = model.regRead(REG.fault_status);
          const at = model.regRead(REG.fault_insn);
          const value = model.regRead(REG.fault_value);
          const kind = FAULTS[(status >> 4) & 0xf] ?? 'fault';
          throw insnError(at, disasmInsn(this.config, bytes, at * 16), `${kind}${value ? ` (index ${value})` : ''}`);
        }
        if (res.stop === 'deadlock') {
          throw new SimError(SIM_CODES.deadlock, `deadlock: no stage can progress; ${this.stageStatus(model, bytes, count)}`);
        }
        if (used >= budget) {
          throw new SimError(SIM_CODES.budget, `cycle budget ${budget} exceeded before FINISH; ${this.stageStatus(model, bytes, count)}`);
        }
      }
      const d = this.debug(model);
      const left = d.queue_load + d.queue_compute + d.queue_store;
      if (left > 0) {
        const first = STAGE_NAMES.flatMap((name) => (d[`queue_${name}`] > 0 ? [`${name} ${label(d[`${name}_insn`])}`] : []));
        throw new SimError(SIM_CODES.unrun, `FINISH completed but ${left} instruction(s) never ran, first: ${first.join(', ')}`);
      }
      checkStoresBeforeFinish(this.config, program);
      if (d.tokens_l2g || d.tokens_g2l || d.tokens_g2s || d.tokens_s2g) {
        throw new SimError(SIM_CODES.tokens, `FINISH completed with tokens left over: ${this.tokenSummary(d)} (every queue must end empty)`);
      }
      const counters = this.readCounters(model);
      if (!spans) return { counters, memory: this.dram };
      const finish = [...program.routed].reverse().find((r) => r.insn.opcode === OPCODE.FINISH)?.index ?? count - 1;
      return { counters, memory: this.dram, spans: spans.finish(counters.cycles!, finish) };
    } finally {
      model.eventsEnable(false);
      if (options.trace) model.traceClose();
    }
  }

  private readCounters(model: TsimModel): Counters {
    const counters = zeroCounters();
    COUNTERS.forEach((name, i) => (counters[name] = model.regRead(COUNTER_BASE + 4 * i) >>> 0));
    counters.cycles = model.regRead(REG.cycles) >>> 0;
    counters.acc_wr_count = model.regRead(REG.acc_wr_count) >>> 0;
    return counters;
  }

  override close(): void {
    this.model?.close();
    this.model = undefined;
    super.close();
  }
}

const tsim: DriverInfo = {
  name: 'tsim',
  description: 'SystemVerilog VTA under Verilator (cycle-accurate RTL, counters per module)',
  clocked: true,
  observes: false,
  timeline: true,
  modelsMemory: true,
  concurrent: true,
  async open(config: VtaConfig, options: OpenOptions = {}): Promise<Driver> {
    return new TsimDriver(config, options.memory ?? IDEAL_MEMORY);
  },
  unavailable(config?: VtaConfig): string | undefined {
    const cfg = config ?? defaultVtaConfig();
    if (existsSync(addonPath(cfg))) return undefined;
    if (config) return `the RTL is not built for config ${cfg.bitstream}: ${BUILD_HINT}`;
    return 'the RTL is not built: run `make -C hw rtl` (installs Verilator if missing, then builds hw/build/<bitstream>/vta_tsim.node)';
  },
};

export default tsim;

/**
 * The `timing` driver: fsim's semantics (the functional simulator computes every byte and refuses
 * bad programs with its errors) plus a cycle model of the RTL's pipeline (drivers/timing-model/)
 * that gives the cycle count and per-stage counters tsim gives, and its timeline, at a fraction
 * of tsim's cost. It takes a DRAM model (drivers/memory-model.ts) as tsim does.
 */
import type { VtaConfig } from '../../config/config.ts';
import { OPCODE } from '../../isa/index.ts';
import { simulate, Machine, routedProgram } from '../../sim/index.ts';
import { readStream } from '../../sim/stream.ts';
import type { Driver, DriverInfo, OpenOptions, RunOptions, RunResult } from '../api.ts';
import { IDEAL_MEMORY, type MemoryModel } from '../memory-model.ts';
import { SimulatedDevice } from '../simulated-device.ts';
import { SpanBuilder } from '../stage-spans.ts';
import { timeProgram } from '../timing-model/pipeline.ts';

class TimingDriver extends SimulatedDevice {
  readonly name = 'timing';
  private readonly machine: Machine;

  constructor(
    config: VtaConfig,
    readonly dram: MemoryModel,
  ) {
    super(config);
    this.machine = new Machine(config);
  }

  override async run(insnPhys: number, count: number, options: RunOptions = {}): Promise<RunResult> {
    this.checkOpen();
    // The stream as the core reads it, before the run can change the memory that holds it.
    const bytes = readStream(this.config, this.memory, insnPhys, count);
    const counters = simulate(this.config, this.memory, insnPhys, count, {
      machine: this.machine,
      budget: options.budget,
      observer: options.observer,
    });
    // The machine keeps the program it just ran, routed: the timing model reuses it.
    const program = routedProgram(this.machine, bytes, insnPhys);
    const timed = timeProgram(this.config, program, insnPhys, this.dram, !!options.timeline);
    Object.assign(counters, timed.counters);
    if (!timed.events) return { counters, memory: this.dram };
    const spans = new SpanBuilder();
    spans.add(Uint32Array.from(timed.events));
    const finish = [...program.routed].reverse().find((r) => r.insn.opcode === OPCODE.FINISH)?.index ?? count - 1;
    return { counters, memory: this.dram, spans: spans.finish(counters.cycles!, finish) };
  }
}

const timing: DriverInfo = {
  name: 'timing',
  description: 'functional simulator plus a cycle model of the RTL pipeline (tsim-like cycles and timeline at fsim speed)',
  clocked: true,
  observes: true,
  timeline: true,
  modelsMemory: true,
  async open(config: VtaConfig, options: OpenOptions = {}): Promise<Driver> {
    return new TimingDriver(config, options.memory ?? IDEAL_MEMORY);
  },
  unavailable: () => undefined,
};

export default timing;

/**
 * The functional simulator: the living definition of the VTA ISA (spec §3 and its Decisions).
 * `simulate` is the one entry point; `Machine` holds SRAM that persists between runs.
 */
import { type VtaConfig, sameHardware } from '../config/config.ts';
import type { DeviceMemory } from './memory.ts';
import type { Counters } from '../isa/pipeline.ts';
import { Machine } from './machine.ts';
import { runProgram, type SimulateOptions } from './scheduler.ts';

export { Machine } from './machine.ts';
export { DEFAULT_BUDGET, prepare as routedProgram, type SimulateOptions } from './scheduler.ts';
export { SimError, SIM_CODES } from './errors.ts';

/**
 * Run `count` instructions at `insnPhys` in `memory` until FINISH. Pass a `machine` to keep SRAM
 * across runs (a device context); otherwise a fresh one is used.
 */
export function simulate(cfg: VtaConfig, memory: DeviceMemory, insnPhys: number, count: number, options: SimulateOptions & { machine?: Machine } = {}): Counters {
  const machine = options.machine ?? new Machine(cfg);
  if (!sameHardware(machine.cfg, cfg)) throw new Error('simulate: the machine was built for another config');
  return runProgram(machine, memory, insnPhys, count, options);
}

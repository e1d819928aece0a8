/**
 * DRAM models for clocked drivers (tsim): how many cycles a read burst waits for its first beat,
 * how many read bursts may be in flight, the data bus width, and the write response delay. The
 * bus width is a synthesis parameter (LOG_BUS_WIDTH: its own tsim build); latency and outstanding
 * bursts are run-time settings of the bridge. Presets are named for boards; hw/README.md
 * ("Memory model") gives the reasons for each figure.
 */
import { makeConfig, type VtaConfig } from '../config/config.ts';
import { VtaError } from '../lib/errors.ts';
import type { DriverInfo, OpenOptions } from './api.ts';

export interface MemoryModel {
  /** Preset name, or `custom` once a figure was overridden. */
  readonly name: string;
  /** Cycles from an accepted read request to its first data beat (1: the next cycle). */
  readonly readLatency: number;
  /** Read bursts in flight at once; 0 means no limit. */
  readonly outstanding: number;
  /** Bytes per beat of the data bus (8: 64-bit, 16: 128-bit); one beat per cycle. */
  readonly busBytes: number;
  /** Cycles from a write burst's last beat to its response. */
  readonly writeLatency: number;
}

/** Today's ideal memory (the default): answers the next cycle, no limit, 64-bit, as TVM's tsim. */
export const IDEAL_MEMORY: MemoryModel = { name: 'ideal', readLatency: 1, outstanding: 0, busBytes: 8, writeLatency: 1 };

/** Board presets, in fabric cycles (hw/README.md, "Memory model", says where the figures come from). */
export const MEMORY_PRESETS: ReadonlyMap<string, MemoryModel> = new Map([
  ['ideal', IDEAL_MEMORY],
  ['pynq', { name: 'pynq', readLatency: 40, outstanding: 8, busBytes: 8, writeLatency: 20 }],
  ['ultra96', { name: 'ultra96', readLatency: 80, outstanding: 16, busBytes: 16, writeLatency: 40 }],
  ['zcu104', { name: 'zcu104', readLatency: 64, outstanding: 16, busBytes: 16, writeLatency: 32 }],
]);

/** What may override a preset's figures. */
export interface MemoryOverrides {
  readLatency?: number;
  outstanding?: number;
  busBits?: number;
  writeLatency?: number;
}

const BUS_BITS = [64, 128];

function checkCount(flag: string, v: number | undefined, min: number): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < min || v > 1_000_000) {
    throw new VtaError('E_USAGE', `${flag} ${v} is invalid: it must be an integer from ${min} to 1000000`);
  }
}

/** The preset `name` with `overrides` applied; named `custom` when any figure differs from it. */
export function memoryModel(name = 'ideal', overrides: MemoryOverrides = {}): MemoryModel {
  const preset = MEMORY_PRESETS.get(name);
  if (!preset) throw new VtaError('E_USAGE', `--memory ${name} is not a memory preset (known: ${[...MEMORY_PRESETS.keys()].join(', ')})`);
  checkCount('--memory-latency', overrides.readLatency, 1);
  checkCount('--memory-outstanding', overrides.outstanding, 0);
  checkCount('--memory-write-latency', overrides.writeLatency, 1);
  if (overrides.busBits !== undefined && !BUS_BITS.includes(overrides.busBits)) {
    throw new VtaError('E_USAGE', `--memory-bus ${overrides.busBits} is not a built bus width (allowed: ${BUS_BITS.join(', ')})`);
  }
  const model: MemoryModel = {
    name: preset.name,
    readLatency: overrides.readLatency ?? preset.readLatency,
    outstanding: overrides.outstanding ?? preset.outstanding,
    busBytes: overrides.busBits !== undefined ? overrides.busBits / 8 : preset.busBytes,
    writeLatency: overrides.writeLatency ?? preset.writeLatency,
  };
  const same = (Object.keys(model) as (keyof MemoryModel)[]).every((k) => k === 'name' || model[k] === preset[k]);
  return same ? model : { ...model, name: 'custom' };
}

/** The config whose tsim build has this memory's bus: the same core, LOG_BUS_WIDTH set to match. */
export function configForMemory(cfg: VtaConfig, memory: MemoryModel): VtaConfig {
  if (cfg.busWidth === memory.busBytes * 8) return cfg;
  return makeConfig({ ...cfg.json, LOG_BUS_WIDTH: Math.log2(memory.busBytes * 8) }, `${cfg.bitstream} with a ${memory.busBytes * 8}-bit bus`);
}

/** One line for run summaries, e.g. `pynq (read latency 40, 8 outstanding, 64-bit bus, write latency 20)`. */
export function describeMemory(m: MemoryModel): string {
  const outstanding = m.outstanding === 0 ? 'no limit on outstanding reads' : `${m.outstanding} outstanding`;
  return `${m.name} (read latency ${m.readLatency}, ${outstanding}, ${m.busBytes * 8}-bit bus, write latency ${m.writeLatency})`;
}

/**
 * Open options carrying `memory` for a driver that models DRAM timing; a memory model asked of a
 * driver that has none (fsim answers every access at once and counts no cycles) is refused.
 */
export function memoryOpenOptions(info: Pick<DriverInfo, 'name' | 'modelsMemory'>, memory: MemoryModel | undefined): OpenOptions {
  if (memory === undefined) return {};
  if (!info.modelsMemory) {
    throw new VtaError('E_USAGE', `--memory and --memory-*: the ${info.name} driver models no DRAM timing (it answers every access at once); use timing or tsim`);
  }
  return { memory };
}

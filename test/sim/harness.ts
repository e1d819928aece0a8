/**
 * Test harness: place a program, its uops and data in simulated device memory and run it on a
 * Machine whose SRAM the test can inspect. Instructions at 0x1000, everything else where the test
 * says (one 1 MiB allocation from 0x1000).
 */
import type { VtaConfig } from '../../config/config.ts';
import { DeviceMemory } from '../../sim/memory.ts';
import { type Insn, encodeProgram, encodeUop, type Uop } from '../../isa/index.ts';
import type { Counters } from '../../sim/api.ts';
import { Machine, simulate, type SimulateOptions } from '../../sim/index.ts';

export const INSN_BASE = 0x1000;
export const MEM_BYTES = 1 << 20;

export interface Rig {
  cfg: VtaConfig;
  memory: DeviceMemory;
  machine: Machine;
  /** Write bytes at a physical address. */
  put(phys: number, bytes: Uint8Array | Int8Array | Int32Array | Uint32Array): void;
  putUops(phys: number, uops: Uop[]): void;
  get(phys: number, length: number): Uint8Array;
  /** Encode `insns` at INSN_BASE (or `at`) and run them. */
  run(insns: Insn[], options?: SimulateOptions & { at?: number; count?: number }): Counters;
}

export function rig(cfg: VtaConfig): Rig {
  const memory = new DeviceMemory();
  memory.allocAt(INSN_BASE, MEM_BYTES);
  const machine = new Machine(cfg);
  const asBytes = (a: Uint8Array | Int8Array | Int32Array | Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return {
    cfg,
    memory,
    machine,
    put: (phys, bytes) => memory.write(phys, asBytes(bytes)),
    putUops: (phys, uops) => memory.write(phys, asBytes(Uint32Array.from(uops.map((u) => encodeUop(cfg, u))))),
    get: (phys, length) => memory.read(phys, length),
    run(insns, options = {}) {
      const at = options.at ?? INSN_BASE;
      memory.write(at, encodeProgram(cfg, insns));
      return simulate(cfg, memory, at, options.count ?? insns.length, { ...options, machine });
    },
  };
}

/** Deterministic pseudo-random bytes, so failures reproduce. */
export { randomBytes } from '../../lib/random.ts';

/**
 * What a semantic function may touch while executing one instruction: the machine, device memory,
 * the kernels and the run's counters. One context per run.
 */
import type { VtaConfig } from '../../config/config.ts';
import type { DeviceMemory } from '../memory.ts';
import type { Counters } from '../../isa/pipeline.ts';
import type { SimKernels, UopList } from '../kernels.ts';
import type { Machine } from '../machine.ts';

export interface ExecContext {
  readonly cfg: VtaConfig;
  readonly machine: Machine;
  readonly memory: DeviceMemory;
  readonly kernels: SimKernels;
  readonly counters: Counters;
  /** Scratch for the decoded uops of one GEMM/ALU (the kernels' own list, reused). */
  readonly uops: UopList;
}

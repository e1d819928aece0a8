/**
 * The driver API, modelled on VTA's driver.h (spec §4.1): a device context with page-granular
 * device memory and a blocking run of an instruction stream. Every backend (fsim, tsim, a board)
 * implements `Driver` in one file under drivers/backends/ and is found by name in the registry.
 */
import type { VtaConfig } from '../config/config.ts';
import type { Counters, SimObserver, StageName } from '../sim/api.ts';
import type { MemoryModel } from './memory-model.ts';

/** A device buffer: physically contiguous, page-aligned device memory (VTAMemAlloc). */
export interface DeviceBuffer {
  /** Physical address of the first byte (never 0). */
  readonly phys: number;
  /** Usable size in bytes (what was asked for). */
  readonly bytes: number;
}

export interface RunOptions {
  /**
   * Bound on the work of one run: cycles for clocked drivers, executed instructions plus
   * uop-iterations for fsim. Exceeding it is an error naming what each stage waits for.
   */
  budget?: number;
  /** Observer hooks; only drivers whose DriverInfo says `observes` call them. */
  observer?: SimObserver;
  /** Waveform file for RTL drivers (tsim writes VCD). */
  trace?: string;
  /** Record each instruction's span in each stage (drivers whose DriverInfo says `timeline`). */
  timeline?: boolean;
}

/** The pipeline stages a timeline has a track for: fetch, then the three of isa/pipeline.ts. */
export type TimelineStage = 'fetch' | StageName;
export const TIMELINE_STAGES: readonly TimelineStage[] = ['fetch', 'load', 'compute', 'store'];

/**
 * One instruction in one stage, in cycles since launch: [start, end). Fetch spans run from the
 * previous dispatch to this instruction's dispatch into its stage's queue; a stage's span from
 * the cycle it starts the instruction to the one after it retires it.
 */
export interface StageSpan {
  stage: TimelineStage;
  /** Index of the instruction in the stream. */
  insn: number;
  start: number;
  end: number;
}

export interface RunResult {
  counters: Counters;
  /** With RunOptions.timeline on a driver that records one: every span, by stage then time. */
  spans?: StageSpan[];
  /**
   * Wall time of the run where the device ran it, when the driver knows it apart from its own
   * overhead (a remote driver reports the server's; the rest is transport).
   */
  deviceMs?: number;
  /** The DRAM model the run was clocked against (drivers whose DriverInfo says `modelsMemory`). */
  memory?: MemoryModel;
}

/** How to open a device context. */
export interface OpenOptions {
  /** DRAM timing and bus width (drivers whose DriverInfo says `modelsMemory`; default ideal). */
  memory?: MemoryModel;
}

export interface Driver {
  readonly name: string;
  readonly config: VtaConfig;
  /** VTAMemAlloc: allocate `bytes` of device memory. */
  memAlloc(bytes: number): DeviceBuffer;
  /** Allocate device memory covering [phys, phys+bytes) exactly where asked (replay of fixed images). */
  memAllocAt(phys: number, bytes: number): DeviceBuffer;
  /** VTAMemFree. */
  memFree(buf: DeviceBuffer): void;
  /** VTAMemGetPhyAddr, with an optional byte offset into the buffer. */
  physAddr(buf: DeviceBuffer, offset?: number): number;
  /** VTAMemCopyFromHost: copy host bytes into the buffer at `offset`. */
  copyFromHost(dst: DeviceBuffer, src: Uint8Array, offset?: number): void;
  /** VTAMemCopyToHost: copy `dst.length` bytes out of the buffer from `offset`. */
  copyToHost(dst: Uint8Array, src: DeviceBuffer, offset?: number): void;
  /** VTADeviceRun: run `count` instructions at `insnPhys` until FINISH. Rejects with a VtaError on bad programs. */
  run(insnPhys: number, count: number, options?: RunOptions): Promise<RunResult>;
  /** The DRAM model of a clocked driver (what its cycle counts assume). */
  readonly dram?: MemoryModel;
  /** VTADeviceFree. The driver is unusable afterwards. */
  close(): void;
}

export interface DriverInfo {
  /** Registry name, e.g. `fsim`. */
  readonly name: string;
  /** One line for `vta drivers` and help texts. */
  readonly description: string;
  /** Whether run results carry `counters.cycles`. */
  readonly clocked: boolean;
  /** Whether runs call RunOptions.observer for every instruction (needed by the race checker). */
  readonly observes: boolean;
  /** Whether runs record a timeline (RunOptions.timeline gives RunResult.spans). */
  readonly timeline?: boolean;
  /** Whether the driver models DRAM timing, i.e. takes OpenOptions.memory (tsim). */
  readonly modelsMemory?: boolean;
  /**
   * Whether runs of separate device contexts proceed at the same time, each on its own thread
   * (tsim): a network's kernels can then be spread over several (compiler/execute-parallel.ts).
   */
  readonly concurrent?: boolean;
  /** Open a device context for a config (VTADeviceAlloc). */
  open(config: VtaConfig, options?: OpenOptions): Promise<Driver>;
  /**
   * Why the driver cannot be used on this machine (e.g. RTL not built), or undefined when it can;
   * with a config, whether it can run that config (default: the default config).
   */
  unavailable?(config?: VtaConfig): string | undefined;
  /**
   * For drivers reached at an address (`remote://HOST:PORT`): the DriverInfo of the device at that
   * address. The registry hands `--driver SCHEME://...` to the driver registered as SCHEME.
   */
  at?(address: string): DriverInfo;
}

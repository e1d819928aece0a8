/**
 * Tuning: each kernel's tiling chosen by measured cycles on a clocked driver (default `timing`)
 * instead of the compiler's cost model. Per kernel the candidates (compiler/tuning-space.ts: the
 * default first, then phases of the space the config's limits allow, each around the best so far)
 * are compiled alone and timed alone (compiler/kernel-alone.ts); kernels with the same instruction stream up to
 * addresses and immediates (ResNet's repeated blocks) are timed once. The default is always a
 * candidate and wins ties, so no kernel gets slower. The result is a tuning file for
 * `compileModel(..., { tuning })` / `vta compile --tuning FILE`.
 */
import { loadConfig, type VtaConfig } from '../config/config.ts';
import { compileKernelAlone, kernelAlone, runKernelAlone, tiledState, timingFingerprint } from '../compiler/kernel-alone.ts';
import type { Tiled } from '../compiler/passes/choose-tilings.ts';
import type { FusionRules } from '../compiler/fuse.ts';
import { kernelIdentity, TUNING_FORMAT, type TuningEntry, type TuningFile } from '../compiler/tuning.ts';
import { defaultChoice, describeChoice, isTunable, phaseChoices, phaseShares, rankedSpace, SEARCH_PHASES, tilingOfChoice, type TilingChoice } from '../compiler/tuning-space.ts';
import type { Driver } from '../drivers/api.ts';
import { memoryOpenOptions, type MemoryModel } from '../drivers/memory-model.ts';
import { getDriver } from '../drivers/registry.ts';
import type { Graph } from '../graph/ir.ts';
import { VtaError } from '../lib/errors.ts';

/** The driver whose cycles choose tilings unless another is named. */
export const DEFAULT_TUNE_DRIVER = 'timing';
/** Candidates timed per kernel besides its default. */
export const DEFAULT_TUNE_TOP = 14;

export interface TuneOptions {
  config?: VtaConfig | string;
  rules?: FusionRules | string;
  offload?: 'auto' | 'all';
  /** The clocked driver that times candidates (default `timing`). */
  driver?: string;
  /** Its DRAM model (drivers that model one). */
  memory?: MemoryModel;
  /** Candidates per kernel besides the default (default 12). */
  top?: number;
  /** A second clocked driver (e.g. tsim) that re-times each kernel's default and winner. */
  verify?: string;
  /** Called as each kernel is done, in kernel order. */
  onKernel?: (k: TunedKernel) => void;
}

export interface TunedKernel {
  name: string;
  node: string;
  kind: string;
  problem: string;
  /** False for a kernel whose tiling vta tune cannot choose (a grouped conv with unequal bands). */
  tunable: boolean;
  defaultTiling: string;
  tunedTiling: string;
  defaultCycles: number;
  tunedCycles: number;
  /** Candidates timed for it (0 when it reuses the kernel `sameAs`'s result). */
  timed: number;
  sameAs?: string;
  /** With `verify`: the default and the winner timed on that driver. */
  verified?: { defaultCycles: number; tunedCycles: number };
}

export interface TuneResult {
  tuning: TuningFile;
  kernels: TunedKernel[];
  totals: { defaultCycles: number; tunedCycles: number; verified?: { defaultCycles: number; tunedCycles: number } };
  /** Wall and CPU time of the search (compile + timing), and the candidates timed. */
  timings: { wallMs: number; cpuMs: number; candidates: number };
}

/** One distinct kernel's search: its candidates' cycles, the winner first among equals. */
interface Search {
  kernel: string;
  best: TilingChoice;
  defaultCycles: number;
  bestCycles: number;
  timed: number;
  verified?: { defaultCycles: number; tunedCycles: number };
}

async function openClocked(name: string, cfg: VtaConfig, memory: MemoryModel | undefined): Promise<Driver> {
  const info = await getDriver(name, cfg);
  if (!info.clocked) throw new VtaError('E_USAGE', `--driver ${name} counts no cycles: tuning needs a clocked driver (timing, tsim)`);
  return info.open(cfg, memoryOpenOptions(info, memory));
}

/** Cycles of the kernel of `alone` (compiler/kernel-alone.ts) with `choice`. */
async function timeChoice(alone: Tiled, choice: TilingChoice, driver: Driver): Promise<number> {
  const k = alone.kernels[0]!;
  const r = tilingOfChoice(k, choice, alone.cfg);
  // The space only holds tilings that fit: one that does not is our bug.
  if ('why' in r) throw new VtaError('E_INTERNAL', `kernel ${k.name}: candidate ${describeChoice(choice)} does not fit: ${r.why}`);
  const counters = await runKernelAlone(compileKernelAlone(alone, r.tiling), driver);
  return counters.cycles ?? 0;
}

/**
 * Time the default, then up to `top` candidates in the phases of compiler/tuning-space.ts, each
 * phase around the best so far; the default wins ties.
 */
async function search(alone: Tiled, driver: Driver, top: number): Promise<Search> {
  const k = alone.kernels[0]!;
  const first = defaultChoice(k);
  const defaultCycles = await timeChoice(alone, first, driver);
  let best = { choice: first, cycles: defaultCycles };
  const tried = new Set([describeChoice(first)]);
  const ranked = rankedSpace(k, alone.cfg);
  const shares = phaseShares(top, phaseChoices(ranked, 'reduction', first, Infinity).length);
  for (const phase of SEARCH_PHASES) {
    const fresh = phaseChoices(ranked, phase, best.choice, Infinity).filter((c) => !tried.has(describeChoice(c)));
    for (const c of fresh.slice(0, shares[phase])) {
      tried.add(describeChoice(c));
      const cycles = await timeChoice(alone, c, driver);
      if (cycles < best.cycles) best = { choice: c, cycles };
    }
  }
  return { kernel: k.name, best: best.choice, defaultCycles, bestCycles: best.cycles, timed: tried.size };
}

/** Tune every kernel of `graph` for the config; see the file comment. */
export async function tuneGraph(graph: Graph, options: TuneOptions = {}): Promise<TuneResult> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const cfg = typeof options.config === 'object' ? options.config : loadConfig(options.config);
  const driverName = options.driver ?? DEFAULT_TUNE_DRIVER;
  const top = options.top ?? DEFAULT_TUNE_TOP;
  if (!Number.isSafeInteger(top) || top < 0) throw new VtaError('E_USAGE', `--top ${top} must be a whole number of at least 0`);
  const state = tiledState(graph, { config: cfg, ...(options.rules ? { rules: options.rules } : {}), ...(options.offload ? { offload: options.offload } : {}) });
  const driver = await openClocked(driverName, cfg, options.memory);
  const checker = options.verify ? await openClocked(options.verify, cfg, options.memory).catch((e) => { driver.close(); throw e; }) : undefined;
  const searches = new Map<string, Search>();
  const kernels: TunedKernel[] = [];
  const entries: TuningEntry[] = [];
  let candidates = 0;
  try {
    for (const index of state.kernels.keys()) {
      const alone = kernelAlone(state, index);
      const k = alone.kernels[0]!;
      const fingerprint = timingFingerprint(compileKernelAlone(alone, k.tiling), cfg);
      let s = searches.get(fingerprint);
      const reused = s !== undefined;
      if (!s) {
        s = await search(alone, driver, top);
        candidates += s.timed;
        if (checker) s.verified = { defaultCycles: await timeChoice(alone, defaultChoice(k), checker), tunedCycles: await timeChoice(alone, s.best, checker) };
        searches.set(fingerprint, s);
      }
      const id = kernelIdentity(k);
      const row: TunedKernel = {
        name: k.name,
        ...id,
        tunable: isTunable(k),
        defaultTiling: describeChoice(defaultChoice(k)),
        tunedTiling: describeChoice(s.best),
        defaultCycles: s.defaultCycles,
        tunedCycles: s.bestCycles,
        timed: reused ? 0 : s.timed,
        ...(reused ? { sameAs: s.kernel } : {}),
        ...(s.verified ? { verified: s.verified } : {}),
      };
      kernels.push(row);
      if (row.tunable) entries.push({ ...id, tiling: s.best, cycles: { default: s.defaultCycles, tuned: s.bestCycles } });
      options.onKernel?.(row);
    }
  } finally {
    driver.close();
    checker?.close();
  }
  const sum = (f: (k: TunedKernel) => number) => kernels.reduce((n, k) => n + f(k), 0);
  const cpu = process.cpuUsage(cpu0);
  return {
    tuning: { format: TUNING_FORMAT, config: cfg.bitstream, driver: driverName, ...(options.memory ? { memory: options.memory.name } : {}), kernels: entries },
    kernels,
    totals: {
      defaultCycles: sum((k) => k.defaultCycles),
      tunedCycles: sum((k) => k.tunedCycles),
      ...(checker ? { verified: { defaultCycles: sum((k) => k.verified!.defaultCycles), tunedCycles: sum((k) => k.verified!.tunedCycles) } } : {}),
    },
    timings: { wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, candidates },
  };
}

/**
 * Running an opened model on a driver and reporting what happened: outputs, per-kernel figures
 * and counters, timings, races, and the checks asked for (every layer against the reference
 * executor; for an ONNX model, the outputs against onnxruntime on the model's own interface).
 * Inputs holding k batches run k times through one loaded program; the outputs are joined.
 */
import { availableParallelism } from 'node:os';
import { checkAgainstReference, type CheckResult } from '../compiler/check.ts';
import type { KernelInfo } from '../compiler/compile.ts';
import type { RunOutcome } from '../compiler/execute.ts';
import type { ParallelRun } from '../compiler/execute-parallel.ts';
import type { MemoryModel } from '../drivers/memory-model.ts';
import { getDriver, listDrivers } from '../drivers/registry.ts';
import { compareWithOnnxruntime, type OnnxComparison } from '../frontend/ort-check.ts';
import type { Tensor } from '../graph/ir.ts';
import { VtaError } from '../lib/errors.ts';
import { nameRecord } from '../lib/named.ts';
import type { Counters } from '../sim/api.ts';
import { RaceChecker } from '../sim/race-checker.ts';
import { concatBatches, countBatches, sliceBatch } from './batches.ts';
import type { Model } from './open.ts';
import { placementOf, type Placement } from './placement.ts';
import { loadSession } from './session.ts';
import type { TimelineRun } from './timeline.ts';

export interface RunOptions {
  /** Driver name (see `vta drivers`); default 'fsim'. */
  driver?: string;
  /** Compare every layer with the reference executor and, for an ONNX model, the outputs with onnxruntime. */
  check?: boolean;
  /** Watch every SRAM access with the race checker (needs a driver that reports them, e.g. fsim). */
  races?: boolean;
  /** DRAM model (drivers that model DRAM timing, i.e. tsim; default the ideal memory). */
  memory?: MemoryModel;
  /**
   * Called before each step (a VTA kernel or a host op) of each batch runs, counting over all
   * batches (`total` = batches × steps): for progress display.
   */
  onStep?: (done: number, total: number, label: string) => void;
  /** Record the first batch's timeline (drivers that record one, e.g. tsim): RunReport.timeline. */
  timeline?: boolean;
  /**
   * Devices the kernels of a network are spread over at once, for drivers whose runs proceed at
   * the same time (tsim, each on its own core; compiler/execute-parallel.ts): default the machine's
   * cores, at most libuv's pool threads (UV_THREADPOOL_SIZE, default 4); 1 runs them in order on
   * one device. Races run in order.
   */
  devices?: number;
}

/** A kernel's compiled figures and, once it ran, its counters (summed over the batches). */
export type KernelReport = Pick<KernelInfo, 'name' | 'nodes' | 'insnCount' | 'uopCount' | 'dramBytes' | 'minDramBytes' | 'tiling' | 'bands'> & {
  counters?: Counters;
};

export interface RunReport {
  driver: string;
  /** The DRAM model the driver ran with, when it models one (tsim). */
  memory?: MemoryModel;
  /** How many batches the inputs held (k): each ran through the same loaded program. */
  batches: number;
  /** Output tensors by name: the graph's dtypes, the k batches joined along axis 0. */
  outputs: Map<string, Tensor>;
  kernels: KernelReport[];
  /** VTA kernels and host steps, each host step with why it runs on the host. */
  placement: Placement;
  /** Whole-program figures: instructions, uops, DRAM bytes moved and the minimum. */
  totals: { insns: number; uops: number; dramBytes: number; minDramBytes: number };
  /** With `races`: each unordered SRAM access pair found (empty: none). */
  races?: string[];
  /**
   * With `check`: the reference comparison (tensors compared over all batches; a mismatch names its
   * batch) and, for ONNX models whose layers all matched, onnxruntime's on the model's interface.
   */
  check?: { reference: CheckResult & { batch?: number }; onnxruntime?: OnnxComparison };
  timings: { runMs: number; checkMs?: number };
  /** With `timeline`: each kernel run of the first batch, in run order. */
  timeline?: TimelineRun[];
  /** When the kernels were spread over several devices: how many, and whether it fell back to one. */
  parallel?: ParallelRun;
}

/** --races needs a driver that reports each SRAM access: refuse one that would check nothing. */
export async function checkRaceDriver(driver: string): Promise<void> {
  const info = await getDriver(driver);
  if (info.observes) return;
  const observing = (await listDrivers()).filter((d) => d.observes).map((d) => d.name);
  throw new VtaError('E_USAGE', `--races needs a driver that reports each SRAM access (${observing.join(', ')}); the ${info.name} driver does not, so nothing would be checked`);
}

/** --timeline needs a driver that records one: refuse before running rather than give an empty trace. */
export async function checkTimelineDriver(driver: string): Promise<void> {
  const info = await getDriver(driver);
  if (info.timeline) return;
  const recording = (await listDrivers()).filter((d) => d.timeline).map((d) => d.name);
  throw new VtaError('E_USAGE', `--timeline needs a driver that records one (${recording.join(', ')}); the ${info.name} driver does not`);
}

/** Counters of several runs, field by field. */
export function addCounters(a: Counters | undefined, b: Counters): Counters {
  if (!a) return { ...b };
  const sum: Counters = { ...a };
  for (const [key, v] of Object.entries(b)) sum[key] = (sum[key] ?? 0) + (v ?? 0);
  return sum;
}

function kernelReports(model: Model, counters: Map<string, Counters>): KernelReport[] {
  return model.compiled.kernels.map((k) => ({
    name: k.name, nodes: k.nodes, insnCount: k.insnCount, uopCount: k.uopCount, dramBytes: k.dramBytes, minDramBytes: k.minDramBytes,
    ...(k.tiling ? { tiling: k.tiling } : {}),
    ...(k.bands !== undefined ? { bands: k.bands } : {}),
    ...(counters.has(k.name) ? { counters: counters.get(k.name)! } : {}),
  }));
}

/** One batch's inputs and the outputs VTA gave for them. */
interface BatchRun {
  inputs: Map<string, Tensor>;
  outputs: Map<string, Tensor>;
}

/** Everything the k runs produced, gathered as they finish. */
class RunTotals {
  readonly runs: BatchRun[] = [];
  readonly counters = new Map<string, Counters>();
  timeline: TimelineRun[] | undefined;
  reference: (CheckResult & { batch?: number }) | undefined;
  checkMs = 0;

  parallel: ParallelRun | undefined;

  add(inputs: Map<string, Tensor>, outcome: RunOutcome & { parallel?: ParallelRun }): void {
    this.runs.push({ inputs, outputs: new Map(Object.entries(outcome.outputs)) });
    if (outcome.parallel) {
      const p = outcome.parallel;
      const fallback = this.parallel?.fallback ?? p.fallback;
      this.parallel = { devices: p.devices, kernels: (this.parallel?.kernels ?? 0) + p.kernels, ...(fallback ? { fallback } : {}) };
    }
    for (const [k, c] of Object.entries(outcome.counters)) this.counters.set(k, addCounters(this.counters.get(k), c));
  }

  /** The first batch's spans, with each kernel's instructions for their disassembly. */
  keepTimeline(model: Model, outcome: RunOutcome): void {
    if (this.timeline || !outcome.spans) return;
    const cfg = model.config;
    this.timeline = model.compiled.kernels.flatMap((k) => {
      const spans = outcome.spans!.get(k.name);
      if (!spans) return [];
      const code = model.compiled.code.subarray(k.insnStart * cfg.insnBytes, (k.insnStart + k.insnCount) * cfg.insnBytes);
      return [{ name: k.name, code, spans, cycles: outcome.counters[k.name]?.cycles ?? 0 }];
    });
  }

  /** Check batch `b` against the reference; the first mismatch is kept and later batches skipped. */
  check(model: Model, b: number, inputs: Record<string, Tensor>, outcome: RunOutcome): void {
    if (this.reference?.mismatch) return;
    const t = performance.now();
    const r = checkAgainstReference(model.compiled, inputs, outcome.tensors);
    const compared = (this.reference?.compared ?? 0) + r.compared;
    this.reference = r.mismatch ? { compared, mismatch: r.mismatch, batch: b } : { compared };
    this.checkMs += performance.now() - t;
  }

  joinedOutputs(model: Model): Map<string, Tensor> {
    return new Map(model.graph.outputs.map((o) => [o, concatBatches(this.runs.map((r) => r.outputs.get(o)!))]));
  }
}

/**
 * Devices a network's kernels spread over by default: one per core, as many as libuv's pool has
 * threads to clock them (UV_THREADPOOL_SIZE, default 4; `vta` sets it to the core count).
 */
function defaultDevices(): number {
  return Math.min(availableParallelism(), Number(process.env.UV_THREADPOOL_SIZE) || 4);
}

/**
 * Run `model` on `inputs` (every graph input, by name; see modelInputs): each holds the input's
 * shape or k batches of it (first dimension k × the model's batch, the same k for all). A race or
 * a mismatch does not throw: it is in the report (`races`, `check.reference.mismatch`).
 */
export async function runModel(model: Model, inputs: ReadonlyMap<string, Tensor>, options: RunOptions = {}): Promise<RunReport> {
  const driver = options.driver ?? 'fsim';
  if (options.races) await checkRaceDriver(driver);
  if (options.timeline) await checkTimelineDriver(driver);
  const k = countBatches(model.graph, inputs);
  const steps = model.compiled.steps.length;
  const checkers: RaceChecker[] = [];
  const totals = new RunTotals();
  const t0 = performance.now();
  const session = await loadSession(model.compiled, driver, options.memory, options.devices ?? defaultDevices());
  try {
    for (let b = 0; b < k; b++) {
      const batch = new Map([...inputs].map(([name, t]) => [name, sliceBatch(t, b, k)]));
      const byName = nameRecord(batch);
      const outcome = await session.run(byName, {
        keepAll: !!options.check,
        ...(options.timeline && b === 0 ? { timeline: true } : {}),
        ...(options.onStep ? { onStep: (done: number, _total: number, label: string) => options.onStep!(b * steps + done, k * steps, label) } : {}),
        ...(options.races
          ? {
              observe: (_k: number, base: number) => {
                const c = new RaceChecker(model.config, { insnBase: base });
                checkers.push(c);
                return c;
              },
            }
          : {}),
      });
      totals.add(batch, outcome);
      totals.keepTimeline(model, outcome);
      if (options.check) totals.check(model, b, byName, outcome);
    }
  } finally {
    session.close();
  }
  const kernels = model.compiled.kernels;
  const report: RunReport = {
    driver,
    ...(session.memory ? { memory: session.memory } : {}),
    batches: k,
    outputs: totals.joinedOutputs(model),
    kernels: kernelReports(model, totals.counters),
    placement: placementOf(model.compiled),
    totals: {
      insns: model.compiled.insnCount,
      uops: kernels.reduce((a, k) => a + k.uopCount, 0),
      dramBytes: kernels.reduce((a, k) => a + k.dramBytes, 0),
      minDramBytes: kernels.reduce((a, k) => a + k.minDramBytes, 0),
    },
    ...(options.races ? { races: checkers.flatMap((c) => c.report()) } : {}),
    timings: { runMs: performance.now() - t0 - totals.checkMs },
    ...(totals.timeline ? { timeline: totals.timeline } : {}),
    ...(totals.parallel ? { parallel: totals.parallel } : {}),
  };
  if (options.check) {
    const reference = totals.reference!;
    const t1 = performance.now();
    // Only when VTA matched the reference bit for bit is onnxruntime compared (with VTA's outputs).
    const onnxruntime = model.onnx && !reference.mismatch ? await compareWithOnnxruntime(model.path, model.graph, totals.runs, model.onnx) : undefined;
    report.check = { reference, ...(onnxruntime ? { onnxruntime } : {}) };
    report.timings.checkMs = totals.checkMs + performance.now() - t1;
  }
  return report;
}

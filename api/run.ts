/**
 * Running an opened model on a driver and reporting what happened: outputs, per-kernel figures
 * and counters, timings, races, and the checks asked for (every layer against the reference
 * executor; for an ONNX model, the outputs against onnxruntime).
 */
import { checkAgainstReference, type CheckResult } from '../compiler/check.ts';
import type { KernelInfo } from '../compiler/compile.ts';
import { runCompiled } from '../compiler/execute.ts';
import { getDriver, listDrivers } from '../drivers/registry.ts';
import { crossCheckOnnx, type CrossCheckReport } from '../frontend/ort-check.ts';
import type { Tensor } from '../graph/ir.ts';
import { VtaError } from '../lib/errors.ts';
import type { Counters } from '../sim/api.ts';
import { RaceChecker } from '../sim/race-checker.ts';
import type { Model } from './open.ts';

export interface RunOptions {
  /** Driver name (see `vta drivers`); default 'fsim'. */
  driver?: string;
  /** Compare every layer with the reference executor and, for an ONNX model, the outputs with onnxruntime. */
  check?: boolean;
  /** Watch every SRAM access with the race checker (needs a driver that reports them, e.g. fsim). */
  races?: boolean;
  /** Called before each step (a VTA kernel or a host op) runs: for progress display. */
  onStep?: (done: number, total: number, label: string) => void;
}

/** A kernel's compiled figures and, once it ran, its counters. */
export type KernelReport = Pick<KernelInfo, 'name' | 'nodes' | 'insnCount' | 'uopCount' | 'dramBytes' | 'minDramBytes' | 'tiling' | 'bands'> & {
  counters?: Counters;
};

export interface RunReport {
  driver: string;
  /** Output tensors by name. */
  outputs: Map<string, Tensor>;
  kernels: KernelReport[];
  /** Whole-program figures: instructions, uops, DRAM bytes moved and the minimum. */
  totals: { insns: number; uops: number; dramBytes: number; minDramBytes: number };
  /** With `races`: each unordered SRAM access pair found (empty: none). */
  races?: string[];
  /** With `check`: the reference comparison and, for ONNX models whose layers all matched, onnxruntime's. */
  check?: { reference: CheckResult; onnxruntime?: CrossCheckReport };
  timings: { runMs: number; checkMs?: number };
}

/** --races needs a driver that reports each SRAM access: refuse one that would check nothing. */
export async function checkRaceDriver(driver: string): Promise<void> {
  const info = await getDriver(driver);
  if (info.observes) return;
  const observing = (await listDrivers()).filter((d) => d.observes).map((d) => d.name);
  throw new VtaError('E_USAGE', `--races needs a driver that reports each SRAM access (${observing.join(', ')}); the ${info.name} driver does not, so nothing would be checked`);
}

function kernelReports(model: Model, counters: Record<string, Counters>): KernelReport[] {
  return model.compiled.kernels.map((k) => ({
    name: k.name, nodes: k.nodes, insnCount: k.insnCount, uopCount: k.uopCount, dramBytes: k.dramBytes, minDramBytes: k.minDramBytes,
    ...(k.tiling ? { tiling: k.tiling } : {}),
    ...(k.bands !== undefined ? { bands: k.bands } : {}),
    ...(counters[k.name] ? { counters: counters[k.name] } : {}),
  }));
}

/** onnxruntime on the same int8 inputs, keyed by ONNX input name. */
async function checkWithOnnxruntime(model: Model, inputs: Record<string, Tensor>): Promise<CrossCheckReport> {
  const imp = model.onnx!;
  const byOnnxName = Object.fromEntries(Object.entries(imp.inputs).map(([onnxName, info]) => [onnxName, inputs[info.tensor]!]));
  return crossCheckOnnx(model.path, byOnnxName, {}, imp);
}

/**
 * Run `model` on `inputs` (every graph input, by name; see modelInputs). A race or a mismatch
 * does not throw: it is in the report (`races`, `check.reference.mismatch`).
 */
export async function runModel(model: Model, inputs: ReadonlyMap<string, Tensor>, options: RunOptions = {}): Promise<RunReport> {
  const driver = options.driver ?? 'fsim';
  if (options.races) await checkRaceDriver(driver);
  const byName = Object.fromEntries(inputs);
  const checkers: RaceChecker[] = [];
  const t0 = performance.now();
  const outcome = await runCompiled(model.compiled, byName, {
    driver,
    keepAll: !!options.check,
    ...(options.onStep ? { onStep: options.onStep } : {}),
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
  const runMs = performance.now() - t0;
  const kernels = model.compiled.kernels;
  const report: RunReport = {
    driver,
    outputs: new Map(Object.entries(outcome.outputs)),
    kernels: kernelReports(model, outcome.counters),
    totals: {
      insns: model.compiled.insnCount,
      uops: kernels.reduce((a, k) => a + k.uopCount, 0),
      dramBytes: kernels.reduce((a, k) => a + k.dramBytes, 0),
      minDramBytes: kernels.reduce((a, k) => a + k.minDramBytes, 0),
    },
    ...(options.races ? { races: checkers.flatMap((c) => c.report()) } : {}),
    timings: { runMs },
  };
  if (options.check) {
    const t1 = performance.now();
    const reference = checkAgainstReference(model.compiled, byName, outcome.tensors);
    // Only when VTA matched the reference bit for bit does onnxruntime vs reference also compare VTA.
    const onnxruntime = model.onnx && !reference.mismatch ? await checkWithOnnxruntime(model, byName) : undefined;
    report.check = { reference, ...(onnxruntime ? { onnxruntime } : {}) };
    report.timings.checkMs = performance.now() - t1;
  }
  return report;
}

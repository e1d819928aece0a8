/**
 * The toolchain as a library: open a model of any supported format, run it on a driver, get a
 * report. This is what the package exports ("." in package.json) and what the `vta` commands call.
 *
 *   const model = openModel('models/cnn.onnx');
 *   const report = await runModel(model, await modelInputs(model), { check: true });
 */
export { compileModel, formatOf, openModel, readModel } from './open.ts';
export type { Model, ModelFormat, OpenOptions, ReadOptions, SourceModel } from './open.ts';
export { modelInputs, randomInput } from './inputs.ts';
export { batchesOf, concatBatches, countBatches, sliceBatch } from './batches.ts';
export { describePlacement, placementOf } from './placement.ts';
export type { HostStep, Placement } from './placement.ts';
export { loadSession } from './session.ts';
export type { ParallelRun } from '../compiler/execute-parallel.ts';
export type { LoadedSession } from './session.ts';
export { checkRaceDriver, checkTimelineDriver, runModel } from './run.ts';
export { readLabels, topOneAccuracy } from './accuracy.ts';
export type { TopOne } from './accuracy.ts';
export type { KernelReport, RunOptions, RunReport } from './run.ts';
export { buildReport, reportOfRun, REPORT_FORMAT } from './report.ts';
export { buildTrace, traceOfRun } from './timeline.ts';
export type { TimelineRun, Trace, TraceEvent } from './timeline.ts';
export { parseProfileReport, profileToHtml } from '../viz/profile.ts';
export type { KernelProfile, ProfileReport, StageStalls } from '../viz/profile.ts';
export { importOnnx, ROUNDING_MODES, SCALE_MODES, SUPPORTED_OPS } from '../frontend/onnx/import.ts';
export type { ImportOptions, ImportResult, RoundingMode, ScaleMode } from '../frontend/onnx/import.ts';
export { packageParts, writePackage } from '../compiler/package.ts';
export { DEFAULT_TUNE_DRIVER, tuneGraph } from './tune.ts';
export type { TunedKernel, TuneOptions, TuneResult } from './tune.ts';
export { formatTuning, parseTuning, TUNING_FORMAT } from '../compiler/tuning.ts';
export type { TuningEntry, TuningFile } from '../compiler/tuning.ts';
export { formatOnnxComparison, outputStep } from '../frontend/ort-check.ts';
export type { OnnxComparison, OutputAgreement } from '../frontend/ort-check.ts';
export { describeMismatch } from '../compiler/check.ts';
export type { CheckResult, Mismatch } from '../compiler/check.ts';
export { loadConfig } from '../config/config.ts';
export type { VtaConfig } from '../config/config.ts';
export type { Tensor } from '../graph/ir.ts';

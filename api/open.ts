/**
 * Opening a model: a quantized ONNX file (imported once, its import kept for the onnxruntime
 * check), a vta-graph/1 JSON model, or a compiled .vtapkg. The result holds the graph, the
 * compiled model and the import notes; `runModel` (run.ts) runs it.
 */
import { loadConfig, makeConfig, sameHardware, type VtaConfig } from '../config/config.ts';
import { compileGraph, type CompiledModel, type CompileOptions } from '../compiler/compile.ts';
import { compileError } from '../compiler/errors.ts';
import type { FusionRules } from '../compiler/fuse.ts';
import { readPackage } from '../compiler/package.ts';
import { importOnnx, type ImportResult, type RoundingMode, type ScaleMode } from '../frontend/onnx/import.ts';
import type { Graph } from '../graph/ir.ts';
import { loadGraph } from '../graph/load.ts';
import { VtaError } from '../lib/errors.ts';
import { readFileCapped, fileErrorReason, readTextOrFail } from '../lib/files.ts';
import { applyTuning, parseTuning, refuseUnusedEntries, type AppliedTuning, type TuningFile } from '../compiler/tuning.ts';
import { FILE_LIMITS } from '../lib/limits.ts';

export type ModelFormat = 'onnx' | 'graph' | 'package';

/** The format a model file is read as, by its name: *.onnx, *.vtapkg, anything else vta-graph/1 JSON. */
export function formatOf(path: string): ModelFormat {
  return path.endsWith('.onnx') ? 'onnx' : path.endsWith('.vtapkg') ? 'package' : 'graph';
}

export interface ReadOptions {
  /** .onnx only: how scale ratios that are not powers of two are handled (default 'vta'). */
  scales?: ScaleMode;
  /** .onnx only: rounding of requantizations (default 'half_even', ONNX's). */
  rounding?: RoundingMode;
  /** Called with each import note (approximation, host requantization) as soon as it is known. */
  onNote?: (note: string) => void;
}

export interface OpenOptions extends ReadOptions {
  /** A config, or the path of a config JSON; default config/vta_config.json. */
  config?: VtaConfig | string;
  /** Fusion rules: an object or the path of a rules JSON; default compiler/fusion-rules.json. */
  rules?: FusionRules | string;
  /** 'all': every dense/conv2d/add must run on VTA (error otherwise); default 'auto'. */
  offload?: 'auto' | 'all';
  /** Print the compiler's state after this pass (see compiler/compile.ts passNames). */
  dumpAfter?: CompileOptions['dumpAfter'];
  /** Tilings chosen by `vta tune`: the path of a tuning file, or one already read (api/tune.ts). */
  tuning?: string | { file: TuningFile; path: string };
}

/** A model read from a file, not yet compiled. */
export interface SourceModel {
  path: string;
  format: 'onnx' | 'graph';
  graph: Graph;
  /** For .onnx: the import (IR names and scales of the ONNX inputs and outputs). */
  onnx?: ImportResult;
  /** Import notes: each approximation or host requantization, one line each. */
  notes: string[];
}

/** A model ready to run. */
export interface Model extends Omit<SourceModel, 'format'> {
  format: ModelFormat;
  compiled: CompiledModel;
  config: VtaConfig;
  timings: { openMs: number };
}

function refuseScales(path: string, options: ReadOptions): void {
  if (options.scales !== undefined) throw new VtaError('E_USAGE', `--scales applies to .onnx models only, not to ${path}`);
  if (options.rounding !== undefined) throw new VtaError('E_USAGE', `--rounding applies to .onnx models only, not to ${path}`);
}

/** Read a .onnx or vta-graph/1 JSON model (a .vtapkg is refused by the JSON loader: use openModel). */
export function readModel(path: string, options: ReadOptions = {}): SourceModel {
  if (formatOf(path) !== 'onnx') {
    refuseScales(path, options);
    return { path, format: 'graph', graph: loadGraph(path), notes: [] };
  }
  const onnx = importOnnx(path, { ...(options.scales ? { scales: options.scales } : {}), ...(options.rounding ? { rounding: options.rounding } : {}) });
  for (const n of onnx.notes) options.onNote?.(n);
  return { path, format: 'onnx', graph: onnx.graph, onnx, notes: onnx.notes };
}

const configOf = (c: VtaConfig | string | undefined): VtaConfig => (typeof c === 'object' ? c : loadConfig(c));

/** Compile a model read by readModel. */
export function compileModel(source: SourceModel, options: OpenOptions = {}, t0 = performance.now()): Model {
  const config = configOf(options.config);
  const tuning = options.tuning === undefined ? undefined : tuningOf(options.tuning, config);
  const compiled = compileGraph(source.graph, {
    config,
    ...(options.rules ? { rules: options.rules } : {}),
    ...(options.offload ? { offload: options.offload } : {}),
    ...(options.dumpAfter ? { dumpAfter: options.dumpAfter } : {}),
    ...(tuning ? { tilings: tuning.applied.tilings } : {}),
  });
  if (tuning) refuseUnusedEntries(tuning.applied, tuning.path);
  return { ...source, compiled, config, timings: { openMs: performance.now() - t0 } };
}

/** A tuning file read and checked against the config, as a compile option. */
function tuningOf(t: NonNullable<OpenOptions['tuning']>, config: VtaConfig): { applied: AppliedTuning; path: string } {
  const { file, path } = typeof t === 'string' ? { file: parseTuning(readTextOrFail(t, FILE_LIMITS.settings), t), path: t } : t;
  return { applied: applyTuning(file, path, config), path };
}

/** A .vtapkg, refused when `config` (if given) is other hardware than it was compiled for. */
function openPackage(path: string, options: OpenOptions, t0: number): Model {
  refuseScales(path, options);
  if (options.tuning !== undefined) throw new VtaError('E_USAGE', `--tuning applies when compiling a model, and ${path} is already compiled`);
  let bytes: Uint8Array;
  try {
    bytes = readFileCapped(path, FILE_LIMITS.package);
  } catch (e) {
    throw new VtaError('E_READ', `cannot read ${path}: ${fileErrorReason(e)}`);
  }
  // The bytes were read for this model alone: its images can be views on them.
  const compiled = readPackage(bytes, path, { adopt: true });
  const built = makeConfig(compiled.config);
  if (options.config && !sameHardware(configOf(options.config), built)) {
    const asked = typeof options.config === 'string' ? `--config ${options.config}` : `the config given (${options.config.bitstream})`;
    throw compileError('E_PACKAGE', path, `compiled for ${built.bitstream}, not for ${asked}`);
  }
  return { path, format: 'package', graph: compiled.graph, compiled, config: built, notes: [], timings: { openMs: performance.now() - t0 } };
}

/**
 * Open a model of any supported format, compiled for `options.config` (a .vtapkg is already
 * compiled: it must match the config when one is given). Errors are one-line VtaErrors naming the
 * file and what is wrong.
 */
export function openModel(path: string, options: OpenOptions = {}): Model {
  const t0 = performance.now();
  if (formatOf(path) === 'package') return openPackage(path, options, t0);
  return compileModel(readModel(path, options), options, t0);
}

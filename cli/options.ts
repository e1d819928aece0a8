/** Option helpers shared by the command modules. */
import { loadConfig, type VtaConfig } from '../config/config.ts';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { VtaError } from '../lib/errors.ts';
import { ROUNDING_MODES, SCALE_MODES } from '../api/index.ts';
import { MEMORY_PRESETS, memoryModel, type MemoryModel } from '../drivers/memory-model.ts';
import { maxOf } from '../lib/array-loops.ts';

/** --scales for .onnx models: how requantization ratios that are not powers of two are handled. */
export const SCALES_OPTION = {
  type: 'string',
  choices: SCALE_MODES,
  describe: '.onnx only: scale ratios that are not powers of two: vta (fixed-point m/2^s on VTA, error bound printed; the default), ' +
    'auto (vta where the bound is ≤ 0.005 output units, else exact on the host), host (exact ONNX requantization on the host), ' +
    'pow2 (round to a power of two: up to ±41% error), exact (refuse them)',
} as const;

/** --rounding for .onnx models: how requantizations round. */
export const ROUNDING_OPTION = {
  type: 'string',
  choices: ROUNDING_MODES,
  describe: ".onnx only: requantization rounding: half_even (ONNX's, the default; 9–10 ALU ops per element) or half_up (VTA's cheaper hardware rounding; 2–4)",
} as const;

/** --tuning for verbs that compile: the tilings `vta tune` chose (docs/tuning.md). */
export const TUNING_OPTION = {
  type: 'string',
  describe: 'tuning file written by vta tune: compile each kernel with the tiling chosen there by measured cycles',
} as const;

/** The config named by --config, or the default one. */
export function configFromArgs(argv: { config?: string }): VtaConfig {
  return loadConfig(argv.config);
}

/** Right-align numbers in a two-column table. */
export function formatTable(rows: [string, string | number][]): string {
  const w = maxOf(rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`).join('\n');
}

/** --budget: absent, or a positive whole number (NaN from `--budget abc` would disable the bound). */
export function checkBudget(budget: number | undefined): number | undefined {
  if (budget === undefined) return undefined;
  if (!Number.isSafeInteger(budget) || budget <= 0) {
    throw new VtaError('E_USAGE', `--budget must be a positive whole number, got ${Number.isNaN(budget) ? 'something that is not a number' : budget}`);
  }
  return budget;
}

/** Verbs whose input carries its config (or that need none) refuse --config rather than ignore it. */
export function refuseConfig(argv: { config?: string }, verb: string, why: string): void {
  if (argv.config !== undefined) throw new VtaError('E_USAGE', `--config does not apply to vta ${verb}: ${why}`);
}

/** A path as the file system resolves it (symbolic links followed where the file exists). */
function realPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/**
 * Every command with outputs calls this before doing any work: an output that is one of the
 * command's own inputs would destroy it, and two outputs naming one file would leave only the one
 * written last. `outputs` are [option, path] pairs (undefined when the option is not given),
 * compared by resolved path.
 */
export function refuseClashes(outputs: readonly (readonly [string, string | undefined])[], inputs: readonly string[]): void {
  const written = new Map<string, string>();
  for (const [option, output] of outputs) {
    if (output === undefined) continue;
    const target = realPath(output);
    const clash = inputs.find((i) => realPath(i) === target);
    if (clash !== undefined) throw new VtaError('E_USAGE', `${option} ${output} is also an input (${clash}): writing it would destroy the input`);
    const other = written.get(target);
    if (other !== undefined) throw new VtaError('E_USAGE', `${option} ${output} and ${other} name the same file: one output would replace the other`);
    written.set(target, `${option} ${output}`);
  }
}

/** `-o` naming one of the command's own inputs would destroy it: refuse before doing any work. */
export function refuseOverwrite(output: string | undefined, inputs: string[], option = '-o'): void {
  refuseClashes([[option, output]], inputs);
}

/**
 * Text before '=' that reads as a tensor name (ONNX names hold '.', ':' and '-') rather than as part
 * of a path: `qq=out/y.npy` names a tensor qq, `./a=b.npy` is a file.
 */
const TENSOR_NAME = /^[A-Za-z_][\w.:-]*$/;

/** NAME=FILE pairs of option --`option`, or a single FILE for a single name; `what` is input or output. */
export function assignFiles(specs: string[] | undefined, names: string[], what: 'input' | 'output', option: string = what): Map<string, string> {
  const out = new Map<string, string>();
  const known = `${what}s: ${names.join(', ')}`;
  for (const s of specs ?? []) {
    const eq = s.indexOf('=');
    const before = eq > 0 ? s.slice(0, eq) : '';
    let name: string;
    let file: string;
    if (names.includes(before)) {
      name = before;
      file = s.slice(eq + 1);
    } else if (TENSOR_NAME.test(before)) {
      throw new VtaError('E_USAGE', `--${option} ${s}: ${before} is not an ${what} of the model (${known}); write ./${s} for a file whose name holds '='`);
    } else if (names.length === 1) {
      name = names[0]!;
      file = s;
    } else {
      throw new VtaError('E_USAGE', `--${option} ${s}: the model has ${names.length} ${what}s, so give NAME=FILE.npy (${known})`);
    }
    if (file === '') throw new VtaError('E_USAGE', `--${option} ${s}: no file after '='`);
    const earlier = out.get(name);
    if (earlier !== undefined) throw new VtaError('E_USAGE', `--${option}: ${what} ${name} is given twice (${earlier} and ${file})`);
    out.set(name, file);
  }
  return out;
}

/** --memory and its overrides: the DRAM model of clocked drivers (tsim); hw/README.md "Memory model". */
export const MEMORY_OPTIONS = {
  memory: {
    type: 'string',
    choices: [...MEMORY_PRESETS.keys()],
    describe: 'timing and tsim: DRAM model named for a board (ideal: 1-cycle 64-bit memory as TVM\'s tsim, the default; pynq; ultra96; zcu104)',
  },
  'memory-latency': { type: 'number', describe: 'timing and tsim: cycles from a read request to its first beat (overrides the preset)' },
  'memory-outstanding': { type: 'number', describe: 'timing and tsim: read bursts in flight at once, 0 for no limit (overrides the preset)' },
  'memory-bus': { type: 'number', describe: 'timing and tsim: data bus bits, 64 or 128 (overrides the preset; on tsim each width is its own build)' },
  'memory-write-latency': { type: 'number', describe: 'timing and tsim: cycles from a write burst to its response (overrides the preset)' },
} as const;

export interface MemoryArgs {
  memory?: string;
  memoryLatency?: number;
  memoryOutstanding?: number;
  memoryBus?: number;
  memoryWriteLatency?: number;
}

/** The memory model the flags ask for, or undefined when none was given (the driver's default). */
export function memoryFromArgs(argv: MemoryArgs): MemoryModel | undefined {
  const overrides = {
    ...(argv.memoryLatency !== undefined ? { readLatency: argv.memoryLatency } : {}),
    ...(argv.memoryOutstanding !== undefined ? { outstanding: argv.memoryOutstanding } : {}),
    ...(argv.memoryBus !== undefined ? { busBits: argv.memoryBus } : {}),
    ...(argv.memoryWriteLatency !== undefined ? { writeLatency: argv.memoryWriteLatency } : {}),
  };
  if (argv.memory === undefined && Object.keys(overrides).length === 0) return undefined;
  return memoryModel(argv.memory ?? 'ideal', overrides);
}

/** What yargs knows of the current command's options (its `getOptions()`, the parts read here). */
export interface DeclaredOptions {
  key: Record<string, unknown>;
  array: string[];
  alias: Record<string, string[]>;
}

function flagName(key: string): string {
  return key.length === 1 ? `-${key}` : `--${key}`;
}

/**
 * An option that takes one value but was given several times (`-o a -o b`) reaches the command as
 * an array, which the command does not expect: refuse it here, for every verb, naming the option.
 * Options declared `array: true` (and variadic positionals) take several values and are left alone.
 */
export function refuseRepeatedOptions(argv: Record<string, unknown>, declared: DeclaredOptions): void {
  const many = new Set(declared.array);
  for (const key of Object.keys(declared.key)) {
    const value = argv[key];
    if (!Array.isArray(value)) continue;
    const names = [key, ...(declared.alias[key] ?? [])];
    if (names.some((n) => many.has(n))) continue;
    const spelled = names.map(flagName).join('/');
    throw new VtaError('E_USAGE', `${spelled} was given ${value.length} times (${value.map(String).join(', ')}): it takes one value`);
  }
}

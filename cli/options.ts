/** Option helpers shared by the command modules. */
import { loadConfig, type VtaConfig } from '../config/config.ts';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { VtaError } from '../lib/errors.ts';
import { ROUNDING_MODES, SCALE_MODES } from '../api/index.ts';

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

/** The config named by --config, or the default one. */
export function configFromArgs(argv: { config?: string }): VtaConfig {
  return loadConfig(argv.config);
}

/** Right-align numbers in a two-column table. */
export function formatTable(rows: [string, string | number][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
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

/** `-o` naming one of the command's own inputs would destroy it: refuse before doing any work. */
export function refuseOverwrite(output: string | undefined, inputs: string[], option = '-o'): void {
  if (output === undefined) return;
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  const target = real(output);
  const clash = inputs.find((i) => real(i) === target);
  if (clash !== undefined) throw new VtaError('E_USAGE', `${option} ${output} is also an input (${clash}): writing it would destroy the input`);
}

/**
 * Design-space sweeps: one model run at each point of a config grid (api/config-grid.ts) on a
 * clocked driver (default `timing`), recording cycles and DRAM traffic per point. Points are
 * independent: a slice of the grid runs on its own (`--points I..J`) and `mergeSweeps` joins the
 * slices' results into the table the whole grid gives (docs/tuning.md, "Splitting a sweep").
 */
import { createHash } from 'node:crypto';
import { describeMemory } from '../drivers/memory-model.ts';
import { getDriver } from '../drivers/registry.ts';
import type { FusionRules } from '../compiler/fuse.ts';
import type { Tensor } from '../graph/ir.ts';
import { describeValue } from '../lib/describe-value.ts';
import { VtaError } from '../lib/errors.ts';
import type { Counters } from '../sim/api.ts';
import { describeSettings, type ConfigGrid, type DesignPoint, type Setting } from './config-grid.ts';
import { compileModel, type Model, type SourceModel } from './open.ts';
import { runModel } from './run.ts';

export const SWEEP_FORMAT = 'vta-sweep/1';
export const DEFAULT_SWEEP_DRIVER = 'timing';

export interface SweepRow {
  index: number;
  settings: Setting[];
  /** The point's config (bitstream name) and DRAM model. */
  config: string;
  memory: string;
  /** Cycles of all VTA kernels of one inference, and the DRAM bytes they loaded and stored. */
  cycles?: number;
  dramBytes?: number;
  kernels?: number;
  insns?: number;
  /** Why the model did not run at this point (untileable, not offloaded, no driver build): one line. */
  error?: string;
}

export interface SweepResult {
  format: typeof SWEEP_FORMAT;
  model: string;
  driver: string;
  /** Identifies the grid (its normalized text): only slices of one grid merge. */
  grid: string;
  /** Points in the whole grid. */
  gridPoints: number;
  rows: SweepRow[];
}

export interface SweepOptions {
  driver?: string;
  rules?: FusionRules | string;
  /** The inputs every point runs (default: the model's seeded random inputs). */
  inputs: ReadonlyMap<string, Tensor>;
  /** Called as each point is done. */
  onPoint?: (row: SweepRow) => void;
}

/** The grid's identity, from its normalized form. */
export const gridDigest = (grid: ConfigGrid): string => createHash('sha256').update(JSON.stringify(grid.normalized)).digest('hex').slice(0, 16);

/** Loaded and stored DRAM bytes (micro-ops included, instruction fetch not). */
const trafficOf = (c: Counters): number =>
  c.uop_load_nbytes + c.inp_load_nbytes + c.wgt_load_nbytes + c.acc_load_nbytes + c.acc8_load_nbytes + c.out_store_nbytes;

/**
 * The model compiled for a point's config. Points that differ only in their DRAM model share the
 * config, and the grid's last axis varies fastest, so the last compilation (or its refusal) is
 * kept: one model in memory, not one per config of a large grid.
 */
function compilerFor(source: SourceModel, rules: SweepOptions['rules']): (config: DesignPoint['config']) => Model {
  let last: { key: string; model?: Model; error?: unknown } | undefined;
  return (config) => {
    const key = JSON.stringify(config.json);
    if (last?.key !== key) {
      last = { key };
      try {
        last.model = compileModel(source, { config, ...(rules ? { rules } : {}) });
      } catch (e) {
        last.error = e;
      }
    }
    if (last.error !== undefined) throw last.error;
    return last.model!;
  };
}

/** Run the model at one point; a VtaError (the model does not fit that hardware) becomes the row's error. */
async function runPoint(compile: (config: DesignPoint['config']) => Model, p: DesignPoint, driver: string, options: SweepOptions): Promise<SweepRow> {
  const row: SweepRow = { index: p.index, settings: p.settings, config: p.config.bitstream, memory: describeMemory(p.memory) };
  try {
    const info = await getDriver(driver, p.config);
    const model = compile(p.config);
    const report = await runModel(model, options.inputs, { driver, ...(info.modelsMemory ? { memory: p.memory } : {}) });
    const counters = report.kernels.flatMap((k) => (k.counters ? [k.counters] : []));
    return {
      ...row,
      cycles: counters.reduce((n, c) => n + (c.cycles ?? 0), 0),
      dramBytes: counters.reduce((n, c) => n + trafficOf(c), 0),
      kernels: report.kernels.length,
      insns: report.totals.insns,
    };
  } catch (e) {
    if (!(e instanceof VtaError)) throw e;
    return { ...row, error: `error[${e.code}]: ${e.message}` };
  }
}

/** Run `points` (all of a grid, or a slice) one after the other. */
export async function sweepPoints(source: SourceModel, grid: ConfigGrid, points: DesignPoint[], options: SweepOptions): Promise<SweepResult> {
  const driver = options.driver ?? DEFAULT_SWEEP_DRIVER;
  const info = await getDriver(driver);
  if (!info.clocked) throw new VtaError('E_USAGE', `--driver ${driver} counts no cycles: a sweep needs a clocked driver (timing, tsim)`);
  const dram = points.find((p) => p.setsMemory);
  if (dram && !info.modelsMemory) throw new VtaError('E_USAGE', `${grid.path}: point ${dram.index} sets the DRAM model, which the ${driver} driver does not model`);
  const rows: SweepRow[] = [];
  const compile = compilerFor(source, options.rules);
  for (const p of points) {
    const row = await runPoint(compile, p, driver, options);
    rows.push(row);
    options.onPoint?.(row);
  }
  return { format: SWEEP_FORMAT, model: source.path, driver, grid: gridDigest(grid), gridPoints: grid.points.length, rows };
}

const sweepError = (where: string, what: string) => new VtaError('E_GRID', `${where}: ${what}`);

/** A sweep result file (a slice's JSON), checked enough to merge. */
export function parseSweep(text: string, path: string): SweepResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw sweepError(path, `not valid JSON (${(e as Error).message})`);
  }
  const r = raw as Partial<SweepResult> | null;
  if (typeof r !== 'object' || r === null || r.format !== SWEEP_FORMAT) throw sweepError(path, `not a sweep result (format "${SWEEP_FORMAT}")`);
  for (const f of ['model', 'driver', 'grid'] as const) if (typeof r[f] !== 'string') throw sweepError(path, `${f} is ${describeValue(r[f])}, expected a string`);
  if (!Number.isSafeInteger(r.gridPoints) || !Array.isArray(r.rows)) throw sweepError(path, 'gridPoints and rows are missing');
  r.rows.forEach((row, i) => {
    if (typeof row !== 'object' || row === null || !Number.isSafeInteger(row.index) || row.index < 0 || row.index >= r.gridPoints! || !Array.isArray(row.settings)) {
      throw sweepError(`${path}: rows[${i}]`, 'not a sweep row with index (inside the grid) and settings');
    }
  });
  return r as SweepResult;
}

/** Slices of one grid joined in point order; a slice of another grid, or a point given twice, is refused. */
export function mergeSweeps(parts: { result: SweepResult; path: string }[]): SweepResult {
  const [first, ...rest] = parts;
  if (!first) throw new VtaError('E_USAGE', 'nothing to merge: give the sweep results of the slices');
  const seen = new Map<number, string>();
  for (const { result, path } of parts) {
    for (const f of ['model', 'driver', 'grid'] as const) {
      if (result[f] !== first.result[f]) throw sweepError(path, `${f} ${result[f]} differs from ${first.path}'s ${first.result[f]}: not a slice of the same sweep`);
    }
    for (const row of result.rows) {
      const other = seen.get(row.index);
      if (other !== undefined) throw sweepError(path, `point ${row.index} is also in ${other}`);
      seen.set(row.index, path);
    }
  }
  const rows = [first, ...rest].flatMap((p) => p.result.rows).sort((a, b) => a.index - b.index);
  return { ...first.result, rows };
}

/** The grid points a (merged) result lacks, for the message that a merge is partial. */
export const missingPoints = (r: SweepResult): number[] => {
  const have = new Set(r.rows.map((row) => row.index));
  return Array.from({ length: r.gridPoints }, (_, i) => i).filter((i) => !have.has(i));
};

const fields = (r: SweepResult): string[] => [...new Set(r.rows.flatMap((row) => row.settings.map((s) => s.field)))];

/** The table as text: one line per point, its settings, cycles, DRAM bytes, or its error. */
export function sweepText(r: SweepResult): string {
  const head = ['point', ...fields(r), 'config', 'cycles', 'DRAM bytes'];
  const body = r.rows.map((row) => [
    String(row.index),
    ...fields(r).map((f) => String(row.settings.find((s) => s.field === f)?.value ?? '')),
    row.config,
    row.cycles === undefined ? '-' : row.cycles.toLocaleString('en-US'),
    row.error ?? (row.dramBytes ?? 0).toLocaleString('en-US'),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n');
}

/** CSV, one row per point: index, each field, config, dram_model (the DRAM model in words), cycles, dram_bytes, kernels, insns, error. */
export function sweepCsv(r: SweepResult): string {
  const quote = (v: string | number | undefined) => {
    const s = v === undefined ? '' : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const f = fields(r);
  const lines = [['point', ...f, 'config', 'dram_model', 'cycles', 'dram_bytes', 'kernels', 'insns', 'error'].join(',')];
  for (const row of r.rows) {
    const values = [row.index, ...f.map((x) => row.settings.find((s) => s.field === x)?.value), row.config, row.memory, row.cycles, row.dramBytes, row.kernels, row.insns, row.error];
    lines.push(values.map(quote).join(','));
  }
  return lines.join('\n') + '\n';
}

/** One label per row for plots and messages. */
export const rowLabel = (row: SweepRow): string => `${row.index}: ${describeSettings(row.settings)}`;

/**
 * Config grids for `vta sweep`: a base config, axes whose cartesian product gives the design
 * points (the last axis varies fastest), and optional extra points. Every entry is checked before
 * anything runs; a bad one is one E_GRID line naming the file, the entry and the field.
 *
 *   { "format": "vta-config-grid/1",
 *     "base": "config/vta_config.json",             (a path, relative to the grid file, or config keys; default: the default config)
 *     "axes": { "LOG_BLOCK": [3, 4], "memory": ["ideal", "pynq"] },
 *     "points": [ { "LOG_BUS_WIDTH": 7, "memory": "zcu104" } ] }
 *
 * Fields: the config keys (LOG_BLOCK, LOG_BATCH, LOG_*_BUFF_SIZE, LOG_*_WIDTH, LOG_BUS_WIDTH) and
 * the DRAM model: `memory` (a preset), `memory_latency`, `memory_outstanding`,
 * `memory_write_latency`. A point's bus is LOG_BUS_WIDTH when it sets it, else its preset's.
 */
import { dirname, resolve } from 'node:path';
import { loadConfig, makeConfig, type VtaConfig } from '../config/config.ts';
import { configForMemory, MEMORY_PRESETS, memoryModel, type MemoryModel } from '../drivers/memory-model.ts';
import { layouts } from '../isa/fields.ts';
import { describeValue } from '../lib/describe-value.ts';
import { VtaError } from '../lib/errors.ts';
import { readTextOrFail } from '../lib/files.ts';
import { FILE_LIMITS } from '../lib/limits.ts';

export const GRID_FORMAT = 'vta-config-grid/1';

const CONFIG_FIELDS = [
  'LOG_INP_WIDTH', 'LOG_WGT_WIDTH', 'LOG_ACC_WIDTH', 'LOG_BATCH', 'LOG_BLOCK',
  'LOG_UOP_BUFF_SIZE', 'LOG_INP_BUFF_SIZE', 'LOG_WGT_BUFF_SIZE', 'LOG_ACC_BUFF_SIZE', 'LOG_BUS_WIDTH',
] as const;
/** The DRAM fields, each with the memory-model override it sets and its smallest value. */
const MEMORY_FIELDS = new Map<string, { override: 'readLatency' | 'outstanding' | 'writeLatency'; min: number }>([
  ['memory_latency', { override: 'readLatency', min: 1 }],
  ['memory_outstanding', { override: 'outstanding', min: 0 }],
  ['memory_write_latency', { override: 'writeLatency', min: 1 }],
]);
export const GRID_FIELDS: readonly string[] = [...CONFIG_FIELDS, 'memory', ...MEMORY_FIELDS.keys()];
const MAX_COUNT = 1_000_000;

/** One field's value at a design point. */
export interface Setting {
  field: string;
  value: number | string;
}

/** A design point: its settings, the config and DRAM model they give. */
export interface DesignPoint {
  index: number;
  settings: Setting[];
  config: VtaConfig;
  memory: MemoryModel;
  /** Whether the point sets any DRAM field (a driver without a DRAM model cannot run it). */
  setsMemory: boolean;
}

export interface ConfigGrid {
  path: string;
  /** The grid as read (base resolved to its keys), for the sweep's JSON: merging checks it is the same grid. */
  normalized: { base: Record<string, unknown>; axes: { field: string; values: (number | string)[] }[]; points: Setting[][] };
  points: DesignPoint[];
}

const gridError = (where: string, what: string) => new VtaError('E_GRID', `${where}: ${what}`);

/** A config or memory error's reason, without the `where` it was raised with; anything else is a bug and goes on. */
function reasonOf(e: unknown, where: string): string {
  if (!(e instanceof VtaError)) throw e;
  return e.message.startsWith(`${where}: `) ? e.message.slice(where.length + 2) : e.message;
}
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One value of a field, on its own: the right type and range (combinations are checked per point). */
function checkValue(field: string, value: unknown, base: VtaConfig, where: string): number | string {
  if (field === 'memory') {
    if (typeof value !== 'string' || !MEMORY_PRESETS.has(value)) throw gridError(where, `${describeValue(value)} is not a memory preset (${[...MEMORY_PRESETS.keys()].join(', ')})`);
    return value;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw gridError(where, `${describeValue(value)} is not a whole number`);
  const dram = MEMORY_FIELDS.get(field);
  if (dram) {
    if (value < dram.min || value > MAX_COUNT) throw gridError(where, `${value} is outside ${dram.min}..${MAX_COUNT}`);
    return value;
  }
  try {
    makeConfig({ ...base.json, [field]: value }, where);
  } catch (e) {
    throw gridError(where, reasonOf(e, where));
  }
  return value;
}

function checkField(field: string, where: string): void {
  if (!GRID_FIELDS.includes(field)) throw gridError(where, `unknown field ${describeValue(field)} (fields: ${GRID_FIELDS.join(', ')})`);
}

function readBase(raw: unknown, path: string): VtaConfig {
  if (raw === undefined) return loadConfig();
  const where = `${path}: base`;
  if (typeof raw === 'string') {
    try {
      return loadConfig(resolve(dirname(path), raw));
    } catch (e) {
      throw gridError(where, reasonOf(e, where));
    }
  }
  try {
    return makeConfig(raw, where);
  } catch (e) {
    throw gridError(where, reasonOf(e, where));
  }
}

function readAxes(raw: unknown, base: VtaConfig, path: string): { field: string; values: (number | string)[] }[] {
  if (raw === undefined) return [];
  if (!isRecord(raw)) throw gridError(`${path}: axes`, `${describeValue(raw)} is not an object of field: [values]`);
  return Object.entries(raw).map(([field, values]) => {
    checkField(field, `${path}: axes`);
    if (!Array.isArray(values) || values.length === 0) throw gridError(`${path}: axes.${field}`, `${describeValue(values)} is not a non-empty array of values`);
    const checked = values.map((v, i) => checkValue(field, v, base, `${path}: axes.${field}[${i}]`));
    const twice = checked.findIndex((v, i) => checked.indexOf(v) !== i);
    if (twice >= 0) throw gridError(`${path}: axes.${field}[${twice}]`, `${describeValue(checked[twice])} is listed twice`);
    return { field, values: checked };
  });
}

function readPoints(raw: unknown, base: VtaConfig, path: string): Setting[][] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw gridError(`${path}: points`, `${describeValue(raw)} is not an array of objects`);
  return raw.map((p, i) => {
    if (!isRecord(p)) throw gridError(`${path}: points[${i}]`, `${describeValue(p)} is not an object of field: value`);
    return Object.entries(p).map(([field, value]) => {
      checkField(field, `${path}: points[${i}]`);
      return { field, value: checkValue(field, value, base, `${path}: points[${i}].${field}`) };
    });
  });
}

/** Every combination of the axes' values, the last axis fastest. */
function product(axes: { field: string; values: (number | string)[] }[]): Setting[][] {
  let out: Setting[][] = [[]];
  for (const axis of axes) out = out.flatMap((s) => axis.values.map((value) => [...s, { field: axis.field, value }]));
  return axes.length ? out : [];
}

export const describeSettings = (s: Setting[]): string => (s.length ? s.map((x) => `${x.field}=${x.value}`).join(' ') : 'base');

/** The config and DRAM model of one point; an E_GRID line naming the point when they do not fit together. */
function designPoint(index: number, settings: Setting[], base: VtaConfig, where: string): DesignPoint {
  const value = (f: string) => settings.find((s) => s.field === f)?.value;
  const json: Record<string, unknown> = { ...base.json };
  for (const s of settings) if ((CONFIG_FIELDS as readonly string[]).includes(s.field)) json[s.field] = s.value;
  const at = `${where} (${describeSettings(settings)})`;
  try {
    let config = makeConfig(json, at);
    layouts(config); // refuses a config whose instruction fields no longer fit, naming the keys
    const overrides: Record<string, number> = {};
    for (const [field, { override }] of MEMORY_FIELDS) if (value(field) !== undefined) overrides[override] = value(field) as number;
    const bus = value('LOG_BUS_WIDTH') ?? (value('memory') === undefined ? base.logBusWidth : undefined);
    const memory = memoryModel((value('memory') as string | undefined) ?? 'ideal', { ...overrides, ...(bus !== undefined ? { busBits: 2 ** (bus as number) } : {}) });
    config = configForMemory(config, memory);
    const setsMemory = settings.some((s) => s.field === 'memory' || MEMORY_FIELDS.has(s.field));
    return { index, settings, config, memory, setsMemory };
  } catch (e) {
    throw gridError(at, reasonOf(e, at));
  }
}

/** Read and check a grid file: every point's config is valid before any runs. */
export function readGrid(path: string): ConfigGrid {
  let raw: unknown;
  try {
    raw = JSON.parse(readTextOrFail(path, FILE_LIMITS.settings));
  } catch (e) {
    if (e instanceof VtaError) throw e;
    throw gridError(path, `not valid JSON (${(e as Error).message})`);
  }
  return parseGrid(raw, path);
}

/** A grid already parsed from JSON (`path` names it in errors and anchors a relative base). */
export function parseGrid(raw: unknown, path: string): ConfigGrid {
  if (!isRecord(raw)) throw gridError(path, `a config grid is a JSON object with format "${GRID_FORMAT}"`);
  if (raw.format !== GRID_FORMAT) throw gridError(path, `format is ${describeValue(raw.format)}, expected "${GRID_FORMAT}"`);
  const extra = Object.keys(raw).find((k) => !['format', 'base', 'axes', 'points'].includes(k));
  if (extra !== undefined) throw gridError(path, `unknown entry ${describeValue(extra)} (entries: format, base, axes, points)`);
  const base = readBase(raw.base, path);
  const axes = readAxes(raw.axes, base, path);
  const extras = readPoints(raw.points, base, path);
  const all = [...product(axes), ...extras];
  if (all.length === 0) throw gridError(path, 'no design points: give axes or points');
  const points = all.map((s, i) => designPoint(i, s, base, `${path}: point ${i}`));
  return { path, normalized: { base: { ...base.json }, axes, points: extras }, points };
}

/**
 * The points `--point I` / `--points I..J` select (inclusive, 0-based, J clamped to the last
 * point), in grid order; all of them without a selection. I past the grid is an E_USAGE line.
 */
export function selectPoints(grid: ConfigGrid, spec: string | undefined): DesignPoint[] {
  if (spec === undefined) return grid.points;
  const m = /^(\d+)(?:\.\.(\d+))?$/.exec(spec);
  const last = grid.points.length - 1;
  if (!m) throw new VtaError('E_USAGE', `--points ${spec}: expected I or I..J (0-based, inclusive; the grid has points 0..${last})`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > hi || lo > last) throw new VtaError('E_USAGE', `--points ${spec}: outside the grid's points 0..${last}`);
  // J past the last point is clamped, so equal slices of a job array may overrun the grid's end.
  return grid.points.slice(lo, Math.min(hi, last) + 1);
}

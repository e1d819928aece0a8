/**
 * Tuning files (`vta tune` writes one, `vta compile --tuning FILE` reads it): per kernel the tiling
 * chosen by measured cycles. A kernel is identified by data, never by object keys: its anchor node,
 * its kind and its problem as the compiler prints it (shapes in tiles, epilogue resources), so an
 * entry applies only to the kernel it was tuned for, and a stale file is refused, not misapplied.
 *
 *   { "format": "vta-tuning/1", "config": "<bitstream>", "driver": "timing", "memory": "ideal",
 *     "kernels": [ { "node": "Conv_3", "kind": "conv", "problem": "NB1 CT4 56x56 -> ...",
 *                    "tiling": { "tOC": 4, "tIC": 4, "tOH": 14, "tOW": 14, "slots": 2 },
 *                    "cycles": { "default": 766920, "tuned": 701234 } }, ... ] }
 */
import type { VtaConfig } from '../config/config.ts';
import { VtaError } from '../lib/errors.ts';
import { describeValue } from '../lib/describe-value.ts';
import type { TilingOverride } from './passes/choose-tilings.ts';
import type { PackedKernel } from './passes/pack-constants.ts';
import { KERNEL_KINDS, loweringOf, type KernelKind } from './lower/table.ts';
import { CHOICE_FIELDS, tilingOfChoice, type TilingChoice } from './tuning-space.ts';

export const TUNING_FORMAT = 'vta-tuning/1';

export interface TuningEntry {
  /** The kernel's anchor node (conv2d, dense or add). */
  node: string;
  kind: KernelKind;
  /** The kernel's problem as `--dump-after build-problems` prints it. */
  problem: string;
  tiling: TilingChoice;
  /** What the tuner measured, for the record (not read back). */
  cycles?: { default: number; tuned: number };
}

export interface TuningFile {
  format: typeof TUNING_FORMAT;
  /** The config's bitstream name: a file applies to that hardware only. */
  config: string;
  /** The driver whose cycles chose the tilings, and its memory model. */
  driver: string;
  memory?: string;
  kernels: TuningEntry[];
}

/** The identity of a kernel in a tuning file. */
export const entryKey = (e: Pick<TuningEntry, 'node' | 'kind' | 'problem'>): string => JSON.stringify([e.node, e.kind, e.problem]);

export const kernelIdentity = (k: PackedKernel): Pick<TuningEntry, 'node' | 'kind' | 'problem'> => ({
  node: k.group.anchor.name,
  kind: k.kind,
  problem: loweringOf(k.kind).describeProblem(k.problem as never),
});

const tuningError = (where: string, what: string) => new VtaError('E_TUNING', `${where}: ${what}`);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringField(o: Record<string, unknown>, field: string, where: string): string {
  const v = o[field];
  if (typeof v !== 'string' || v === '') throw tuningError(where, `${field} is ${describeValue(v)}, expected a non-empty string`);
  return v;
}

function parseChoice(v: unknown, kind: KernelKind, where: string): TilingChoice {
  if (!isRecord(v)) throw tuningError(where, `tiling is ${describeValue(v)}, expected an object with ${CHOICE_FIELDS[kind].join(', ')}`);
  const fields = CHOICE_FIELDS[kind];
  const extra = Object.keys(v).find((f) => !fields.includes(f));
  if (extra !== undefined) throw tuningError(`${where}.tiling`, `unknown field ${describeValue(extra)} for a ${kind} kernel (fields: ${fields.join(', ')})`);
  const out: Record<string, number> = {};
  for (const f of fields) {
    const n = v[f];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw tuningError(`${where}.tiling.${f}`, `${describeValue(n)} is not a positive whole number`);
    out[f] = n;
  }
  return out as unknown as TilingChoice;
}

function parseEntry(v: unknown, where: string): TuningEntry {
  if (!isRecord(v)) throw tuningError(where, `${describeValue(v)} is not an object with node, kind, problem and tiling`);
  const kind = stringField(v, 'kind', where);
  if (!(KERNEL_KINDS as string[]).includes(kind)) throw tuningError(`${where}.kind`, `${describeValue(kind)} is not a kernel kind (${KERNEL_KINDS.join(', ')})`);
  const k = kind as KernelKind;
  const entry: TuningEntry = { node: stringField(v, 'node', where), kind: k, problem: stringField(v, 'problem', where), tiling: parseChoice(v.tiling, k, where) };
  return v.cycles === undefined ? entry : { ...entry, cycles: parseCycles(v.cycles, `${where}.cycles`) };
}

function parseCycles(v: unknown, where: string): { default: number; tuned: number } {
  const whole = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!isRecord(v) || !whole(v.default) || !whole(v.tuned)) throw tuningError(where, `${describeValue(v)} is not {"default": N, "tuned": N} in whole cycles`);
  return { default: v.default as number, tuned: v.tuned as number };
}

/** A tuning file's JSON text, checked field by field; errors are one line naming `path` and the field. */
export function parseTuning(text: string, path: string): TuningFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw tuningError(path, `not valid JSON (${(e as Error).message})`);
  }
  if (!isRecord(raw)) throw tuningError(path, `a tuning file is a JSON object with format "${TUNING_FORMAT}"`);
  if (raw.format !== TUNING_FORMAT) throw tuningError(path, `format is ${describeValue(raw.format)}, expected "${TUNING_FORMAT}"`);
  const config = stringField(raw, 'config', path);
  const driver = stringField(raw, 'driver', path);
  const memory = raw.memory === undefined ? undefined : stringField(raw, 'memory', path);
  if (!Array.isArray(raw.kernels)) throw tuningError(path, `kernels is ${describeValue(raw.kernels)}, expected an array of entries`);
  const kernels = raw.kernels.map((e, i) => parseEntry(e, `${path}: kernels[${i}]`));
  const seen = new Map<string, number>();
  kernels.forEach((e, i) => {
    const first = seen.get(entryKey(e));
    if (first !== undefined) throw tuningError(`${path}: kernels[${i}]`, `node ${e.node} is tuned twice (also kernels[${first}])`);
    seen.set(entryKey(e), i);
  });
  return { format: TUNING_FORMAT, config, driver, ...(memory !== undefined ? { memory } : {}), kernels };
}

/** The file's text: one kernel per line, so that diffs between tunings read per kernel. */
export function formatTuning(t: TuningFile): string {
  const head = JSON.stringify({ format: t.format, config: t.config, driver: t.driver, ...(t.memory ? { memory: t.memory } : {}) });
  const lines = t.kernels.map((e) => '  ' + JSON.stringify(e));
  return `${head.slice(0, -1)},\n "kernels": [\n${lines.join(',\n')}\n ]}\n`;
}

/** The compile option applying a tuning file, and the entries no kernel used (a file for another model). */
export interface AppliedTuning {
  tilings: TilingOverride;
  unused(): TuningEntry[];
}

/**
 * The `tilings` compile option for a tuning file. A kernel without an entry keeps the cost model's
 * tiling; an entry whose node's kernel has another problem, or whose tiling does not fit, is an
 * E_TUNING error naming the file and node (the file is stale: tune again).
 */
export function applyTuning(t: TuningFile, path: string, cfg: VtaConfig): AppliedTuning {
  if (t.config !== cfg.bitstream) throw tuningError(path, `tuned for ${t.config}, but compiling for ${cfg.bitstream}`);
  const byKey = new Map(t.kernels.map((e) => [entryKey(e), e]));
  const byNode = new Map(t.kernels.map((e) => [e.node, e]));
  const used = new Set<TuningEntry>();
  const tilings: TilingOverride = (k, config) => {
    const id = kernelIdentity(k);
    const entry = byKey.get(entryKey(id));
    if (!entry) {
      const stale = byNode.get(id.node);
      if (stale) throw tuningError(path, `node ${id.node} was tuned as ${stale.kind} ${stale.problem}, but its kernel is ${id.kind} ${id.problem} (tune again)`);
      return undefined;
    }
    const r = tilingOfChoice(k, entry.tiling, config);
    if ('why' in r) throw tuningError(path, `node ${id.node}: tiling does not fit: ${r.why}`);
    used.add(entry);
    return r.tiling;
  };
  return { tilings, unused: () => t.kernels.filter((e) => !used.has(e)) };
}

/** After a compilation with applyTuning's option: an entry no kernel used means the file is for another model. */
export function refuseUnusedEntries(applied: AppliedTuning, path: string): void {
  const [first, ...rest] = applied.unused();
  if (first) throw tuningError(path, `node ${first.node} (${first.kind}) is not a VTA kernel of this model${rest.length ? ` (nor ${rest.length} more entries)` : ''}: the file was tuned for another model or fusion`);
}

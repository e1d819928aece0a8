/**
 * Run bundles (`vta-bundle/1`, conformance/README.md): a DRAM image, an instruction stream in it
 * and the regions to read back. Parsing names the bundle file and the bad field in one line;
 * replay places the image at its exact physical address on any Driver and returns the outputs.
 */
import { type VtaConfig, makeConfig, sameHardware } from '../config/config.ts';
import { VtaError } from '../lib/errors.ts';
import { byName, hasName, nameRecord, setName } from '../lib/named.ts';
import { fileErrorReason, readFileCapped } from '../lib/files.ts';
import type { Counters } from '../sim/api.ts';
import type { DeviceBuffer, Driver, RunOptions, StageSpan } from './api.ts';
import type { MemoryModel } from './memory-model.ts';
import { PAGE_BYTES, PHYS_LIMIT } from '../sim/memory.ts';
import { describeValue } from '../lib/describe-value.ts';
import { FILE_LIMITS, MAX_BUNDLE_OUTPUT_BYTES } from '../lib/limits.ts';

export const BUNDLE_FORMAT = 'vta-bundle/1';

export interface BundleOutput {
  name: string;
  addr: number;
  bytes: number;
}

export interface Bundle {
  /** Where it came from (file path), for messages. */
  source: string;
  config: VtaConfig;
  memory: { base: number; data: Uint8Array };
  insn: { addr: number; count: number };
  outputs: BundleOutput[];
}

export interface ReplayResult {
  outputs: Record<string, Uint8Array>;
  counters: Counters;
  /** With RunOptions.timeline on a driver that records one. */
  spans?: StageSpan[];
  /** The DRAM model of a driver that has one (tsim). */
  memory?: MemoryModel;
}

export interface Mismatch {
  name: string;
  /** First differing byte offset, or -1 when the output is missing or has another length. */
  offset: number;
  actual: number | undefined;
  expected: number | undefined;
  message: string;
}

export class BundleError extends VtaError {
  constructor(message: string) {
    super('E_BUNDLE', message);
  }
}

const hex = (n: number) => '0x' + n.toString(16);

/**
 * Bound on the bytes a bundle reads back: each output is allocated, copied and written as base64
 * in the result, so a typo such as 2^31 would otherwise take gigabytes and end in a crash.
 */
export { MAX_BUNDLE_OUTPUT_BYTES as MAX_OUTPUT_BYTES };

function readJson(path: string): unknown {
  let text: string;
  try {
    text = Buffer.from(readFileCapped(path, FILE_LIMITS.bundle)).toString('utf8');
  } catch (e) {
    throw new BundleError(`${path}: cannot read (${fileErrorReason(e)})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BundleError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64(where: string, field: string, v: unknown): Uint8Array {
  if (typeof v !== 'string' || v.length % 4 !== 0 || !BASE64.test(v)) {
    throw new BundleError(`${where}: ${field} must be a base64 string`);
  }
  const b = Buffer.from(v, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function object(where: string, field: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BundleError(`${where}: ${field} must be an object`);
  return v as Record<string, unknown>;
}

function integer(where: string, field: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new BundleError(`${where}: ${field} is ${describeValue(v)}; expected an integer in [${lo}, ${hi}]`);
  }
  return v;
}

/** Validate a parsed bundle; `where` (the file) prefixes every message. */
export function parseBundle(raw: unknown, where: string): Bundle {
  const top = object(where, 'the bundle', raw);
  if (top.format !== BUNDLE_FORMAT) throw new BundleError(`${where}: format is ${describeValue(top.format)}; expected "${BUNDLE_FORMAT}"`);
  const config = makeConfig(top.config, `${where}: config`);
  const mem = object(where, 'memory', top.memory);
  const base = integer(where, 'memory.base', mem.base, PAGE_BYTES, PHYS_LIMIT - 1);
  const data = base64(where, 'memory.data', mem.data);
  if (base + data.length > PHYS_LIMIT) throw new BundleError(`${where}: memory.data (${data.length} bytes at ${hex(base)}) ends past 4 GiB`);
  const insn = object(where, 'insn', top.insn);
  const addr = integer(where, 'insn.addr', insn.addr, PAGE_BYTES, PHYS_LIMIT - 1);
  // No alignment check: the README says insn.addr is 16-byte aligned, but the 40 bundles based at
  // 0x2345 start their stream there, and TVM's fsim (the golden model) reads any byte address.
  const count = integer(where, 'insn.count', insn.count, 1, 2 ** 28);
  if (addr < base || addr + count * 16 > base + data.length) {
    throw new BundleError(`${where}: insn [${hex(addr)}, ${hex(addr + count * 16)}) is not inside the memory image [${hex(base)}, ${hex(base + data.length)})`);
  }
  if (!Array.isArray(top.outputs) || top.outputs.length === 0) throw new BundleError(`${where}: outputs must be a non-empty array`);
  const names = new Set<string>();
  let outputBytes = 0;
  const outputs = top.outputs.map((o: unknown, i: number): BundleOutput => {
    const f = `outputs[${i}]`;
    const out = object(where, f, o);
    if (typeof out.name !== 'string' || out.name === '') throw new BundleError(`${where}: ${f}.name must be a non-empty string`);
    if (names.has(out.name)) throw new BundleError(`${where}: ${f}.name "${out.name}" is used twice`);
    names.add(out.name);
    const oAddr = integer(where, `${f}.addr`, out.addr, PAGE_BYTES, PHYS_LIMIT - 1);
    const bytes = integer(where, `${f}.bytes`, out.bytes, 1, PHYS_LIMIT - oAddr);
    outputBytes += bytes;
    if (outputBytes > MAX_BUNDLE_OUTPUT_BYTES) {
      throw new BundleError(`${where}: ${f}.bytes is ${bytes}; the outputs of a bundle may total at most ${MAX_BUNDLE_OUTPUT_BYTES} bytes (64 MiB, docs/limits.md)`);
    }
    return { name: out.name, addr: oAddr, bytes };
  });
  return { source: where, config, memory: { base, data }, insn: { addr, count }, outputs };
}

export function loadBundle(path: string): Bundle {
  return parseBundle(readJson(path), path);
}

/** Parse `NAME.expected.json` (`{ "outputs": { name: base64 } }`). */
export function parseExpected(raw: unknown, where: string): Record<string, Uint8Array> {
  const top = object(where, 'the expected result', raw);
  const outs = object(where, 'outputs', top.outputs);
  return nameRecord(Object.entries(outs).map(([name, v]) => [name, base64(where, `outputs.${name}`, v)] as const));
}

export function loadExpected(path: string): Record<string, Uint8Array> {
  return parseExpected(readJson(path), path);
}

/** Page ranges covering the image and every output, merged where they overlap or touch. */
export function replayRanges(bundle: Bundle): { start: number; end: number }[] {
  const spans = [
    { start: bundle.memory.base, end: bundle.memory.base + bundle.memory.data.length },
    ...bundle.outputs.map((o) => ({ start: o.addr, end: o.addr + o.bytes })),
  ]
    .filter((s) => s.end > s.start)
    .map((s) => ({ start: Math.floor(s.start / PAGE_BYTES) * PAGE_BYTES, end: Math.ceil(s.end / PAGE_BYTES) * PAGE_BYTES }))
    .sort((a, b) => a.start - b.start);
  const merged: { start: number; end: number }[] = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last && s.start <= last.end) last.end = Math.max(last.end, s.end);
    else merged.push({ ...s });
  }
  return merged;
}

/**
 * Replay a bundle on an open driver: allocate the memory it needs, copy the image, run, read the
 * outputs. The allocations are freed afterwards, so one driver can replay many bundles.
 */
export async function replayBundle(driver: Driver, bundle: Bundle, options: RunOptions = {}): Promise<ReplayResult> {
  if (!sameHardware(driver.config, bundle.config)) {
    throw new BundleError(`${bundle.source}: config ${bundle.config.bitstream} differs from the ${driver.name} driver's ${driver.config.bitstream}`);
  }
  const buffers: DeviceBuffer[] = [];
  try {
    for (const r of replayRanges(bundle)) buffers.push(driver.memAllocAt(r.start, r.end - r.start));
    const holding = (addr: number) => buffers.find((b) => addr >= b.phys && addr < b.phys + b.bytes)!;
    const { base, data } = bundle.memory;
    if (data.length > 0) {
      const img = holding(base);
      driver.copyFromHost(img, data, base - img.phys);
    }
    const { counters, spans, memory } = await driver.run(bundle.insn.addr, bundle.insn.count, options);
    const outputs = nameRecord<Uint8Array>();
    for (const o of bundle.outputs) {
      const buf = holding(o.addr);
      const bytes = new Uint8Array(o.bytes);
      driver.copyToHost(bytes, buf, o.addr - buf.phys);
      setName(outputs, o.name, bytes);
    }
    return { outputs, counters, ...(spans ? { spans } : {}), ...(memory ? { memory } : {}) };
  } finally {
    for (const b of buffers) driver.memFree(b);
  }
}

/** Exact comparison of replay outputs with expected bytes: one entry per differing output. */
export function compareOutputs(actual: Record<string, Uint8Array>, expected: Record<string, Uint8Array>): Mismatch[] {
  const out: Mismatch[] = [];
  for (const [name, exp] of Object.entries(expected)) {
    const act = byName(actual, name);
    if (!act) {
      out.push({ name, offset: -1, actual: undefined, expected: undefined, message: `output ${name} is missing` });
      continue;
    }
    const n = Math.min(act.length, exp.length);
    let i = 0;
    while (i < n && act[i] === exp[i]) i++;
    if (i < n) {
      out.push({ name, offset: i, actual: act[i], expected: exp[i], message: `output ${name} differs at byte ${i}: got ${hex(act[i]!)}, expected ${hex(exp[i]!)}` });
    } else if (act.length !== exp.length) {
      out.push({ name, offset: -1, actual: undefined, expected: undefined, message: `output ${name} has ${act.length} bytes, expected ${exp.length}` });
    }
  }
  for (const name of Object.keys(actual)) {
    if (!hasName(expected, name)) out.push({ name, offset: -1, actual: undefined, expected: undefined, message: `output ${name} is not in the expected result` });
  }
  return out;
}

/** The replay result as written by the CLI: outputs in base64 plus the counters. */
export function resultJson(result: ReplayResult): { outputs: Record<string, string>; counters: Counters; memory?: MemoryModel } {
  const outputs = nameRecord(Object.entries(result.outputs).map(([name, bytes]) => [name, Buffer.from(bytes).toString('base64')] as const));
  return { outputs, counters: result.counters, ...(result.memory ? { memory: result.memory } : {}) };
}

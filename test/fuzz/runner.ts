/**
 * The fuzzers' shared parts: a seeded PRNG, the campaign size, and a case runner that classifies
 * each outcome. A case must end as a correct result or a clean refusal (one line, a known
 * `error[CODE]`), within a time and heap bound; anything else (an internal error, a stack overflow,
 * a multi-line message, a slow or memory-hungry case, a wrong result) is a failure: its seed is
 * printed and its input saved under test/fuzz/failures/ with a one-line command to replay it.
 * A failure of a known, not yet fixed class (pending.ts) is counted apart and does not fail the run.
 *
 * Size: `make test` runs the smoke size; `make fuzz` sets FUZZ=full (thousands of cases per file).
 * FUZZ_CASES=N sets the case count of every file, FUZZ_SEED=S the first seed, FUZZ_ONLY=SEED runs
 * one case (the replay command).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../../lib/error-codes.ts';
import { isVtaError } from '../../lib/errors.ts';
import { mulberry32 } from '../../lib/random.ts';
import { pendingReason, pendingSkip } from './pending.ts';

export const FAILURES_DIR = join(import.meta.dirname, 'failures');

export interface Rand {
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  bit(p?: number): boolean;
  bytes(n: number): Uint8Array;
}

export function prng(seed: number): Rand {
  const next = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return {
    int,
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
    bit: (p = 0.5) => next() < p,
    bytes: (n) => Uint8Array.from({ length: n }, () => int(0, 255)),
  };
}

/** The seeds a fuzz file runs: `smoke` of them in the suite, `full` under `make fuzz`. */
export function campaignSeeds(smoke: number, full: number): number[] {
  const only = process.env.FUZZ_ONLY;
  if (only !== undefined && only !== '') return [Number(only)];
  const n = process.env.FUZZ_CASES ? Number(process.env.FUZZ_CASES) : process.env.FUZZ === 'full' ? full : smoke;
  const first = Number(process.env.FUZZ_SEED ?? 1);
  return Array.from({ length: n }, (_, i) => first + i);
}

/** How one case ended. */
export type Outcome = { kind: 'ok' } | { kind: 'refused'; code: string } | { kind: 'failed'; why: string };

/** Classify a thrown value: a clean refusal is a VtaError with a catalogued code and a one-line message. */
export function classifyError(e: unknown): Outcome {
  if (isVtaError(e)) {
    if (!Object.hasOwn(ERROR_CODES, e.code)) return { kind: 'failed', why: `unknown error code ${e.code}: ${e.message}` };
    if (/[\r\n]/.test(e.message)) return { kind: 'failed', why: `error[${e.code}] message spans several lines` };
    if (e.code === 'E_INTERNAL') return { kind: 'failed', why: `internal error: ${e.message}` };
    return { kind: 'refused', code: e.code };
  }
  const err = e as Error;
  return { kind: 'failed', why: `internal error (${err?.name ?? typeof e}): ${String(err?.message ?? e).split('\n')[0]}` };
}

export interface CaseInput {
  /** The fuzz file's name (`npy`, `onnx`, …): the failure file name and the replay command. */
  target: string;
  seed: number;
  /** The mutation class (`header-brace`, `field:dims`): what pending.ts lists. */
  category: string;
  /** The input as a file, saved on failure. */
  bytes: Uint8Array;
  ext: string;
}

export interface CampaignReport {
  cases: number;
  ok: number;
  refused: Map<string, number>;
  failures: string[];
  pending: string[];
}

export function newReport(): CampaignReport {
  return { cases: 0, ok: 0, refused: new Map(), failures: [], pending: [] };
}

/** Bounds per case: generous for a parser, far below a hang or a runaway allocation. */
export const CASE_MS = Number(process.env.FUZZ_CASE_MS ?? 10_000);
export const CASE_HEAP_BYTES = 512 * 2 ** 20;

/**
 * Run one case: `run` returns the outcome of a correct result check (throwing refusals), and the
 * time and heap growth are bounded. Failures are saved and described in `report`.
 */
export async function runCase(
  report: CampaignReport,
  input: CaseInput,
  run: () => Promise<Outcome | void> | Outcome | void,
  bound: { ms: number } = { ms: CASE_MS },
): Promise<Outcome> {
  const skip = pendingSkip(input.target, input.category);
  if (skip) {
    report.cases++;
    report.pending.push(`${input.target} seed ${input.seed} [${input.category}]: not run — pending: ${skip}`);
    return { kind: 'failed', why: 'pending' };
  }
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  let outcome: Outcome;
  try {
    outcome = (await run()) ?? { kind: 'ok' };
  } catch (e) {
    outcome = classifyError(e);
  }
  const ms = performance.now() - t0;
  const grew = process.memoryUsage().heapUsed - heap0;
  if (outcome.kind !== 'failed' && ms > bound.ms) outcome = { kind: 'failed', why: `took ${Math.round(ms)} ms (bound ${bound.ms} ms)` };
  if (outcome.kind !== 'failed' && grew > CASE_HEAP_BYTES) outcome = { kind: 'failed', why: `heap grew ${Math.round(grew / 2 ** 20)} MiB (bound ${CASE_HEAP_BYTES / 2 ** 20} MiB)` };
  record(report, input, outcome);
  return outcome;
}

function record(report: CampaignReport, input: CaseInput, outcome: Outcome): void {
  report.cases++;
  if (outcome.kind === 'ok') report.ok++;
  else if (outcome.kind === 'refused') report.refused.set(outcome.code, (report.refused.get(outcome.code) ?? 0) + 1);
  else {
    const file = saveFailure(input);
    const line = `${input.target} seed ${input.seed} [${input.category}]: ${outcome.why} (input: ${file}; replay: FUZZ_ONLY=${input.seed} npx vitest run test/fuzz/${input.target}.test.ts)`;
    const pending = pendingReason(input.target, input.category, outcome.why);
    if (pending) report.pending.push(`${line} — pending: ${pending}`);
    else {
      report.failures.push(line);
      console.error(`FUZZ FAILURE ${line}`);
    }
  }
}

function saveFailure(input: CaseInput): string {
  mkdirSync(FAILURES_DIR, { recursive: true });
  const file = join(FAILURES_DIR, `${input.target}-${input.seed}.${input.ext}`);
  writeFileSync(file, input.bytes);
  return file;
}

/** One summary line: `npy: 300 cases, 120 ok, refused E_NPY 170, E_READ 10; 0 failures, 2 pending`. */
export function summary(target: string, r: CampaignReport): string {
  const refused = [...r.refused].sort().map(([c, n]) => `${c} ${n}`).join(', ');
  return `${target}: ${r.cases} cases, ${r.ok} ok, refused ${refused || 'none'}; ${r.failures.length} failures, ${r.pending.length} pending`;
}

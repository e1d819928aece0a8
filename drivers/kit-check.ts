/**
 * One conformance-kit check of a bundle on a driver (conformance/README.md): the replay must give
 * exactly the expected bytes, or, where the expected result is `{ "error": "E_…" }`, be refused with
 * that code; on a driver that reports SRAM accesses, the bundle must also be race-free (a racy
 * bundle's bytes depend on how a driver overlaps its stages, so it proves nothing).
 * `vta conformance` and the test suite both check through here.
 */
import { ERROR_CODES, type ErrorCode } from '../lib/error-codes.ts';
import { describeError, isVtaError } from '../lib/errors.ts';
import { readFileSync } from 'node:fs';
import { RaceChecker } from '../sim/race-checker.ts';
import type { Driver } from './api.ts';
import { type Bundle, BundleError, compareOutputs, loadExpected, replayBundle } from './bundle.ts';

/** What a kit bundle must give: these output bytes, or a refusal with this code. */
export type KitExpectation = { outputs: Record<string, Uint8Array> } | { error: ErrorCode };

export function loadKitExpectation(path: string): KitExpectation {
  const raw = refusalOrUndefined(path);
  if (raw !== undefined) {
    const code = (raw as { error: unknown }).error;
    if (typeof code !== 'string' || !Object.hasOwn(ERROR_CODES, code)) {
      throw new BundleError(`${path}: error must be an error code of docs/errors.md, not ${JSON.stringify(code)}`);
    }
    return { error: code as ErrorCode };
  }
  return { outputs: loadExpected(path) };
}

/** The parsed file when it is an expected refusal (`{ "error": … }`); loadExpected reports anything unreadable. */
function refusalOrUndefined(path: string): object | undefined {
  try {
    const raw: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return raw !== null && typeof raw === 'object' && !Array.isArray(raw) && 'error' in raw ? raw : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Replay `bundle` on `driver` and return what is wrong (empty: it conforms). `observes`: the
 * driver calls run observers, so the race checker runs alongside.
 */
export async function checkKitBundle(driver: Driver, bundle: Bundle, expected: KitExpectation, observes: boolean): Promise<string[]> {
  const checker = observes ? new RaceChecker(bundle.config) : undefined;
  let outputs: Record<string, Uint8Array>;
  try {
    outputs = (await replayBundle(driver, bundle, checker ? { observer: checker } : {})).outputs;
  } catch (e) {
    if ('error' in expected && isVtaError(e) && e.code === expected.error) return [];
    return [`${'error' in expected ? `expected error[${expected.error}], got ` : ''}${describeError(e)}`];
  }
  if ('error' in expected) return [`expected error[${expected.error}], but the replay succeeded`];
  const problems = compareOutputs(outputs, expected.outputs).map((m) => m.message);
  const races = checker?.report() ?? [];
  if (races.length) problems.push(`the bundle is racy (a kit bundle must be race-free): ${races.length} unordered SRAM access pair(s); first: ${races[0]}`);
  return problems;
}

/**
 * Compiler errors: a stable code, the graph node concerned, and a one-line message built from the
 * table below (so every message for a code reads the same way and docs/compiler.md can list them).
 * Callers create errors with `compileError(code, node, details)`; the message always starts with
 * `node NAME (OP)` when a node is known.
 */
import { VtaError } from '../lib/errors.ts';
import type { GraphNode } from '../graph/ir.ts';

export const CompileErrorCodes = {
  /** The op is neither lowerable to VTA nor executable on the host. */
  E_UNKNOWN_OP: 'E_UNKNOWN_OP',
  /** No tiling makes the operator fit the SRAM buffers / instruction fields of the config. */
  E_UNTILEABLE: 'E_UNTILEABLE',
  /** The graph itself is inconsistent (missing tensor, shape or dtype mismatch). */
  E_MODEL: 'E_MODEL',
  /** A node had to run on VTA (offload 'all') but cannot: an op, attribute or epilogue VTA lacks. */
  E_NOT_OFFLOADED: 'E_NOT_OFFLOADED',
  /** A fusion-rules file is malformed. */
  E_RULES: 'E_RULES',
  /** A .vtapkg artifact is malformed or for another config. */
  E_PACKAGE: 'E_PACKAGE',
  /** Inputs given to a run do not match the compiled model. */
  E_INPUT: 'E_INPUT',
  /** `--check` found a difference with the reference executor. */
  E_MISMATCH: 'E_MISMATCH',
  /** A pass broke an invariant of the compiler (a bug of ours, reported with the node). */
  E_INTERNAL: 'E_INTERNAL',
} as const;
export type CompileErrorCode = keyof typeof CompileErrorCodes;

/** What each code means, used as the message prefix after the node. */
const MESSAGES: Record<CompileErrorCode, string> = {
  E_UNKNOWN_OP: 'unknown op',
  E_UNTILEABLE: 'cannot be tiled for this VTA config',
  E_MODEL: 'malformed model',
  E_NOT_OFFLOADED: 'cannot run on VTA',
  E_RULES: 'bad fusion rules',
  E_PACKAGE: 'bad .vtapkg artifact',
  E_INPUT: 'bad input',
  E_MISMATCH: 'result differs from the reference',
  E_INTERNAL: 'internal compiler error',
};

export class CompileError extends VtaError {
  readonly node: string | undefined;
  readonly op: string | undefined;
  constructor(code: CompileErrorCode, message: string, node?: Pick<GraphNode, 'name' | 'op'>) {
    super(code, message);
    this.name = 'CompileError';
    this.node = node?.name;
    this.op = node?.op;
  }
}

/**
 * `node conv1 (conv2d): cannot be tiled for this VTA config: <details>`. The subject is a node, or
 * a string naming another thing at fault (a file, a tensor), or nothing.
 */
export function compileError(code: CompileErrorCode, subject: Pick<GraphNode, 'name' | 'op'> | string | undefined, details: string): CompileError {
  if (typeof subject === 'string') return new CompileError(code, `${subject}: ${MESSAGES[code]}: ${details}`);
  const where = subject ? `node ${subject.name} (${subject.op}): ` : '';
  return new CompileError(code, `${where}${MESSAGES[code]}: ${details}`, subject);
}

/** The message table, for documentation and `vta compile --help`. */
export function errorTable(): [CompileErrorCode, string][] {
  return Object.entries(MESSAGES) as [CompileErrorCode, string][];
}

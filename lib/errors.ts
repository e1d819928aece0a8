/**
 * Every error a user can cause is a VtaError: it carries a stable code and a one-line message that
 * names the thing at fault and what is wrong with it. The CLI prints `error[CODE]: message` and
 * never a stack trace; anything that is not a VtaError is a bug of ours and is reported as such.
 * The codes and their meanings are one catalogue: lib/error-codes.ts.
 */
import type { ErrorCode } from './error-codes.ts';

export type { ErrorCode } from './error-codes.ts';

export class VtaError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    // One line whatever a message quotes: a name read from a file may hold line breaks.
    super(message.replace(/[\r\n]/g, (c) => (c === '\n' ? '\\n' : '\\r')));
    this.name = 'VtaError';
    this.code = code;
  }
}

/** A user-facing error for an invalid configuration key or value. */
export class ConfigError extends VtaError {
  constructor(message: string) {
    super('E_CONFIG', message);
    this.name = 'ConfigError';
  }
}

export function isVtaError(e: unknown): e is VtaError {
  return e instanceof VtaError;
}

/** One line, whatever the error: used by every command-line entry point. */
export function describeError(e: unknown): string {
  // A message quoting user text (a file name, a line of a file) could hold a newline: keep one line.
  if (isVtaError(e)) return `error[${e.code}]: ${e.message.replace(/\s*[\r\n]+\s*/g, ' ')}`;
  const msg = e instanceof Error ? e.message : String(e);
  return `internal error: ${msg.split('\n')[0]} (set VTA_DEBUG=1 for a stack trace)`;
}

/**
 * Errors the runtime raises for calls that cannot be turned into a valid instruction stream. Each
 * is a VtaError with a stable code and a one-line message naming the call and the bad value.
 */
import { type ErrorCode, VtaError } from '../lib/errors.ts';

/** Stable codes, one per kind of misuse (their meanings: lib/error-codes.ts). */
export const RUNTIME_ERROR = {
  ARG: 'E_RUNTIME_ARG',
  RANGE: 'E_RUNTIME_RANGE',
  ALIGN: 'E_RUNTIME_ALIGN',
  UOP_DEP: 'E_RUNTIME_UOP_DEP',
  KERNEL: 'E_RUNTIME_KERNEL',
  DEP: 'E_RUNTIME_DEP',
  FULL: 'E_RUNTIME_FULL',
  DRIVER: 'E_RUNTIME_DRIVER',
} as const satisfies Record<string, ErrorCode>;

export type RuntimeErrorCode = (typeof RUNTIME_ERROR)[keyof typeof RUNTIME_ERROR];

export class RuntimeError extends VtaError {
  constructor(code: RuntimeErrorCode, message: string) {
    super(code, message);
    this.name = 'RuntimeError';
  }
}

/** Throws unless `value` is an integer in [min, max]; `what` names the argument in the message. */
export function checkInt(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RuntimeError(RUNTIME_ERROR.ARG, `${what} is ${value}; it must be an integer in ${min}..${max}`);
  }
}

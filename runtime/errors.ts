/**
 * Errors the runtime raises for calls that cannot be turned into a valid instruction stream. Each
 * is a VtaError with a stable code and a one-line message naming the call and the bad value.
 */
import { VtaError } from '../lib/errors.ts';

/** Stable codes, one per kind of misuse, so callers and tests can tell them apart. */
export const RUNTIME_ERROR = {
  /** An argument is out of range, not an integer, or does not fit its instruction field. */
  ARG: 'E_RUNTIME_ARG',
  /** A DMA would read or write outside its device buffer or SRAM. */
  RANGE: 'E_RUNTIME_RANGE',
  /** A buffer's physical address is not a multiple of the element size of the memory type. */
  ALIGN: 'E_RUNTIME_ALIGN',
  /** A micro-op writes the same destination as one of the two micro-ops before it (VerifyDep). */
  UOP_DEP: 'E_RUNTIME_UOP_DEP',
  /** A micro-op kernel is malformed (loops after pushes, more than two loops, unbalanced, empty). */
  KERNEL: 'E_RUNTIME_KERNEL',
  /** A dependency between stages that have no token queue (load<->store) or a bad stage id. */
  DEP: 'E_RUNTIME_DEP',
  /** The stream or its micro-op image outgrew the largest DMA transfer. */
  FULL: 'E_RUNTIME_FULL',
  /** The driver does not run the configuration the stream was built for. */
  DRIVER: 'E_RUNTIME_DRIVER',
} as const;

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

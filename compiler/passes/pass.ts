/**
 * A compilation is an ordered list of named passes (compiler/passes/index.ts DEFAULT_PASSES). Each
 * pass takes the state the previous one returned and returns a new state that adds its own typed
 * result (e.g. `Partitioned` adds `partition`); it does not modify its input. Callers may pass
 * their own list: the preset with a pass inserted or replaced (passes/index.ts insertPass,
 * replacePass), to inspect or change the state between passes.
 */
import type { VtaConfig } from '../../config/config.ts';
import type { Graph } from '../../graph/ir.ts';
import type { FusionRules } from '../fuse.ts';
import type { TilingOverride } from './choose-tilings.ts';

export interface CompileOptions {
  config?: VtaConfig;
  /** Fusion rules: an object, a path to a rules JSON file, or the defaults. */
  rules?: FusionRules | string;
  /** 'all': every dense/conv2d/add node must run on VTA (error otherwise); 'auto' (default): fall back to the host. */
  offload?: 'auto' | 'all';
  /** The pass list; defaults to DEFAULT_PASSES. */
  passes?: readonly Pass[];
  /** Run the IR check of each pass's result after it (E_INTERNAL naming the pass on a failure). */
  verify?: boolean;
  /** Tilings chosen outside the compiler's cost model (vta tune: compiler/tuning.ts); default: the cost model's. */
  tilings?: TilingOverride;
  /** Give the readable text of the state after the pass named `pass` to `write` (--dump-after). */
  dumpAfter?: { pass: string; write: (text: string) => void };
}

/** What every compilation starts from. */
export interface Source {
  graph: Graph;
  cfg: VtaConfig;
  options: CompileOptions;
  rules: FusionRules;
}

/**
 * One pass. `verify` and `dump` describe the result type; a pass without them (a user's inserted
 * pass) keeps the state type of the pass before it and is checked and dumped like that pass.
 */
export interface Pass<In = any, Out = any> {
  readonly name: string;
  run(state: In): Out;
  /** Why the result breaks an invariant of its stage, or undefined when it holds. */
  verify?(state: Out): string | undefined;
  /** The result as readable text. */
  dump?(state: Out): string;
}

/** First failure of a list of checks, or undefined. */
export function firstProblem(checks: Iterable<string | undefined>): string | undefined {
  for (const c of checks) if (c !== undefined) return c;
  return undefined;
}

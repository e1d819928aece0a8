/**
 * compileGraph: the compiler driver. It runs an ordered list of named passes (Vue compiler-core
 * style: DEFAULT_PASSES in compiler/passes/index.ts, one file per pass), each returning a new typed
 * state, and between passes optionally checks the IR (`verify`) and prints one pass's result
 * (`dumpAfter`, `vta compile --dump-after PASS`).
 */
import { defaultVtaConfig } from '../config/config.ts';
import type { Graph } from '../graph/ir.ts';
import { VtaError } from '../lib/errors.ts';
import { compileError } from './errors.ts';
import { type FusionRules, loadFusionRules, parseFusionRules } from './fuse.ts';
import type { CompiledModel } from './model.ts';
import { DEFAULT_PASSES } from './passes/index.ts';
import type { Linked } from './passes/link.ts';
import type { CompileOptions, Pass, Source } from './passes/pass.ts';

export type { CompiledModel, KernelInfo, ModelStep } from './model.ts';
export type { CompileOptions, Pass, Source } from './passes/pass.ts';
export { DEFAULT_PASSES, insertPass, replacePass } from './passes/index.ts';

function resolveRules(r: CompileOptions['rules']): FusionRules {
  if (r === undefined) return loadFusionRules();
  if (typeof r === 'string') return loadFusionRules(r);
  return parseFusionRules(r);
}

/** What a compilation starts from, for callers that run passes one by one (tests, tools). */
export function createSource(graph: Graph, options: CompileOptions = {}): Source {
  return { graph, cfg: options.config ?? defaultVtaConfig(), options, rules: resolveRules(options.rules) };
}

/** The names of a pass list, for error messages and `--help`. */
export const passNames = (passes: readonly Pass[] = DEFAULT_PASSES) => passes.map((p) => p.name);

/**
 * Run `passes` from `source`. A pass without its own verify/dump (a caller's inserted pass) keeps
 * the state type of the pass before it, so that pass's check and printer apply to it.
 */
export function runPasses(source: Source, passes: readonly Pass[]): unknown {
  const { verify, dumpAfter } = source.options;
  if (dumpAfter && !passes.some((p) => p.name === dumpAfter.pass)) {
    throw new VtaError('E_USAGE', `unknown pass '${dumpAfter.pass}' (the passes are ${passNames(passes).join(', ')})`);
  }
  let state: unknown = source;
  let check: Pass['verify'];
  let dump: Pass['dump'];
  for (const pass of passes) {
    state = pass.run(state);
    check = pass.verify ?? check;
    dump = pass.dump ?? dump;
    const why = verify ? check?.(state) : undefined;
    if (why !== undefined) throw compileError('E_INTERNAL', `IR check after pass ${pass.name}`, why);
    if (dumpAfter?.pass === pass.name) dumpAfter.write(dump ? dump(state) : '(no printer for this pass)');
  }
  return state;
}

/** Compile a graph for a VTA config. Throws CompileError (coded, naming the node) on bad input. */
export function compileGraph(graph: Graph, options: CompileOptions = {}): CompiledModel {
  const end = runPasses(createSource(graph, options), options.passes ?? DEFAULT_PASSES) as Partial<Linked>;
  if (!end.model) throw compileError('E_INTERNAL', undefined, 'the pass list did not produce a model (is the link pass missing?)');
  return end.model;
}

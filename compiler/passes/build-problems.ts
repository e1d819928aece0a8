/** Pass `build-problems`: each kernel's problem in tiles, built by its kind's row of the lowering table. */
import { loweringOf, type KernelKind, type ProblemOf } from '../lower/table.ts';
import type { LowerContext } from '../lower/kind.ts';
import type { KernelSpec, Named } from './name-kernels.ts';
import type { Partitioned } from './partition.ts';
import { firstProblem, type Pass } from './pass.ts';
import type { Shaped } from './shapes.ts';

export interface PosedKernel<K extends KernelKind = KernelKind> extends KernelSpec<K> {
  problem: ProblemOf<K>;
}

export interface Posed extends Named {
  kernels: PosedKernel[];
}

export const lowerContext = (s: Shaped): LowerContext => ({ graph: s.graph, types: s.types, cfg: s.cfg, ...('partition' in s ? { fromHost: hostProvided(s as Partitioned) } : {}) });

/** Graph inputs and host-step outputs: the activations the executor packs for kernels. */
function hostProvided(s: Partitioned): Set<string> {
  return new Set([...s.graph.inputs.map((i) => i.name), ...s.partition.steps.flatMap((step) => (step.kind === 'host' ? [step.node.output] : []))]);
}

export function checkProblems(s: Posed): string | undefined {
  const cx = lowerContext(s);
  return firstProblem(s.kernels.map((k) => {
    const why = loweringOf(k.kind).checkProblem(k.group, k.problem, cx);
    return why && `kernel ${k.name}: ${why}`;
  }));
}

export const buildProblemsPass: Pass<Named, Posed> = {
  name: 'build-problems',
  run(s) {
    const cx = lowerContext(s);
    return { ...s, kernels: s.kernels.map((k) => ({ ...k, problem: loweringOf(k.kind).problem(k.group, cx) })) };
  },
  verify: checkProblems,
  dump: (s) => s.kernels.map((k) => `${k.name}: ${loweringOf(k.kind).describeProblem(k.problem)}`).join('\n'),
};

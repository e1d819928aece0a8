/**
 * Pass `name-kernels`: one kernel per VTA group, named `k<i>_<anchor>`, with its kind (the row of
 * the lowering table, compiler/lower/table.ts) and the activation tensors it reads and writes.
 */
import type { VtaGroup } from '../fuse.ts';
import { compileError } from '../errors.ts';
import { kindsMatching, LOWERINGS, type KernelKind } from '../lower/table.ts';
import { isConstant } from '../lower/buffers.ts';
import type { Partitioned } from './partition.ts';
import type { Pass } from './pass.ts';

export interface KernelSpec<K extends KernelKind = KernelKind> {
  name: string;
  kind: K;
  group: VtaGroup;
  /** Activation tensors read (packed in DRAM; constants excluded) and the one written. */
  inputs: string[];
  output: string;
}

export interface Named extends Partitioned {
  kernels: KernelSpec[];
}

function kindOf(g: VtaGroup): KernelKind {
  const kinds = kindsMatching(g);
  if (kinds.length !== 1) throw compileError('E_INTERNAL', g.anchor, `${kinds.length} kernel kinds lower this group (${kinds.join(', ') || 'none'})`);
  return kinds[0]!;
}

/** Names unique, kinds known, every tensor a kernel reads or writes typed and not a constant. */
export function checkKernels(s: Named): string | undefined {
  const names = new Set<string>();
  for (const k of s.kernels) {
    if (names.has(k.name)) return `two kernels are named ${k.name}`;
    names.add(k.name);
    if (!(k.kind in LOWERINGS)) return `kernel ${k.name} has unknown kind ${k.kind}`;
    for (const t of [...k.inputs, k.output]) {
      if (!s.types.has(t)) return `kernel ${k.name}: tensor ${t} has no type`;
      if (isConstant(s.graph, t)) return `kernel ${k.name}: ${t} is a constant, not an activation`;
    }
  }
  return undefined;
}

export const nameKernelsPass: Pass<Partitioned, Named> = {
  name: 'name-kernels',
  run(s) {
    const groups = s.partition.steps.filter((step): step is VtaGroup => step.kind === 'vta');
    const kernels = groups.map((g, i): KernelSpec => {
      const kind = kindOf(g);
      const inputs = LOWERINGS[kind].operands(g).filter((t) => !isConstant(s.graph, t));
      return { name: `k${i}_${g.anchor.name}`, kind, group: g, inputs, output: g.output };
    });
    return { ...s, kernels };
  },
  verify: checkKernels,
  dump: (s) => s.kernels.map((k) => `${k.name}: ${k.kind} [${k.group.nodes.map((n) => n.name).join(' + ')}] reads ${k.inputs.join(', ') || '-'}, writes ${k.output}`).join('\n'),
};

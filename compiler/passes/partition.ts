/**
 * Pass `partition`: VTA groups and host steps (fuse.ts, rules from fusion-rules.json), each host
 * step with its reason; and pass `offload-check`: with `offload: 'all'`, E_NOT_OFFLOADED for a
 * dense/conv2d/add left on the host.
 */
import { compileError } from '../errors.ts';
import { describePartition, partitionGraph, type Partition } from '../fuse.ts';
import type { Pass } from './pass.ts';
import type { Shaped } from './shapes.ts';

export interface Partitioned extends Shaped {
  partition: Partition;
}

/** Every node in exactly one step, and every step reads only tensors computed before it. */
export function checkPartition(s: Partitioned): string | undefined {
  const placed = new Map<string, number>();
  const ready = new Set<string>([...s.graph.inputs.map((i) => i.name), ...Object.keys(s.graph.tensors)]);
  for (const [i, step] of s.partition.steps.entries()) {
    const nodes = step.kind === 'vta' ? step.nodes : [step.node];
    for (const n of nodes) {
      if (placed.has(n.name)) return `node ${n.name} is in steps ${placed.get(n.name)} and ${i}`;
      placed.set(n.name, i);
      const missing = n.inputs.find((t) => !ready.has(t) && !nodes.some((m) => m.output === t));
      if (missing !== undefined) return `step ${i}: node ${n.name} reads ${missing} before any step computes it`;
    }
    for (const n of nodes) ready.add(n.output);
  }
  const left = s.graph.nodes.find((n) => !placed.has(n.name));
  return left ? `node ${left.name} is in no step` : undefined;
}

const dumpPartition = (s: Partitioned) => describePartition(s.partition).join('\n');

export const partitionPass: Pass<Shaped, Partitioned> = {
  name: 'partition',
  run: (s) => ({ ...s, partition: partitionGraph(s.graph, s.types, s.rules, s.cfg) }),
  verify: checkPartition,
  dump: dumpPartition,
};

export const offloadCheckPass: Pass<Partitioned, Partitioned> = {
  name: 'offload-check',
  run(s) {
    if (s.options.offload !== 'all') return s;
    for (const step of s.partition.steps) {
      if (step.kind === 'host' && ['dense', 'conv2d', 'add'].includes(step.node.op)) throw compileError('E_NOT_OFFLOADED', step.node, step.reason);
    }
    return s;
  },
  verify: checkPartition,
  dump: dumpPartition,
};

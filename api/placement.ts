/**
 * Where each step of a compiled model runs: the VTA kernels, and each host step with the reason
 * the partition gave and whether it computes in float.
 */
import type { CompiledModel } from '../compiler/compile.ts';
import { inferShapes } from '../graph/load.ts';

export interface HostStep {
  node: string;
  op: string;
  /** Why it is not part of a VTA kernel (the partition's reason). */
  reason: string;
  /** It reads or writes float32 (a quantize, a dequantize, a float op). */
  float: boolean;
}

export interface Placement {
  vtaKernels: number;
  host: HostStep[];
}

export function placementOf(model: CompiledModel): Placement {
  const types = inferShapes(model.graph);
  const nodes = new Map(model.graph.nodes.map((n) => [n.name, n]));
  const host: HostStep[] = [];
  for (const s of model.steps) {
    if (s.kind !== 'host') continue;
    const node = nodes.get(s.node);
    const float = !!node && [...node.inputs, node.output].some((t) => types.get(t)?.dtype === 'float32');
    host.push({ node: s.node, op: node?.op ?? 'unknown', reason: s.reason, float });
  }
  return { vtaKernels: model.kernels.length, host };
}

/** `N kernels on VTA, M host steps (of which F in float)`. */
export function describePlacement(p: Placement): string {
  const f = p.host.filter((h) => h.float).length;
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  return `${plural(p.vtaKernels, 'kernel')} on VTA, ${plural(p.host.length, 'host step')} (of which ${f} in float)`;
}

/** Pass `shapes`: the validated graph (attribute defaults filled in) and the type of every tensor. */
import type { TensorTypes } from '../../graph/ir.ts';
import { inferShapes, validateGraph } from '../../graph/load.ts';
import type { Pass, Source } from './pass.ts';

export interface Shaped extends Source {
  types: TensorTypes;
}

/** Every tensor the graph defines (inputs, constants, node outputs). */
export function graphTensors(s: Source): string[] {
  return [...s.graph.inputs.map((i) => i.name), ...Object.keys(s.graph.tensors), ...s.graph.nodes.map((n) => n.output)];
}

export function checkTypes(s: Shaped): string | undefined {
  for (const t of graphTensors(s)) {
    const type = s.types.get(t);
    if (!type) return `tensor ${t} has no type`;
    if (type.dtype !== 'int8' && type.dtype !== 'int32') return `tensor ${t} has dtype ${type.dtype}`;
    if (!type.shape.every((d) => Number.isSafeInteger(d) && d > 0)) return `tensor ${t} has shape [${type.shape}]`;
  }
  return undefined;
}

export const shapesPass: Pass<Source, Shaped> = {
  name: 'shapes',
  run(s) {
    // Validation fills attribute defaults, so later passes see complete nodes.
    const graph = validateGraph(s.graph);
    return { ...s, graph, types: inferShapes(graph) };
  },
  verify: checkTypes,
  dump: (s) => [...s.types].map(([t, type]) => `${t}: ${type.dtype}[${type.shape.join(',')}]`).join('\n'),
};

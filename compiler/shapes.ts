/**
 * The compiler's view of tensor types: a Map over compiler/load.ts's inferShapes (the single
 * place where shape rules live; it throws E_MODEL naming the node and field at fault).
 */
import type { Graph, TensorType } from './ir.ts';
import { inferShapes as inferShapeRecord } from './load.ts';

export type TensorTypes = Map<string, TensorType>;

export function inferShapes(graph: Graph): TensorTypes {
  return new Map(Object.entries(inferShapeRecord(graph)));
}

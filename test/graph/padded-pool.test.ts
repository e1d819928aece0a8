/**
 * Padded pools follow ONNX: padded positions are not part of the window (max ignores them, the
 * average does not count them). The reference and a compiled model's host step run one function,
 * so both give these hand-computed values.
 */
import { describe, expect, it } from 'vitest';
import { compileGraph } from '../../compiler/compile.ts';
import { runCompiled } from '../../compiler/execute.ts';
import type { Graph, OpName, Tensor } from '../../graph/ir.ts';
import { loadGraph } from '../../graph/load.ts';
import { runReference } from '../../graph/reference.ts';

// 3x3 input -1..-9, 2x2 window, stride 2, one row/column of padding on every side: 2x2 output.
const x: Tensor = { shape: [1, 1, 3, 3], dtype: 'int8', data: Int8Array.from([-1, -2, -3, -4, -5, -6, -7, -8, -9]) };

function poolGraph(op: OpName): Graph {
  return loadGraph({
    format: 'vta-graph/1',
    name: `padded-${op}`,
    inputs: [{ name: 'x', shape: [1, 1, 3, 3], dtype: 'int8' }],
    outputs: ['y'],
    tensors: {},
    nodes: [{ name: 'pool', op, inputs: ['x'], output: 'y', attrs: { kernel: [2, 2], stride: [2, 2], pad: [1, 1, 1, 1] } }],
  });
}

// max: windows {-1}, {-2,-3}, {-4,-7}, {-5,-6,-8,-9}; zero padding would wrongly give 0 for the first.
// avg (halves away from zero): -1/1, -5/2, -11/2, -28/4.
const cases: [OpName, number[]][] = [
  ['max_pool', [-1, -2, -4, -5]],
  ['avg_pool', [-1, -3, -6, -7]],
];

describe('padded pools over negative values', () => {
  for (const [op, want] of cases) {
    it(`${op}: the reference`, () => {
      expect(Array.from(runReference(poolGraph(op), { x }).y!.data)).toEqual(want);
    });
    it(`${op}: a compiled model's host step`, async () => {
      const model = compileGraph(poolGraph(op));
      expect(model.steps).toEqual([{ kind: 'host', node: 'pool', reason: expect.any(String) }]);
      const out = await runCompiled(model, { x });
      expect(Array.from(out.outputs.y!.data)).toEqual(want);
    });
  }
});

/** The lowering table: exactly one kind per group, and each kind's problem, tiling and ops. */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../../config/config.ts';
import { createSource, DEFAULT_PASSES, runPasses } from '../../../compiler/compile.ts';
import type { Tensorized } from '../../../compiler/passes/tensorize.ts';
import { KERNEL_KINDS, kindsMatching, loweringOf } from '../../../compiler/lower/table.ts';
import type { Graph } from '../../../graph/ir.ts';
import { addGraph, convGraph, denseGraph, groupedConvGraph, rng } from '../helpers.ts';

const cfg = defaultVtaConfig();
const upTo = (name: string) => DEFAULT_PASSES.slice(0, DEFAULT_PASSES.findIndex((p) => p.name === name) + 1);
const tensorized = (g: Graph) => runPasses(createSource(g, { config: cfg }), upTo('tensorize')) as Tensorized;

describe('lowerings by kernel kind', () => {
  it('has a row for conv, grouped conv and element-wise add', () => {
    expect(KERNEL_KINDS).toEqual(['conv', 'grouped-conv', 'eltwise-add']);
  });

  it('gives every group exactly one kind', () => {
    const cases: [Graph, string][] = [
      [denseGraph(rng(1), 4, 32, 32, { shift: 8 }), 'conv'],
      [convGraph(rng(2), { n: 1, c: 16, h: 4, w: 4, o: 16, k: 3, stride: 1, pad: 1 }, { shift: 8 }), 'conv'],
      [groupedConvGraph(rng(3), 2), 'grouped-conv'],
      [addGraph(), 'eltwise-add'],
    ];
    for (const [g, kind] of cases) {
      const s = tensorized(g);
      expect(s.kernels.map((k) => k.kind)).toEqual([kind]);
      expect(kindsMatching(s.kernels[0]!.group)).toEqual([kind]);
    }
  });

  it('a grouped conv has one band per group tile, each tiled, and reports the first band tiling', () => {
    const k = tensorized(groupedConvGraph(rng(3), 2)).kernels[0]!;
    const l = loweringOf('grouped-conv');
    const p = k.problem as Parameters<typeof l.describeProblem>[0];
    expect(p.bands.map((b) => [b.oc0, b.OT, b.ic0, b.CT])).toEqual([[0, 1, 0, 1], [1, 1, 1, 1]]);
    expect(l.describeProblem(p)).toMatch(/; 2 groups in 2 bands$/);
    const info = l.info(k.tiling as Parameters<typeof l.info>[0]);
    expect(info.bands).toBe(2);
    expect(info.tiling).toBeDefined();
  });

  it('an add loads both operands with ACC_8BIT, adds them on the ALU and ends with FINISH', () => {
    const k = tensorized(addGraph()).kernels[0]!;
    expect(k.ops.slice(0, 3).map((o) => o.kind)).toEqual(['load', 'load', 'alu']);
    expect(k.ops.at(-1)!.kind).toBe('finish');
    expect(loweringOf('eltwise-add').describeTiling(k.tiling as { chunk: number; slots: number })).toBe('chunk 32 x2');
  });
});

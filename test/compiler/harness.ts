/** Compile, run on fsim with the race checker attached, and compare with the host executor. */
import { expect } from 'vitest';
import type { VtaConfig } from '../../config/config.ts';
import type { CompileOptions, CompiledModel } from '../../compiler/compile.ts';
import { runCompiled } from '../../compiler/execute.ts';
import type { Graph, Tensor } from '../../graph/ir.ts';
import { constData } from '../../compiler/pack.ts';
import { inferShapes } from '../../graph/load.ts';
import { evaluateNode, runReference } from '../../graph/reference.ts';
import { RaceChecker } from '../../sim/race-checker.ts';
import { compile, randomTensor, rng } from './helpers.ts';

/** Plain interpretation of the graph node by node with the host steps' function (no VTA involved). */
export function interpret(g: Graph, inputs: Record<string, Tensor>): Record<string, Tensor> {
  const types = inferShapes(g);
  const env = new Map<string, Tensor>(Object.entries(inputs));
  for (const [n, c] of Object.entries(g.tensors)) env.set(n, { shape: c.shape, dtype: c.dtype, data: constData(n, c) });
  for (const n of g.nodes) env.set(n.output, evaluateNode(n, n.inputs.map((i) => env.get(i)!), types.get(n.output)!));
  return Object.fromEntries(env);
}

export interface E2EResult {
  model: CompiledModel;
  outputs: Record<string, Tensor>;
  races: string[];
}

export async function compileAndCheck(g: Graph, cfg: VtaConfig, seed = 1, options: Omit<CompileOptions, 'config'> = {}): Promise<E2EResult> {
  const model = compile(g, { ...options, config: cfg });
  const r = rng(seed);
  const inputs: Record<string, Tensor> = {};
  for (const i of g.inputs) inputs[i.name] = randomTensor(r, i.shape, i.dtype);
  const checkers: RaceChecker[] = [];
  const out = await runCompiled(model, inputs, {
    observe: (_k, base) => {
      const c = new RaceChecker(cfg, { insnBase: base });
      checkers.push(c);
      return c;
    },
  });
  const want = runReference(model.graph, inputs);
  for (const o of g.outputs) {
    const got = out.outputs[o]!;
    expect(got.shape).toEqual(want[o]!.shape);
    const a = Array.from(got.data);
    const b = Array.from(want[o]!.data);
    const first = a.findIndex((v, i) => v !== b[i]);
    expect(first, `first difference at ${first}: got ${a[first]}, want ${b[first]}`).toBe(-1);
  }
  const races = checkers.flatMap((c) => c.report());
  return { model, outputs: out.outputs, races };
}

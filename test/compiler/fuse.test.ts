/** Fusion rules are data: the defaults, a user's own file, and the partition report. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { compileGraph } from '../../compiler/compile.ts';
import { loadFusionRules } from '../../compiler/fuse.ts';
import { compileAndCheck } from './harness.ts';
import { denseGraph, rng } from './helpers.ts';

const cfg = defaultVtaConfig();

describe('fusion', () => {
  it('default rules fuse dense + bias + requantize + relu + clip + cast into one kernel', () => {
    const m = compileGraph(denseGraph(rng(1), 4, 16, 16, { bias: true, shift: 4, relu: true, clip: [0, 100] }), { config: cfg });
    expect(m.partition).toEqual([
      'vta  fc + bias_add0 + requantize1 + relu2 + clip3 + cast4  [gemm-epilogue: dense -> bias_add -> requantize -> relu -> clip -> cast]',
    ]);
  });

  it('a user rules file that does not fuse relu sends the chain to the host, naming why', async () => {
    const rules = loadFusionRules();
    rules.rules[0]!.epilogue = rules.rules[0]!.epilogue.filter((o) => o !== 'relu');
    const dir = mkdtempSync(join(tmpdir(), 'vta-rules-'));
    const path = join(dir, 'no-relu.json');
    writeFileSync(path, JSON.stringify(rules));
    const g = denseGraph(rng(2), 4, 16, 16, { shift: 4, relu: true, clip: [0, 100] });
    const m = compileGraph(g, { config: cfg, rules: path });
    expect(m.kernels).toHaveLength(0);
    expect(m.partition[0]).toBe('host fc (dense): relu1 (relu) follows it and rule gemm-epilogue does not fuse relu');
    // The host fallback still computes the right answer; the default rules fuse it.
    expect((await compileAndCheck(g, cfg, 1, { rules: path })).model.kernels).toHaveLength(0);
    expect((await compileAndCheck(g, cfg)).model.kernels).toHaveLength(1);
  });

  it('an intermediate used twice is not fused away', () => {
    const g = denseGraph(rng(3), 4, 16, 16, { shift: 4 });
    // Make the requantize output a graph output as well: the chain must stop before it.
    g.outputs.push(g.nodes[1]!.output);
    const m = compileGraph(g, { config: cfg });
    expect(m.kernels).toHaveLength(0);
    expect(m.partition[0]).toMatch(/^host fc \(dense\): its int32 result .* is used directly; VTA stores int8 only/);
  });
});

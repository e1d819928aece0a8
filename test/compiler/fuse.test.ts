/** Fusion rules are data: the defaults, a user's own file, and the partition report. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { loadFusionRules } from '../../compiler/fuse.ts';
import { compileAndCheck } from './harness.ts';
import { compile, convGraph, denseGraph, rng } from './helpers.ts';

const cfg = defaultVtaConfig();

describe('fusion', () => {
  it('default rules fuse dense + bias + requantize + relu + clip + cast into one kernel', () => {
    const m = compile(denseGraph(rng(1), 4, 16, 16, { bias: true, shift: 4, relu: true, clip: [0, 100] }), { config: cfg });
    expect(m.partition).toEqual([
      'vta  fc + bias_add0 + requantize1 + relu2 + clip3 + cast4  [gemm-epilogue: dense -> bias_add -> requantize -> relu -> clip -> cast]',
    ]);
  });

  it('a user rules file that does not fuse relu sends the chain to the host, naming why', async () => {
    const rules = loadFusionRules();
    rules.rules[0]!.epilogue = rules.rules[0]!.epilogue.filter((o) => o !== 'relu');
    delete rules.rules[0]!.store_int32;
    const dir = mkdtempSync(join(tmpdir(), 'vta-rules-'));
    const path = join(dir, 'no-relu.json');
    writeFileSync(path, JSON.stringify(rules));
    const g = denseGraph(rng(2), 4, 16, 16, { shift: 4, relu: true, clip: [0, 100] });
    const m = compile(g, { config: cfg, rules: path });
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
    const int8Only = loadFusionRules();
    delete int8Only.rules[0]!.store_int32;
    const m = compile(g, { config: cfg, rules: int8Only });
    expect(m.kernels).toHaveLength(0);
    expect(m.partition[0]).toMatch(/^host fc \(dense\): its int32 result .* is used directly; VTA stores int8 only/);
    // With the default rules (store_int32) the chain stops there and stores its int32 result.
    expect(compile(g, { config: cfg }).partition[0]).toBe('vta  fc + requantize0  [gemm-epilogue: dense -> requantize -> int32 as 4 byte planes]');
  });

  it('an int32 result stored as four byte planes is bit-exact (dense and conv, tiled, negative values)', async () => {
    const graphs = [
      denseGraph(rng(4), 5, 40, 24, { bias: true, shift: 3 }),
      denseGraph(rng(5), 3, 16, 16, {}),
      convGraph(rng(6), { n: 1, c: 16, h: 9, w: 9, o: 32, k: 3, stride: 1, pad: 1 }, { bias: true, relu: true }),
    ];
    for (const g of graphs) {
      g.nodes.splice(g.nodes.findIndex((n) => n.op === 'cast'));
      g.outputs = [g.nodes[g.nodes.length - 1]!.output];
      const r = await compileAndCheck(g, cfg);
      expect(r.races).toEqual([]);
      expect(r.model.kernels).toHaveLength(1);
      expect(r.model.partition[0]).toMatch(/int32 as 4 byte planes/);
      const values = Array.from(Object.values(r.outputs)[0]!.data);
      // The values need the upper planes: negative (sign in every byte) or beyond 16 bits.
      expect(values.some((v) => v < -256 || v > 1 << 16)).toBe(true);
    }
  });
});

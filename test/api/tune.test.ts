/**
 * vta tune on a small network on the timing driver: tuned never slower than the default per
 * kernel, a kernel timed alone takes the cycles it takes inside the network, repeated kernels
 * timed once, the file round-trips into compile --tuning, and the tuned program computes exactly
 * what the default one does. Bad tuning files are one-line E_TUNING errors naming the field.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, vta } from '../robustness/vta-process.ts';
import { compileModel, modelInputs, runModel, type SourceModel } from '../../api/index.ts';
import { tuneGraph, type TuneResult } from '../../api/tune.ts';
import { loadConfig } from '../../config/config.ts';
import { addonPath } from '../../drivers/backends/tsim.ts';
import { applyTuning, formatTuning, parseTuning, refuseUnusedEntries, type TuningFile } from '../../compiler/tuning.ts';
import { compileGraph } from '../../compiler/compile.ts';
import type { ConvChoice } from '../../compiler/tuning-space.ts';
import { describeError } from '../../lib/errors.ts';
import type { Graph } from '../../graph/ir.ts';
import { GraphBuilder, randomTensor, rng } from '../compiler/helpers.ts';

/** `vta ARGS` as a user runs it, from the repository root. */
const run = (...args: string[]) => vta(args, ROOT, { timeoutMs: 120_000 });
const cfg = loadConfig();

/** x -> conv a -> conv b (the same shapes and epilogue: one timing) -> a + b -> dense. */
function smallNetwork(): Graph {
  const r = rng(7);
  const b = new GraphBuilder('tune-net', [{ name: 'x', shape: [1, 32, 10, 10], dtype: 'int8' }]);
  const conv = (input: string, name: string) => {
    let t = b.node('conv2d', [input, b.constant(`${name}_w`, randomTensor(r, [32, 32, 3, 3], 'int8'))], { pad: [1, 1, 1, 1] }, name);
    t = b.node('bias_add', [t, b.constant(`${name}_b`, randomTensor(r, [32], 'int32', -4096, 4096))], undefined, `${name}_bias`);
    t = b.node('requantize', [t], { shift: 9 }, `${name}_rq`);
    t = b.node('relu', [t], undefined, `${name}_relu`);
    return b.node('cast', [t], { dtype: 'int8' }, `${name}_cast`);
  };
  const a = conv('x', 'conv_a');
  const c = conv(a, 'conv_b');
  let s = b.node('add', [a, c], undefined, 'sum');
  s = b.node('clip', [s], { min: -128, max: 127 }, 'sum_clip');
  s = b.node('cast', [s], { dtype: 'int8' }, 'sum_cast');
  const flat = b.node('reshape', [s], { shape: [1, 3200] }, 'flat');
  const fc = b.node('dense', [flat, b.constant('fc_w', randomTensor(r, [16, 3200], 'int8'))], undefined, 'fc');
  const q = b.node('requantize', [fc], { shift: 12 }, 'fc_rq');
  return b.output(b.node('cast', [q], { dtype: 'int8' }, 'fc_cast'));
}

const source = (g: Graph): SourceModel => ({ path: 'tune-net.json', format: 'graph', graph: g, notes: [] });

let tuned: Promise<TuneResult> | undefined;
const tuneOnce = () => (tuned ??= tuneGraph(smallNetwork(), { config: cfg, driver: 'timing', top: 6 }));

describe('vta tune on a small network (timing driver)', () => {
  it('never makes a kernel slower, tunes repeated kernels once, and improves some kernel', async () => {
    const r = await tuneOnce();
    expect(r.kernels.map((k) => k.node)).toEqual(['conv_a', 'conv_b', 'sum', 'fc']);
    for (const k of r.kernels) expect(k.tunedCycles, k.name).toBeLessThanOrEqual(k.defaultCycles);
    expect(r.kernels[1]!.sameAs).toBe(r.kernels[0]!.name);
    expect(r.kernels[1]!.timed).toBe(0);
    expect(r.totals.tunedCycles).toBeLessThan(r.totals.defaultCycles);
    expect(r.tuning.kernels.map((e) => e.node)).toEqual(['conv_a', 'conv_b', 'sum', 'fc']);
  }, 120_000);

  it('times each default kernel alone at the cycles it takes inside the network', async () => {
    const r = await tuneOnce();
    const g = smallNetwork();
    const model = compileModel(source(g), { config: cfg });
    const report = await runModel(model, await modelInputs(model), { driver: 'timing' });
    expect(report.kernels.map((k) => k.counters!.cycles)).toEqual(r.kernels.map((k) => k.defaultCycles));
  }, 120_000);

  it('round-trips the file into compile --tuning: the tuned tilings, the tuned cycles, the same outputs bit for bit', async () => {
    const r = await tuneOnce();
    const text = formatTuning(r.tuning);
    const back = parseTuning(text, 'net.tuning.json');
    expect(back).toEqual(r.tuning);
    const g = smallNetwork();
    const plain = compileModel(source(g), { config: cfg });
    const model = compileModel(source(g), { config: cfg, tuning: { file: back, path: 'net.tuning.json' } });
    expect(model.compiled.kernels[0]!.tiling).toEqual(r.tuning.kernels[0]!.tiling);
    const inputs = await modelInputs(model);
    const timed = await runModel(model, inputs, { driver: 'timing' });
    expect(timed.kernels.map((k) => k.counters!.cycles)).toEqual(r.kernels.map((k) => k.tunedCycles));
    const a = await runModel(model, inputs, { check: true, races: true });
    const b = await runModel(plain, inputs);
    expect(a.check!.reference.mismatch).toBeUndefined();
    expect(a.races).toEqual([]);
    for (const [name, t] of b.outputs) expect(Array.from(a.outputs.get(name)!.data), name).toEqual(Array.from(t.data));
  }, 120_000);
});

describe.skipIf(!existsSync(addonPath(cfg)))('vta tune --verify (tsim)', () => {
  it("re-times each kernel's default and winner on tsim, alone as inside the network", async () => {
    const r = await tuneGraph(smallNetwork(), { config: cfg, driver: 'timing', top: 2, verify: 'tsim' });
    const model = compileModel(source(smallNetwork()), { config: cfg });
    const report = await runModel(model, await modelInputs(model), { driver: 'tsim' });
    expect(r.kernels.map((k) => k.verified!.defaultCycles)).toEqual(report.kernels.map((k) => k.counters!.cycles));
    const tuned = compileModel(source(smallNetwork()), { config: cfg, tuning: { file: r.tuning, path: 'net.tuning.json' } });
    const after = await runModel(tuned, await modelInputs(tuned), { driver: 'tsim' });
    expect(r.kernels.map((k) => k.verified!.tunedCycles)).toEqual(after.kernels.map((k) => k.counters!.cycles));
    expect(r.totals.verified!.tunedCycles).toBe(r.kernels.reduce((n, k) => n + k.verified!.tunedCycles, 0));
  }, 120_000);
});

describe('tuning file errors', () => {
  const g = smallNetwork();
  const good = (): TuningFile => ({
    format: 'vta-tuning/1', config: cfg.bitstream, driver: 'timing',
    kernels: [{ node: 'conv_a', kind: 'conv', problem: 'NB1 CT2 10x10 -> OT2 10x10, kernel 3x3 stride 1,1 pad 1,1,1,1, 1 bias', tiling: { tOC: 1, tIC: 1, tOH: 5, tOW: 10, slots: 2 } }],
  });
  const parseError = (v: unknown) => {
    try {
      parseTuning(typeof v === 'string' ? v : JSON.stringify(v), 't.json');
    } catch (e) {
      return describeError(e);
    }
    return 'no error';
  };
  const compileError = (t: TuningFile) => {
    try {
      const applied = applyTuning(t, 't.json', cfg);
      compileGraph(g, { config: cfg, tilings: applied.tilings });
      refuseUnusedEntries(applied, 't.json');
    } catch (e) {
      return describeError(e);
    }
    return 'no error';
  };

  it('a good entry applies', () => {
    expect(compileError(good())).toBe('no error');
  });

  it('refuses a malformed file, naming the entry and field, in one line', () => {
    const cases: [unknown, string][] = [
      ['{"format"', 'error[E_TUNING]: t.json: not valid JSON'],
      [{ ...good(), format: 'vta-tuning/9' }, 'error[E_TUNING]: t.json: format is "vta-tuning/9", expected "vta-tuning/1"'],
      [{ ...good(), kernels: {} }, 'error[E_TUNING]: t.json: kernels is'],
      [{ ...good(), kernels: [{ ...good().kernels[0]!, kind: 'pool' }] }, 'error[E_TUNING]: t.json: kernels[0].kind: "pool" is not a kernel kind'],
      [{ ...good(), kernels: [{ ...good().kernels[0]!, tiling: { tOC: 0, tIC: 1, tOH: 5, tOW: 10, slots: 2 } }] }, 'error[E_TUNING]: t.json: kernels[0].tiling.tOC: 0 is not a positive whole number'],
      [{ ...good(), kernels: [{ ...good().kernels[0]!, tiling: { chunk: 4, slots: 2 } }] }, 'error[E_TUNING]: t.json: kernels[0].tiling: unknown field "chunk" for a conv kernel'],
      [{ ...good(), kernels: [{ ...good().kernels[0]!, node: '' }] }, 'error[E_TUNING]: t.json: kernels[0]: node is "", expected a non-empty string'],
      [{ ...good(), kernels: [good().kernels[0]!, good().kernels[0]!] }, 'error[E_TUNING]: t.json: kernels[1]: node conv_a is tuned twice (also kernels[0])'],
    ];
    for (const [v, want] of cases) {
      const got = parseError(v);
      expect(got.startsWith(want), `${got}\n  should start with ${want}`).toBe(true);
      expect(got).not.toContain('\n');
    }
  });

  it('refuses a file for another config, a stale problem, a tiling that does not fit, a node that is no kernel', () => {
    expect(compileError({ ...good(), config: '2x8_i8w8a32_15_15_16_17' })).toBe(`error[E_TUNING]: t.json: tuned for 2x8_i8w8a32_15_15_16_17, but compiling for ${cfg.bitstream}`);
    const stale = { ...good(), kernels: [{ ...good().kernels[0]!, problem: 'NB1 CT2 12x12 -> OT2 12x12' }] };
    expect(compileError(stale)).toMatch(/^error\[E_TUNING\]: t\.json: node conv_a was tuned as conv NB1 CT2 12x12 -> OT2 12x12, but its kernel is conv NB1 CT2 10x10 .* \(tune again\)$/);
    const tooTall = { ...good(), kernels: [{ ...good().kernels[0]!, tiling: { tOC: 1, tIC: 1, tOH: 11, tOW: 10, slots: 2 } }] };
    expect(compileError(tooTall)).toBe('error[E_TUNING]: t.json: node conv_a: tiling does not fit: tOH 11 is outside 1..10');
    const other = { ...good(), kernels: [...good().kernels, { node: 'pool1', kind: 'eltwise-add' as const, problem: '4 tiles', tiling: { chunk: 2, slots: 2 } }] };
    expect(compileError(other)).toBe('error[E_TUNING]: t.json: node pool1 (eltwise-add) is not a VTA kernel of this model: the file was tuned for another model or fusion');
  });
});

describe('vta tune and compile --tuning (command line)', () => {
  it('writes a tuning file that vta compile --tuning applies and vta run refuses for a package', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vta-tune-'));
    const model = join(dir, 'net.json');
    writeFileSync(model, JSON.stringify(smallNetwork()));
    const file = join(dir, 'net.tuning.json');
    const t = await run('tune', model, '-o', file, '--top', '3');
    expect(t.stderr).toBe('');
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/total on timing: (\d+) -> (\d+) cycles/);
    expect(t.stdout).toContain('k1_conv_b: ');
    expect(t.stdout).toContain('(same as k0_conv_a)');
    const pkg = join(dir, 'net.vtapkg');
    const c = await run('compile', model, '--tuning', file, '-o', pkg);
    expect(c.stderr).toBe('');
    const chosen = parseTuning(readFileSync(file, 'utf8'), file).kernels[0]!.tiling as ConvChoice;
    expect(c.stdout).toContain(`k0_conv_a: `);
    expect(c.stdout).toContain(`tile oc${chosen.tOC} ic${chosen.tIC} h${chosen.tOH} w${chosen.tOW} x${chosen.slots}`);
    const r = await run('run', pkg, '--tuning', file);
    expect(r.stderr.trim()).toBe(`error[E_USAGE]: --tuning applies when compiling a model, and ${pkg} is already compiled`);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"format": "vta-tuning/1", "config": "x", "driver": "timing", "kernels": [ {"node": "conv_a"} ]}');
    const b = await run('compile', model, '--tuning', bad, '-o', join(dir, 'b.vtapkg'));
    expect(b.stderr.trim()).toBe(`error[E_TUNING]: ${bad}: kernels[0]: kind is undefined, expected a non-empty string`);
  }, 180_000);
});

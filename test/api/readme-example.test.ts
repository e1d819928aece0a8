/**
 * The README's "Use it as a library" example runs as written (with the package name pointing at
 * api/index.ts) on models/cnn.onnx, and the API's report agrees with what the CLI checks.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { modelInputs, openModel, randomInput, runModel } from '../../api/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** The first ```ts block after the "Use it as a library" heading. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use it as a library'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('README.md: no ts example under "Use it as a library"');
  return m[1]!;
}

describe('the library API', () => {
  it('runs the README example on models/cnn.onnx', async () => {
    const code = readmeExample().replace(`from 'vta-toolchain'`, `from ${JSON.stringify(join(ROOT, 'api', 'index.ts'))}`);
    const file = join(mkdtempSync(join(tmpdir(), 'vta-api-')), 'example.mts');
    writeFileSync(file, code);
    const { stdout } = await promisify(execFile)('node', ['--import', 'tsx', file], { cwd: ROOT, timeout: 120_000 });
    const lines = stdout.trim().split('\n');
    // The model's own interface: float32 logits (the ONNX graph's output dtype).
    expect(lines[0]).toMatch(/^logits float32\[1,10\]: (-?[\d.]+(e-?\d+)? ){9}-?[\d.]+(e-?\d+)?$/);
    expect(lines.filter((l) => / insns, \d+ GEMM uop-iterations$/.test(l)).length).toBeGreaterThan(0);
    expect(lines.at(-2)).toBe('races: 0, reference: bit-exact');
    expect(lines.at(-1)).toBe('onnxruntime argmax agrees: true');
  }, 180_000);

  it('opens an ONNX model once, keeping its import; runs it on random inputs', async () => {
    const model = openModel(join(ROOT, 'models', 'cnn.onnx'));
    expect(model.format).toBe('onnx');
    expect(model.onnx?.inputs.input?.tensor).toBe('input');
    expect(model.compiled.graph.nodes.map((n) => n.name)).toEqual(model.graph.nodes.map((n) => n.name));
    const inputs = await modelInputs(model, new Map(), 5);
    const spec = model.graph.inputs[0]!; // [1,3,32,32]: int8, or float32 where the import keeps the ONNX interface
    expect(Array.from(inputs.get('input')!.data)).toEqual(Array.from(randomInput(spec.shape, spec.dtype, 5).data));
    const report = await runModel(model, inputs);
    expect(report.check).toBeUndefined();
    expect(report.races).toBeUndefined();
    expect(report.kernels.every((k) => k.counters !== undefined)).toBe(true);
    expect(report.totals.insns).toBe(model.compiled.insnCount);
    expect(report.timings.runMs).toBeGreaterThan(0);
  }, 120_000);

  it('refuses --scales for a model that is not ONNX, and races on a driver that cannot see them', async () => {
    expect(() => openModel('m.json', { scales: 'vta' })).toThrow('--scales applies to .onnx models only, not to m.json');
    const model = openModel(join(ROOT, 'models', 'mlp.onnx'));
    await expect(runModel(model, await modelInputs(model), { driver: 'tsim', races: true })).rejects.toThrow(/--races needs a driver .* tsim driver does not|driver 'tsim' is not available/);
  }, 120_000);
});

import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReference } from '../../graph/reference.ts';
import { parseNpy } from '../../lib/npy.ts';
import { importOnnx } from '../../frontend/onnx/import.ts';
import { compareWithOrt, floatInput, outputStep } from '../frontend/ort-compare.ts';
import { writeExampleModels } from '../../models/make-models.ts';

const MODELS = join(import.meta.dirname, '..', '..', 'models');

describe('example models', () => {
  it('make-models.ts regenerates the checked-in files byte for byte', () => {
    const out = mkdtempSync(join(tmpdir(), 'vta-models-'));
    for (const f of writeExampleModels(out)) {
      const name = f.slice(out.length + 1);
      expect(Buffer.compare(readFileSync(f), readFileSync(join(MODELS, name))), name).toBe(0);
      expect(statSync(f).size).toBeLessThan(300_000);
    }
  });

  it.each([
    ['mlp', ['dense', 'dense', 'dense'], [1, 784]],
    ['cnn', ['conv2d', 'max_pool', 'conv2d', 'max_pool', 'conv2d', 'add', 'flatten', 'dense'], [1, 3, 32, 32]],
  ])('%s imports to the expected layer sequence', (name, layers, shape) => {
    const imp = importOnnx(join(MODELS, `${name}.onnx`));
    const structural = new Set(['dense', 'conv2d', 'max_pool', 'add', 'flatten']);
    expect(imp.graph.nodes.map((n) => n.op).filter((op) => structural.has(op))).toEqual(layers);
    // The model's own interface: float32 in (quantized with scale 2^-7 by a host step) and out.
    expect(imp.graph.inputs).toEqual([{ name: 'input', shape, dtype: 'float32' }]);
    expect(imp.graph.nodes[0]).toMatchObject({ op: 'quantize', inputs: ['input'], attrs: { scale: [2 ** -7] } });
    // The example input (pre-quantized int8) exercises the network: outputs are not all equal or saturated.
    const q = parseNpy(readFileSync(join(MODELS, `${name}.input.npy`)), `${name}.input.npy`);
    const step = outputStep(imp.graph, 'logits');
    const y = Array.from(runReference(imp.graph, { input: floatInput(imp.graph, 'input', q) }).logits!.data, (v) => v / step);
    expect(new Set(y).size).toBeGreaterThan(5);
    expect(y.filter((v) => v === 127 || v === -128).length).toBeLessThan(3);
  });

  it.each(['mlp', 'cnn'])('%s: runReference agrees with onnxruntime', async (name) => {
    const imp = importOnnx(join(MODELS, `${name}.onnx`));
    const q = parseNpy(readFileSync(join(MODELS, `${name}.input.npy`)), `${name}.input.npy`);
    const feeds = { input: floatInput(imp.graph, 'input', q) };
    const [o] = await compareWithOrt(join(MODELS, `${name}.onnx`), imp.graph, feeds, runReference(imp.graph, feeds));
    // Exact: ONNX's half-to-even rounding is the import's default.
    expect(o!.exact).toBe(true);
    expect(o!.argmaxAgrees).toBe(true);
  });
});

/**
 * The ResNet-18-shaped QDQ model (models/real/ort-resnet18-u8-pc: uint8 activations, per-channel
 * weights, eight residual adds whose inputs have different scales), imported with default options,
 * on the RTL: every tensor VTA computes equals fsim's, byte for byte, on one 224×224 image.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileGraph } from '../../compiler/compile.ts';
import { runCompiled } from '../../compiler/execute.ts';
import { getDriver } from '../../drivers/registry.ts';
import { importOnnx } from '../../frontend/onnx/import.ts';
import { parseNpy } from '../../lib/npy.ts';

const DIR = join(import.meta.dirname, '..', '..', 'models', 'real');
const tsimReady = await getDriver('tsim').then(
  (d) => d.unavailable?.() === undefined,
  () => false,
);

describe.skipIf(!tsimReady)('ResNet-18-shaped QDQ model on tsim', () => {
  it('every VTA kernel on tsim gives fsim bytes; every requantization and residual add runs on VTA', async () => {
    const imp = importOnnx(join(DIR, 'ort-resnet18-u8-pc.onnx'));
    const model = compileGraph(imp.graph);
    // 20 convolutions, 8 residual adds and the classifier, each with its requantization fused.
    expect(model.kernels.length).toBe(29);
    const input = imp.graph.inputs[0]!;
    const all = parseNpy(readFileSync(join(DIR, 'ort-resnet18-u8-pc.input.npy')), 'input');
    const per = input.shape.reduce((a, b) => a * b, 1);
    const x = { shape: input.shape, dtype: 'float32' as const, data: all.data.slice(0, per) };
    const onFsim = await runCompiled(model, { [input.name]: x }, { keepAll: true });
    const onTsim = await runCompiled(model, { [input.name]: x }, { driver: 'tsim', keepAll: true });
    for (const k of model.kernels) {
      expect(Array.from(onTsim.tensors[k.output]!.data), k.name).toEqual(Array.from(onFsim.tensors[k.output]!.data));
    }
    const cycles = Object.values(onTsim.counters).reduce((s, c) => s + (c.cycles ?? 0), 0);
    expect(cycles).toBeGreaterThan(0);
  }, 240_000);
});

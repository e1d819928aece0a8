/**
 * 4- and 2-bit models end to end: the float MNIST CNN (models/float/mnist-cnn.onnx) quantized with
 * `--bits 4` (200 TRAIN digits, mse ranges, per-channel weights) keeps its top-1 accuracy within 3
 * points of float on all held-out digits in onnxruntime; on a 4-bit VTA (config/int4.json, fsim)
 * its three weighted layers before the logits run as kernels, bit-exactly against the reference
 * executor and within one output step of onnxruntime on ≥ 99% of the logits; on tsim too when an
 * int4 build is present. `--bits 2` runs end to end on config/int2.json (accuracy only sanity-checked).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openModel, runModel } from '../../api/index.ts';
import { loadConfig } from '../../config/config.ts';
import { addonPath } from '../../drivers/backends/tsim.ts';
import { evaluateQuantized } from '../../frontend/quantize/evaluate.ts';
import { quantizeModel, type QuantizeOptions } from '../../frontend/quantize/quantize.ts';
import { digitsNpy, loadMnist } from '../../models/mnist.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const FLOAT = readFileSync(join(ROOT, 'models', 'float', 'mnist-cnn.onnx'));
const INT4 = join(ROOT, 'config', 'int4.json');
const INT2 = join(ROOT, 'config', 'int2.json');
const { train, heldout } = loadMnist();
const calibration = new Map([['input', digitsNpy(train, 0, 200).x]]);
const all = digitsNpy(heldout, 0, heldout.count);
const dir = mkdtempSync(join(tmpdir(), 'vta-int4-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const OPTIONS: QuantizeOptions = { method: 'mse', perChannel: true, scales: 'float', biasCorrection: false, bits: 4 };

async function quantized(bits: number): Promise<{ path: string; bytes: Uint8Array }> {
  const q = await quantizeModel(FLOAT, 'mnist-cnn', calibration, { ...OPTIONS, bits });
  const path = join(dir, `mnist-cnn-${bits}.onnx`);
  writeFileSync(path, q.bytes);
  return { path, bytes: q.bytes };
}

/** The first `n` held-out digits as the model's float input. */
function digits(n: number) {
  return new Map([['input', { dtype: 'float32' as const, shape: [n, 1, 28, 28], data: (all.x.data as Float32Array).subarray(0, n * 784) }]]);
}

let four: Promise<{ path: string; bytes: Uint8Array }> | undefined;
const fourBit = () => (four ??= quantized(4));

describe('a 4-bit MNIST CNN', () => {
  it('stays within 3 points of float top-1 on all held-out digits (onnxruntime)', async () => {
    const { bytes } = await fourBit();
    const e = await evaluateQuantized(FLOAT, bytes, 'mnist-cnn', new Map([['input', all.x]]), { labels: all.y });
    expect(e.samples).toBe(heldout.count);
    expect(e.floatTop1!).toBeGreaterThan(0.95);
    expect(e.floatTop1! - e.quantTop1!).toBeLessThanOrEqual(0.03);
  }, 300_000);

  it('runs on a 4-bit VTA (fsim) bit-exactly against the reference and within one step of onnxruntime', async () => {
    const model = openModel((await fourBit()).path, { config: INT4 });
    expect(model.compiled.kernels.map((k) => k.name)).toHaveLength(3);
    expect(model.compiled.partition.find((l) => l.startsWith('host /features/features.9/Gemm '))).toMatch(/a 4-bit STORE keeps int4 \[-8, 7\]/);
    const report = await runModel(model, digits(100), { check: true });
    expect(report.check!.reference.mismatch).toBeUndefined();
    const [o] = report.check!.onnxruntime!.outputs;
    expect(o!.within[1]).toBeGreaterThanOrEqual(0.99);
    expect(o!.top1!.agree / o!.top1!.total).toBeGreaterThanOrEqual(0.99);
  }, 300_000);

  it.skipIf(!existsSync(addonPath(loadConfig(INT4))))('gives the same bytes on the RTL (tsim, int4 build)', async () => {
    const model = openModel((await fourBit()).path, { config: INT4 });
    const input = digits(4);
    const a = await runModel(model, input, { driver: 'fsim' });
    const b = await runModel(model, input, { driver: 'tsim' });
    const out = model.graph.outputs[0]!;
    expect(Array.from(b.outputs.get(out)!.data)).toEqual(Array.from(a.outputs.get(out)!.data));
  }, 600_000);
});

describe('a 2-bit MNIST CNN', () => {
  it('runs end to end on config/int2.json, bit-exactly against the reference and onnxruntime', async () => {
    const { path, bytes } = await quantized(2);
    const e = await evaluateQuantized(FLOAT, bytes, 'mnist-cnn', new Map([['input', digitsNpy(heldout, 0, 500).x]]), { labels: digitsNpy(heldout, 0, 500).y });
    // Sanity only: better than chance.
    expect(e.quantTop1!).toBeGreaterThan(0.2);
    const model = openModel(path, { config: INT2 });
    expect(model.compiled.kernels).toHaveLength(3);
    const report = await runModel(model, digits(50), { check: true });
    expect(report.check!.reference.mismatch).toBeUndefined();
    expect(report.check!.onnxruntime!.outputs[0]!.within[1]).toBeGreaterThanOrEqual(0.99);
  }, 300_000);
});

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
import { runCompiled } from '../../compiler/execute.ts';
import fsim from '../../drivers/backends/fsim.ts';
import tsim, { addonPath } from '../../drivers/backends/tsim.ts';
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

  // The driver is opened on the int4 config itself: only the int4 build is needed.
  it.skipIf(!existsSync(addonPath(loadConfig(INT4))))('gives the same bytes on the RTL (tsim, int4 build)', async () => {
    const model = openModel((await fourBit()).path, { config: INT4 });
    const out = model.graph.outputs[0]!;
    for (const backend of [fsim, tsim]) expect(backend.unavailable?.(model.config)).toBeUndefined();
    const [a, b] = [await fsim.open(model.config), await tsim.open(model.config)];
    try {
      for (let d = 0; d < 4; d++) {
        const input = { input: { dtype: 'float32' as const, shape: [1, 1, 28, 28], data: (all.x.data as Float32Array).slice(d * 784, (d + 1) * 784) } };
        const [ra, rb] = [await runCompiled(model.compiled, input, { driver: a }), await runCompiled(model.compiled, input, { driver: b })];
        expect(Array.from(rb.outputs[out]!.data)).toEqual(Array.from(ra.outputs[out]!.data));
      }
    } finally {
      a.close();
      b.close();
    }
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

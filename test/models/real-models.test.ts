/**
 * models/real/: quantized ONNX models written by other people's tools (torch's post-training
 * quantization and export, onnxruntime's quantize_static conventions, QOperator form, a
 * ResNet-18-shaped QDQ model, power-of-two models). This only proves the material is sound:
 * onnxruntime loads every model and runs it on its committed float32 input, batch by batch, giving
 * outputs of the declared names, dtypes and shapes with finite values. Whether VTA runs them is
 * issue 9's work.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');

const DIR = join(import.meta.dirname, '..', '..', 'models', 'real');
const MODELS = readdirSync(DIR)
  .filter((f) => f.endsWith('.onnx'))
  .map((f) => f.slice(0, -'.onnx'.length))
  .sort();

/** A little-endian float32 C-order .npy (what numpy.save writes for float32). */
function readFloat32Npy(path: string): { shape: number[]; data: Float32Array } {
  const bytes = readFileSync(path);
  expect(bytes.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
  const major = bytes[6]!;
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.subarray(start, start + headerLen).toString('latin1');
  expect(header).toMatch(/'descr': '<f4'/);
  expect(header).toMatch(/'fortran_order': False/);
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1]!.split(',').filter((s) => s.trim() !== '').map(Number);
  const body = bytes.subarray(start + headerLen);
  const data = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  expect(data.length).toBe(shape.reduce((a, b) => a * b, 1));
  return { shape, data };
}

function dims(meta: unknown): number[] {
  return ((meta as { shape: (number | string)[] }).shape).map((d) => (typeof d === 'number' ? d : 1));
}

describe('models/real: every model runs in onnxruntime on its committed input', () => {
  it('has the expected families of models, small enough to commit', () => {
    for (const family of ['torch-mlp-', 'torch-cnn-', 'ort-mlp-', 'ort-cnn-', 'qop-cnn-', 'ort-resnet18', 'pow2-']) {
      expect(MODELS.some((m) => m.startsWith(family)), family).toBe(true);
    }
    const total = readdirSync(DIR).reduce((sum, f) => sum + statSync(join(DIR, f)).size, 0);
    expect(total).toBeLessThan(20 * 1024 * 1024);
  });

  for (const name of MODELS) {
    it(name, async () => {
      const session = await ort.InferenceSession.create(join(DIR, `${name}.onnx`));
      expect(session.inputNames).toHaveLength(1);
      const inMeta = session.inputMetadata[0] as unknown as { type: string; shape: number[] };
      expect(inMeta.type).toBe('float32');
      const inShape = dims(inMeta);
      const x = readFloat32Npy(join(DIR, `${name}.input.npy`));
      expect(x.shape.slice(1)).toEqual(inShape.slice(1));
      const batch = inShape[0]!;
      expect(x.shape[0]! % batch).toBe(0);
      const perBatch = x.data.length / (x.shape[0]! / batch);
      for (let k = 0; k * perBatch < x.data.length; k++) {
        const feed = new ort.Tensor('float32', x.data.slice(k * perBatch, (k + 1) * perBatch), inShape);
        const out = await session.run({ [session.inputNames[0]!]: feed });
        for (const [i, outName] of session.outputNames.entries()) {
          const meta = session.outputMetadata[i] as unknown as { type: string; shape: number[] };
          const t = out[outName]!;
          expect(t.type).toBe(meta.type);
          expect(t.dims).toEqual(dims(meta));
          expect(Array.from(t.data as Float32Array).every(Number.isFinite)).toBe(true);
        }
      }
    });
  }
});

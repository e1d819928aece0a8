/**
 * models/float/: the float MNIST models that `vta quantize` is tested and shown on, and the
 * ResNet-18-shaped float model of its speed benchmark (models/resnet18-float.ts). onnxruntime runs
 * each on the HELD-OUT digits (which the models never saw); its top-1 must match the accuracy
 * models/float/README.md states (measured by torch at export), and the graphs must keep the ops
 * the quantizer has to handle (BatchNormalization unfolded, the mixed model's op mix).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onnx } from '../../frontend/onnx-builder.ts';
import { loadMnist } from '../../models/mnist.ts';
import { buildResnet18Float, randomImages } from '../../models/resnet18-float.ts';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node');

const DIR = join(import.meta.dirname, '..', '..', 'models', 'float');
const README = readFileSync(join(DIR, 'README.md'), 'utf8');
/** torch's outputs (at export) for the first held-out digits. */
const TORCH = JSON.parse(readFileSync(join(DIR, 'torch-reference.json'), 'utf8')) as { heldout_digits: number; outputs: Record<string, number[][]> };

/** Each model, the top-1 floor on the first 500 held-out digits, and its BatchNormalization layers. */
const MODELS = [
  { name: 'mnist-cnn', floor: 0.95, bn: 2 },
  { name: 'mnist-mlp', floor: 0.93, bn: 0 },
  { name: 'mnist-rescnn', floor: 0.95, bn: 6 },
  { name: 'mnist-mixed', floor: 0.95, bn: 1 },
];

function opTypes(bytes: Uint8Array): string[] {
  return onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType!);
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k]! > row[best]!) best = k;
  return best;
}

/** The accuracy README.md states for `name`, in percent. */
function statedAccuracy(name: string): number {
  const row = README.split('\n').find((l) => l.startsWith(`| \`${name}.onnx\``));
  expect(row, `README row of ${name}`).toBeDefined();
  return Number(/\| ([\d.]+)% \|/.exec(row!)![1]);
}

describe('models/float: float MNIST models in onnxruntime on HELD-OUT digits', () => {
  const { heldout } = loadMnist();

  for (const m of MODELS) {
    it(`${m.name}: torch's outputs; top-1 ≥ ${m.floor * 100}% on the first 500, and on all held-out digits as README.md states`, async () => {
      const session = await ort.InferenceSession.create(join(DIR, `${m.name}.onnx`));
      expect(session.inputNames).toEqual(['input']);
      const output = session.outputNames[0]!;
      let right = 0;
      let rightFirst500 = 0;
      for (let i = 0; i < heldout.count; i++) {
        const x = new ort.Tensor('float32', heldout.images.slice(i * 784, (i + 1) * 784), [1, 1, 28, 28]);
        const y = (await session.run({ input: x }))[output]!;
        expect(y.dims).toEqual([1, 10]);
        const row = y.data as Float32Array;
        if (i < TORCH.heldout_digits) {
          const want = TORCH.outputs[m.name]![i]!;
          row.forEach((v, c) => expect(Math.abs(v - want[c]!), `${m.name} digit ${i} class ${c}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(want[c]!))));
        }
        if (m.name === 'mnist-mixed') expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        if (argmax(row) === heldout.labels[i]) {
          right++;
          if (i < 500) rightFirst500++;
        }
      }
      expect(rightFirst500 / 500).toBeGreaterThanOrEqual(m.floor);
      expect(Math.abs((100 * right) / heldout.count - statedAccuracy(m.name))).toBeLessThan(0.006);
    });
  }

  it('keep BatchNormalization as nodes where the model has it (not folded into the Conv)', () => {
    for (const m of MODELS) {
      const ops = opTypes(readFileSync(join(DIR, `${m.name}.onnx`)));
      expect(ops.filter((op) => op === 'BatchNormalization').length, m.name).toBe(m.bn);
    }
  });

  it('mnist-mixed brings Clip, Concat, HardSwish, AveragePool, Reshape, MatMul + Add and Softmax', () => {
    const ops = new Set(opTypes(readFileSync(join(DIR, 'mnist-mixed.onnx'))));
    for (const op of ['Conv', 'BatchNormalization', 'Clip', 'Concat', 'HardSwish', 'AveragePool', 'Reshape', 'MatMul', 'Add', 'Relu', 'Gemm', 'Softmax']) expect(ops.has(op), op).toBe(true);
    expect(ops.has('Flatten')).toBe(false);
  });

  it('mnist-rescnn runs a batch of 4 in one run, each row as when run alone', async () => {
    const session = await ort.InferenceSession.create(join(DIR, 'mnist-rescnn.onnx'));
    const batch = await session.run({ input: new ort.Tensor('float32', heldout.images.slice(0, 4 * 784), [4, 1, 28, 28]) });
    expect(batch.logits!.dims).toEqual([4, 10]);
    for (let k = 0; k < 4; k++) {
      const alone = await session.run({ input: new ort.Tensor('float32', heldout.images.slice(k * 784, (k + 1) * 784), [1, 1, 28, 28]) });
      const row = (batch.logits!.data as Float32Array).subarray(k * 10, (k + 1) * 10);
      (alone.logits!.data as Float32Array).forEach((v, c) => expect(row[c]).toBeCloseTo(v, 4));
    }
  });
});

describe('models/resnet18-float.ts: the benchmark model', () => {
  it('has ResNet-18 shape and gives finite, input-dependent logits in onnxruntime', async () => {
    const bytes = buildResnet18Float();
    const ops = opTypes(bytes);
    const count = (op: string): number => ops.filter((o) => o === op).length;
    // conv1, 16 block convs, 3 downsampling shortcuts; one BN each; 8 residual adds.
    expect([count('Conv'), count('BatchNormalization'), count('Add'), count('Relu'), count('Gemm')]).toEqual([20, 20, 8, 17, 1]);
    const session = await ort.InferenceSession.create(bytes);
    const images = randomImages(2, 5);
    expect(images.shape).toEqual([2, 3, 224, 224]);
    const size = 3 * 224 * 224;
    const logits: number[][] = [];
    for (let k = 0; k < 2; k++) {
      const out = await session.run({ input: new ort.Tensor('float32', (images.data as Float32Array).slice(k * size, (k + 1) * size), [1, 3, 224, 224]) });
      expect(out.logits!.dims).toEqual([1, 1000]);
      logits.push(Array.from(out.logits!.data as Float32Array));
    }
    for (const l of logits) {
      expect(l.every(Number.isFinite)).toBe(true);
      const mean = l.reduce((a, b) => a + b, 0) / l.length;
      const std = Math.sqrt(l.reduce((a, b) => a + (b - mean) ** 2, 0) / l.length);
      expect(std).toBeGreaterThan(0.1); // not collapsed to one value
      expect(std).toBeLessThan(100); // activations stayed O(1) through the blocks
    }
    expect(logits[0]!.some((v, c) => Math.abs(v - logits[1]![c]!) > 1e-3)).toBe(true);
  });

  it('gives the same images for the same seed', () => {
    expect(Array.from(randomImages(1, 9).data.subarray(0, 100))).toEqual(Array.from(randomImages(1, 9).data.subarray(0, 100)));
    expect(Array.from(randomImages(1, 9).data.subarray(0, 100))).not.toEqual(Array.from(randomImages(1, 10).data.subarray(0, 100)));
  });
});

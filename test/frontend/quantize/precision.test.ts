/**
 * vta quantize at 4 and 2 bits on the float MNIST MLP (three Gemms): which values and weights get
 * which width (--keep-8bit keeps a layer's weights and the activations it reads at 8 bits, graph
 * outputs stay 8-bit), and the forms written: INT4 initializers and Q/DQ in an opset-21 model at 4
 * bits; int8 Q → DQ → Clip (a quarter step beyond the 2-bit grid) → Q → DQ at 2 bits. onnxruntime runs
 * both and its 2-bit activations take at most four levels.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { FloatModel } from '../../../frontend/quantize/float-model.ts';
import { quantizeModel, type QuantizeOptions } from '../../../frontend/quantize/quantize.ts';
import { ELEM } from '../../../frontend/onnx/read.ts';
import { digitsNpy, loadMnist } from '../../../models/mnist.ts';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node');
const MLP = readFileSync(join(import.meta.dirname, '..', '..', '..', 'models', 'float', 'mnist-mlp.onnx'));
const calibration = new Map([['input', digitsNpy(loadMnist().train, 0, 32).x]]);
const OPTIONS: QuantizeOptions = { method: 'mse', perChannel: true, scales: 'float', biasCorrection: false, bits: 8 };
const GEMMS = ['/layers/layers.1/Gemm', '/layers/layers.3/Gemm', '/layers/layers.5/Gemm'];

/** The element type of the integer initializer a weighted node's weight DequantizeLinear reads. */
function weightElem(m: FloatModel, gemm: string): number {
  const node = m.nodes.find((n) => n.name === gemm)!;
  const dq = m.nodes.find((n) => n.outputs[0] === node.inputs[1])!;
  return m.initializers.get(dq.inputs[0]!)!.dataType!;
}

/** The zero point type of the QuantizeLinear whose output the node reads through a DequantizeLinear. */
function inputElem(m: FloatModel, gemm: string): number {
  const node = m.nodes.find((n) => n.name === gemm)!;
  const dq = m.nodes.find((n) => n.outputs[0] === node.inputs[0])!;
  return m.initializers.get(dq.inputs[2]!)!.dataType!;
}

describe('vta quantize --bits 4 / 2', () => {
  it('4 bits: INT4 weights and activations, opset 21; --keep-8bit keeps a layer and its input int8; outputs stay int8', async () => {
    const q = await quantizeModel(MLP, 'mnist-mlp', calibration, { ...OPTIONS, bits: 4, keep8bit: [GEMMS[0]!] });
    expect(q.report.bits).toBe(4);
    expect(q.report.kept8bit).toEqual([GEMMS[0]]);
    const m = new FloatModel(q.bytes, 'q');
    expect(m.opset).toBe(21);
    expect(GEMMS.map((g) => weightElem(m, g))).toEqual([ELEM.int8, ELEM.int4, ELEM.int4]);
    expect(GEMMS.map((g) => inputElem(m, g))).toEqual([ELEM.int8, ELEM.int4, ELEM.int4]);
    const out = m.nodes.find((n) => n.opType === 'DequantizeLinear' && n.outputs[0] === m.outputs[0])!;
    expect(m.initializers.get(out.inputs[2]!)!.dataType).toBe(ELEM.int8);
    const session = await ort.InferenceSession.create(q.bytes);
    const x = digitsNpy(loadMnist().heldout, 0, 1).x;
    const r = await session.run({ input: new ort.Tensor('float32', x.data as Float32Array, x.shape) });
    expect(Object.values(r)[0]!.dims).toEqual([1, 10]);
  });

  it('2 bits: int8 Q/DQ, a Clip a quarter step beyond the grid, Q/DQ again; onnxruntime keeps four levels', async () => {
    const q = await quantizeModel(MLP, 'mnist-mlp', calibration, { ...OPTIONS, bits: 2 });
    const m = new FloatModel(q.bytes, 'q');
    expect(m.opset).toBe(13);
    const clips = m.nodes.filter((n) => n.opType === 'Clip');
    // Every quantized value but the logits (8-bit): the input, the flattened input, two hidden ones.
    expect(clips).toHaveLength(q.report.values.filter((v) => !m.outputs.includes(v.value)).length);
    expect(clips).toHaveLength(4);
    const f32 = (name: string) => new Float32Array(Uint8Array.from(m.initializers.get(name)!.rawData!).buffer)[0]!;
    for (const clip of clips) {
      const dq = m.nodes.find((n) => n.outputs[0] === clip.inputs[0])!;
      expect(dq.opType).toBe('DequantizeLinear');
      const [scale, zp] = [f32(dq.inputs[1]!), new Int8Array(Uint8Array.from(m.initializers.get(dq.inputs[2]!)!.rawData!).buffer)[0]!];
      expect(zp).toBeGreaterThanOrEqual(-2);
      expect(zp).toBeLessThanOrEqual(1);
      expect(f32(clip.inputs[1]!) / scale).toBeCloseTo(-2 - zp - 0.25, 4);
      expect(f32(clip.inputs[2]!) / scale).toBeCloseTo(1 - zp + 0.25, 4);
      expect(m.nodes.find((n) => n.inputs[0] === clip.outputs[0])!.opType).toBe('QuantizeLinear');
    }
    expect(GEMMS.map((g) => weightElem(m, g))).toEqual([ELEM.int8, ELEM.int8, ELEM.int8]);
    // The hidden activation onnxruntime computes has at most 4 distinct values.
    const gridQ = m.nodes.find((n) => n.opType === 'QuantizeLinear' && n.inputs[0] === clips.find((c) => c.name.includes('layers.2'))!.outputs[0])!;
    const hidden = m.nodes.find((n) => n.opType === 'DequantizeLinear' && n.inputs[0] === gridQ.outputs[0])!.outputs[0]!;
    m.outputs.push(hidden);
    const session = await ort.InferenceSession.create(m.encode([hidden]));
    const x = digitsNpy(loadMnist().heldout, 0, 8).x;
    const r = await session.run({ input: new ort.Tensor('float32', (x.data as Float32Array).subarray(0, 784), [1, 1, 28, 28]) });
    expect(new Set(r[hidden]!.data as Float32Array).size).toBeLessThanOrEqual(4);
  });
});

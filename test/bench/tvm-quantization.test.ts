/**
 * bench/tvm-quantization.ts: the ResNet-18-shaped QDQ model requantized as TVM's VTA flow does
 * (power-of-two, symmetric, per tensor) is a valid model onnxruntime runs, and imports with every
 * requantization a plain shift, every layer and residual add on VTA, equal to onnxruntime.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { tvmStyleQuantization } from '../../bench/tvm-quantization.ts';
import { RESNET18_ONNX, resnet18Input } from '../../bench/resnet18.ts';
import { compileGraph } from '../../compiler/compile.ts';
import { decodeModelProto, tensorData } from '../../frontend/onnx/read.ts';
import { importOnnx } from '../../frontend/onnx/import.ts';
import { runReference } from '../../graph/reference.ts';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node');
const bytes = tvmStyleQuantization(readFileSync(RESNET18_ONNX), 'resnet18');
const isPow2 = (s: number) => s > 0 && Number.isInteger(Math.log2(s));

describe('TVM-style quantization of the ResNet-18-shaped model', () => {
  it('every scale a power of two, every zero point 0, weights per tensor', () => {
    const g = decodeModelProto(bytes, 'tvm').graph;
    const init = new Map(g.initializer!.map((t) => [t.name!, tensorData(t, t.name!)]));
    const dq = g.node!.filter((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear');
    expect(dq.length).toBeGreaterThan(100);
    for (const n of dq) {
      const scale = init.get(n.input![1]!)!;
      expect(scale.dims, n.name!).toEqual([]);
      expect(isPow2(scale.data[0]!), `${n.name} scale ${scale.data[0]}`).toBe(true);
      expect(Array.from(init.get(n.input![2]!)!.data), n.name!).toEqual([0]);
    }
    // The ReLUs the uint8 ranges folded in are explicit nodes now: after conv1, each block's first conv and each add.
    expect(g.node!.filter((n) => n.opType === 'Relu')).toHaveLength(1 + 8 + 8);
  });

  it('imports as shifts only and runs every conv and add on VTA; the reference equals onnxruntime', async () => {
    const imp = importOnnx(bytes);
    const requantizes = imp.graph.nodes.filter((n) => n.op === 'requantize');
    expect(requantizes.length).toBe(20 + 8 + 1);
    for (const n of requantizes) expect(n.inputs, n.name).toHaveLength(1); // no per-channel multiplier
    expect(imp.graph.nodes.filter((n) => n.op === 'requantize_float')).toEqual([]);
    const model = compileGraph(imp.graph);
    expect(model.kernels.length).toBe(29);
    const x = resnet18Input();
    const input = imp.graph.inputs[0]!.name;
    const ours = runReference(imp.graph, { [input]: x });
    const session = await ort.InferenceSession.create(bytes);
    const theirs = await session.run({ [input]: new ort.Tensor('float32', x.data as Float32Array, x.shape) });
    const out = imp.graph.outputs[0]!;
    expect(Array.from(ours[out]!.data)).toEqual(Array.from(theirs[out]!.data as Float32Array));
  }, 120_000);
});

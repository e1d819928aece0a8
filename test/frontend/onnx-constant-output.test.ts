/** An initializer that is also a graph output is returned as onnxruntime returns it, in its own dtype. */
import { describe, expect, it } from 'vitest';
import { compileGraph } from '../../compiler/compile.ts';
import { runCompiled } from '../../compiler/execute.ts';
import { defaultVtaConfig } from '../../config/config.ts';
import { buildOnnxModel } from '../../frontend/onnx-builder.ts';
import { importOnnx } from '../../frontend/onnx/import.ts';
import { loadOrt } from '../../frontend/onnxruntime.ts';

const model = (w: { type: 'float' | 'int32' | 'int64'; values: number[] }) =>
  buildOnnxModel({
    name: 'const-out', opset: 13,
    inputs: [{ name: 'x', type: 'float', shape: [1, 4] }],
    outputs: [{ name: 'y', type: 'float', shape: [1, 4] }, { name: 'w', type: w.type, shape: [2, 2] }],
    initializers: [{ name: 'w', type: w.type, dims: [2, 2], values: w.values }],
    nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'], name: 'relu' }],
  });

describe('an initializer as a graph output', () => {
  for (const w of [{ type: 'float' as const, values: [0.5, -1.25, 3, 0] }, { type: 'int32' as const, values: [7, -8, 100000, 0] }]) {
    it(`${w.type}: compiled and run, it equals onnxruntime's output`, async () => {
      const bytes = model(w);
      const { graph } = importOnnx(bytes);
      const x = Float32Array.from([1, -2, 3, -4]);
      const r = await runCompiled(compileGraph(graph, { config: defaultVtaConfig() }), { x: { shape: [1, 4], dtype: 'float32', data: x } });
      const ort = loadOrt();
      const s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4 });
      const expected = await s.run({ x: new ort.Tensor('float32', x, [1, 4]) });
      expect(r.outputs.w!.dtype).toBe(w.type === 'float' ? 'float32' : 'int32');
      expect(r.outputs.w!.shape).toEqual([2, 2]);
      expect(Array.from(r.outputs.w!.data)).toEqual(Array.from(expected.w!.data as ArrayLike<number>));
      expect(Array.from(r.outputs.y!.data)).toEqual(Array.from(expected.y!.data as ArrayLike<number>));
    });
  }

  it('an element type the graph has no dtype for is refused in one line naming the output', () => {
    expect(() => importOnnx(model({ type: 'int64', values: [1, 2, 3, 4] }))).toThrow(/^output 'w': an initializer of element type int64 as a graph output is not supported/);
  });
});

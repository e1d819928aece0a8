/**
 * ONNX's own backend node tests for the quantized operators (Debian `libonnx-testdata`, installed
 * by `make testdata`): each model's parameters (inputs 1..) are made initializers in memory, then
 * the model is imported, run by the reference executor and compiled and run on fsim; both must
 * give exactly the shipped output_0.pb.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { onnx as OnnxNs } from 'onnx-proto';
import { compileGraph } from '../../compiler/compile.ts';
import { runCompiled } from '../../compiler/execute.ts';
import type { Tensor } from '../../graph/ir.ts';
import { runReference } from '../../graph/reference.ts';
import { onnx } from '../../frontend/onnx-builder.ts';
import { importOnnx } from '../../frontend/onnx/import.ts';
import { tensorData } from '../../frontend/onnx/read.ts';

const ROOT = '/usr/share/libonnx-testdata/data/node';
const TESTS = [
  'test_basic_convinteger', 'test_convinteger_with_padding', 'test_convinteger_without_padding',
  'test_dequantizelinear', 'test_dequantizelinear_axis', 'test_matmulinteger', 'test_qlinearconv',
  'test_qlinearmatmul_2D', 'test_qlinearmatmul_3D', 'test_quantizelinear', 'test_quantizelinear_axis',
];

/** The model with every graph input but the first turned into an initializer holding its test value. */
function withParametersAsInitializers(dir: string): Uint8Array {
  const model = onnx.ModelProto.decode(readFileSync(join(dir, 'model.onnx')));
  const g = model.graph!;
  const inputs = g.input ?? [];
  for (let i = inputs.length - 1; i >= 1; i--) {
    const t = onnx.TensorProto.decode(readFileSync(join(dir, 'test_data_set_0', `input_${i}.pb`)));
    t.name = inputs[i]!.name ?? '';
    g.initializer = [...(g.initializer ?? []), t];
  }
  g.input = inputs.slice(0, 1);
  if (Number(model.irVersion) < 4) model.irVersion = 4;
  return onnx.ModelProto.encode(model).finish();
}

const DTYPES = new Map<number, Tensor['dtype']>([[1, 'float32'], [2, 'uint8'], [3, 'int8'], [6, 'int32']]);

function readTensor(path: string): Tensor {
  const t: OnnxNs.TensorProto = onnx.TensorProto.decode(readFileSync(path));
  const { elem, dims, data } = tensorData(t, path);
  const dtype = DTYPES.get(elem)!;
  const typed = dtype === 'float32' ? Float32Array.from(data) : dtype === 'uint8' ? Uint8Array.from(data) : dtype === 'int8' ? Int8Array.from(data) : Int32Array.from(data);
  return { shape: dims.length ? dims : [1], dtype, data: typed };
}

describe.skipIf(!existsSync(ROOT))('libonnx-testdata quantized-operator node tests, exact', () => {
  for (const name of TESTS) {
    it(name, async () => {
      const dir = join(ROOT, name);
      const imp = importOnnx(withParametersAsInitializers(dir));
      const x = readTensor(join(dir, 'test_data_set_0', 'input_0.pb'));
      const want = readTensor(join(dir, 'test_data_set_0', 'output_0.pb'));
      const inName = imp.graph.inputs[0]!.name;
      const outName = imp.graph.outputs[0]!;
      const ref = runReference(imp.graph, { [inName]: x })[outName]!;
      expect(ref.dtype).toBe(want.dtype);
      expect(ref.shape.join(',')).toBe(want.shape.join(','));
      expect(Array.from(ref.data)).toEqual(Array.from(want.data));
      const run = await runCompiled(compileGraph(imp.graph), { [inName]: x });
      expect(Array.from(run.outputs[outName]!.data)).toEqual(Array.from(want.data));
    });
  }
});

if (!existsSync(ROOT)) {
  describe('libonnx-testdata', () => {
    it.skip(`not installed (${ROOT} is absent): run \`make testdata\``, () => {});
  });
}

/** The translator table is the supported-operator list: a refusal names exactly its keys. */
import { describe, expect, it } from 'vitest';
import { buildOnnxModel } from '../../frontend/onnx-builder.ts';
import { importOnnx, SUPPORTED_OPS } from '../../frontend/onnx/import.ts';
import { TRANSLATORS } from '../../frontend/onnx/ops.ts';

describe('ONNX operator table', () => {
  it('SUPPORTED_OPS are the keys of TRANSLATORS, the quantized forms first', () => {
    expect(SUPPORTED_OPS).toEqual([...TRANSLATORS.keys()]);
    expect(SUPPORTED_OPS.slice(0, 6)).toEqual(['QuantizeLinear', 'DequantizeLinear', 'QLinearConv', 'QLinearMatMul', 'MatMulInteger', 'ConvInteger']);
  });

  it('an operator outside the table, even an Object.prototype name, is refused with the list', () => {
    for (const op of ['Einsum', 'toString', '__proto__']) {
      const bytes = buildOnnxModel({
        name: 'm', opset: 13,
        inputs: [{ name: 'x', type: 'float', shape: [1, 2] }], outputs: [{ name: 'y', type: 'int8', shape: [1, 2] }],
        initializers: [{ name: 's', type: 'float', dims: [], values: [0.5] }, { name: 'z', type: 'int8', dims: [], values: [0] }],
        nodes: [{ op: 'QuantizeLinear', inputs: ['x', 's', 'z'], outputs: ['q'], name: 'qx' }, { op, inputs: ['q'], outputs: ['y'], name: 'bad' }],
      });
      expect(() => importOnnx(bytes)).toThrow(`node bad (${op}): operator ${op} is not supported (supported: ${SUPPORTED_OPS.join(', ')})`);
    }
  });
});

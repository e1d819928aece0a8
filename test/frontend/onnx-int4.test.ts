/**
 * Opset 21's INT4 and UINT4: initializers (two per byte, low nibble first, in raw_data or int32_data)
 * read as their values, and Q/DQ of INT4 imported as an int8 IR tensor clipped to [−8, 7] (what the
 * compiler takes as proof that the tensor fits a 4-bit config); the imported model computes what
 * onnxruntime computes for the same opset-21 model.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../../frontend/onnx/import.ts';
import { onnx } from '../../frontend/onnx-builder.ts';
import { ELEM, tensorData } from '../../frontend/onnx/read.ts';
import { runReference } from '../../graph/reference.ts';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node');

const valueInfo = (name: string, elem: number, shape: number[]) => ({ name, type: { tensorType: { elemType: elem, shape: { dim: shape.map((d) => ({ dimValue: d })) } } } });
const floats = (name: string, dims: number[], v: number[]) => ({ name, dataType: ELEM.float, dims, rawData: new Uint8Array(Float32Array.from(v).buffer) });
/** Hand packing, independent of isa/elements.ts: value k in nibble k % 2 of byte k / 2. */
const nibbles = (values: number[]) => {
  const b = new Uint8Array(Math.ceil(values.length / 2));
  values.forEach((v, k) => (b[k >> 1]! |= (v & 15) << ((k & 1) * 4)));
  return b;
};

/** x [1, 6] → Q (INT4 or UINT4) → DQ → MatMul with a DQ'd per-column INT4/UINT4 weight [6, 5]. */
function int4Model(elem: number): Uint8Array {
  const offset = elem === ELEM.int4 ? 0 : 8;
  const w = [1, -2, 3, -8, 7, 0, -1, 2, 5, -3, 4, -4, 6, -7, 0, 1, 2, -5, 3, 3, -6, 7, -8, 1, 0, 5, -1, -2, 4, 2].map((v) => v + offset);
  const graph = {
    name: 'int4',
    input: [valueInfo('x', ELEM.float, [1, 6])],
    output: [valueInfo('y', ELEM.float, [1, 5])],
    initializer: [
      floats('s', [], [0.25]),
      { name: 'zp', dataType: elem, dims: [], rawData: nibbles([offset + 1]) },
      { name: 'w', dataType: elem, dims: [6, 5], rawData: nibbles(w) },
      floats('ws', [5], [0.5, 0.25, 0.125, 1, 0.75]),
      { name: 'wzp', dataType: elem, dims: [5], rawData: nibbles([offset, offset, offset, offset, offset]) },
    ],
    node: [
      { opType: 'QuantizeLinear', input: ['x', 's', 'zp'], output: ['xq'], name: 'q' },
      { opType: 'DequantizeLinear', input: ['xq', 's', 'zp'], output: ['xd'], name: 'dq' },
      { opType: 'DequantizeLinear', input: ['w', 'ws', 'wzp'], output: ['wd'], name: 'wdq', attribute: [{ name: 'axis', type: 2, i: 1 }] },
      { opType: 'MatMul', input: ['xd', 'wd'], output: ['y'], name: 'mm' },
    ],
  };
  return onnx.ModelProto.encode({ irVersion: 10, opsetImport: [{ domain: '', version: 21 }], graph } as never).finish();
}

describe('INT4 and UINT4 (opset 21)', () => {
  it('initializers: two per byte, low nibble first, signed for INT4; raw_data or int32_data', () => {
    expect(Array.from(tensorData({ dataType: ELEM.int4, dims: [3], rawData: Uint8Array.from([0x8f, 0x07]) }, 't').data)).toEqual([-1, -8, 7]);
    expect(Array.from(tensorData({ dataType: ELEM.uint4, dims: [3], rawData: Uint8Array.from([0x8f, 0x07]) }, 't').data)).toEqual([15, 8, 7]);
    expect(Array.from(tensorData({ dataType: ELEM.int4, dims: [2, 2], int32Data: [0x21, 0xe9] }, 't').data)).toEqual([1, 2, -7, -2]);
    expect(() => tensorData({ dataType: ELEM.int4, dims: [5], rawData: Uint8Array.from([0, 0]) }, 'w')).toThrow(/w: holds 2 bytes but int4 \[5\] needs 3/);
  });

  for (const elem of [ELEM.int4, ELEM.uint4]) {
    const name = elem === ELEM.int4 ? 'INT4' : 'UINT4';
    it(`${name} Q/DQ imports as a clip to [-8, 7] and computes what onnxruntime computes`, async () => {
      const bytes = int4Model(elem);
      const { graph } = importOnnx(bytes);
      const narrow = graph.nodes.filter((n) => n.op === 'clip');
      expect(narrow.map((n) => n.attrs)).toEqual([{ min: -8, max: 7 }]);
      const session = await ort.InferenceSession.create(bytes);
      // Values beyond the 4-bit range saturate (−3 and 9 quantize to −12 and 36 before the clip).
      const x = Float32Array.from([1, -3, 0.6, 9, -0.3, 0.2]);
      const expected = (await session.run({ x: new ort.Tensor('float32', x, [1, 6]) })).y!.data as Float32Array;
      const ours = runReference(graph, { x: { shape: [1, 6], dtype: 'float32', data: x } }).y!;
      expect(Array.from(ours.data)).toEqual(Array.from(expected));
    });
  }
});

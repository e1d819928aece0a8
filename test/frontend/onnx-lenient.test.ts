/**
 * Models onnxruntime refuses as invalid are refused by the importer too, with one line naming the
 * node and attribute, or the protobuf field (issue 16 item 6): attributes that do not fit the
 * weights (kernel_shape, strides, pads, dilations, group), inner dimensions of Gemm / MatMul, and
 * corrupt protobufs (a wrong wire type, a truncated file, a length past the end).
 */
import { describe, expect, it } from 'vitest';
import { buildOnnxModel, type AttrValue } from '../../frontend/onnx-builder.ts';
import { importOnnx } from '../../frontend/onnx/import.ts';
import { loadOrt } from '../../frontend/onnxruntime.ts';

const ort = loadOrt();

const QDQ_IN = [
  { op: 'QuantizeLinear', inputs: ['x', 's', 'z'], outputs: ['q'] },
  { op: 'DequantizeLinear', inputs: ['q', 's', 'z'], outputs: ['dq'] },
  { op: 'DequantizeLinear', inputs: ['w', 'ws', 'wz'], outputs: ['dw'] },
];
const QDQ_OUT = [
  { op: 'QuantizeLinear', inputs: ['c', 's', 'z'], outputs: ['cq'] },
  { op: 'DequantizeLinear', inputs: ['cq', 's', 'z'], outputs: ['y'] },
];

/** x (float) → Q/DQ → `op` with int8 weights of shape `w` → Q/DQ → y. */
function model(op: string, x: number[], w: number[], attrs: Record<string, AttrValue>): Uint8Array {
  const n = w.reduce((a, b) => a * b, 1);
  return buildOnnxModel({
    name: 'm', opset: 13,
    inputs: [{ name: 'x', type: 'float', shape: x }],
    // Symbolic output dimensions: onnxruntime checks them against its own inference otherwise.
    outputs: [{ name: 'y', type: 'float', shape: x.map((_, k) => `d${k}`) }],
    initializers: [
      { name: 's', type: 'float', dims: [], values: [0.5] }, { name: 'z', type: 'uint8', dims: [], values: [128] },
      { name: 'w', type: 'int8', dims: w, values: Array.from({ length: n }, (_, i) => (i % 5) - 2) },
      { name: 'ws', type: 'float', dims: [], values: [0.1] }, { name: 'wz', type: 'int8', dims: [], values: [0] },
    ],
    nodes: [...QDQ_IN, { op, inputs: ['dq', 'dw'], outputs: ['c'], name: 'n1', attrs }, ...QDQ_OUT],
  });
}

/** Whether onnxruntime loads the model and runs it on zeros. */
async function ortAccepts(bytes: Uint8Array, x: number[]): Promise<boolean> {
  try {
    // Fatal messages only: each refusal would otherwise be logged to stderr besides being thrown.
    const s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4 });
    try {
      await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', new Float32Array(x.reduce((a, b) => a * b, 1)), x) });
    } finally {
      await s.release();
    }
    return true;
  } catch {
    return false;
  }
}

const X = [1, 3, 8, 8];
const PADS = { pads: [1, 1, 1, 1] };
/** [what, op, input shape, weight shape, attributes, the refusal]. */
const INVALID: [string, string, number[], number[], Record<string, AttrValue>, RegExp][] = [
  ['kernel_shape 5x5 on 3x3 weights', 'Conv', X, [4, 3, 3, 3], { kernel_shape: [5, 5], ...PADS }, /^node n1 \(Conv\): kernel_shape \[5,5\] does not match the weight's kernel \[3,3\]$/],
  ['a 1-D kernel_shape on 2-D weights', 'Conv', X, [4, 3, 3, 3], { kernel_shape: [3], ...PADS }, /^node n1 \(Conv\): kernel_shape \[3\] does not match/],
  ['three strides', 'Conv', X, [4, 3, 3, 3], { strides: [1, 1, 1], ...PADS }, /^node n1 \(Conv\): strides \[1,1,1\] has 3 values but the 2-D kernel needs 2$/],
  ['two pads', 'Conv', X, [4, 3, 3, 3], { pads: [1, 1] }, /^node n1 \(Conv\): pads \[1,1\] has 2 values but the 2-D kernel needs 4$/],
  ['one dilation', 'Conv', X, [4, 3, 3, 3], { dilations: [1], ...PADS }, /^node n1 \(Conv\): dilations \[1\] has 1 values/],
  ['a negative pad', 'Conv', X, [4, 3, 3, 3], { pads: [-1, 1, 1, 1] }, /^node n1 \(Conv\): pads \[-1,1,1,1\] must not be negative$/],
  ['a zero stride', 'Conv', X, [4, 3, 3, 3], { strides: [0, 1], ...PADS }, /^node n1 \(Conv\): strides \[0,1\] must be positive$/],
  ['weights for other input channels', 'Conv', X, [4, 2, 3, 3], PADS, /^node n1 \(Conv\): the input has 3 channels but the weight \[4,2,3,3\] with group 1 takes 2$/],
  ['a group that does not divide the input channels', 'Conv', X, [4, 3, 3, 3], { group: 2, ...PADS }, /^node n1 \(Conv\): the input has 3 channels but the weight \[4,3,3,3\] with group 2 takes 6$/],
  ['a group that does not divide the output channels', 'Conv', [1, 4, 8, 8], [3, 2, 3, 3], { group: 2, ...PADS }, /^node n1 \(Conv\): the weight's 3 output channels are not divisible by group 2$/],
  ['Gemm inner dimensions 8 and 6', 'Gemm', [2, 8], [6, 4], {}, /^node n1 .*expects K=6$/],
  ['Gemm transB inner dimensions 8 and 6', 'Gemm', [2, 8], [4, 6], { transB: 1 }, /^node n1 .*expects K=6$/],
  ['MatMul inner dimensions 8 and 6', 'MatMul', [2, 8], [6, 4], {}, /^node n1 .*expects K=6$/],
  ['Gemm on a 3-D input', 'Gemm', [2, 1, 8], [8, 4], {}, /^node n1 .*must be 2-D/],
];

describe('invalid models onnxruntime refuses are refused on import', () => {
  it('the valid forms of each are accepted by both (the cases below differ in one thing)', async () => {
    const valid: [string, number[], number[], Record<string, AttrValue>][] = [['Conv', X, [4, 3, 3, 3], { kernel_shape: [3, 3], ...PADS }], ['Gemm', [2, 8], [8, 4], {}], ['MatMul', [2, 8], [8, 4], {}]];
    for (const [op, x, w, attrs] of valid) {
      const bytes = model(op, x, w, attrs);
      expect(await ortAccepts(bytes, x), op).toBe(true);
      expect(() => importOnnx(bytes), op).not.toThrow();
    }
  });

  for (const [what, op, x, w, attrs, refusal] of INVALID) {
    it(what, async () => {
      const bytes = model(op, x, w, attrs);
      expect(await ortAccepts(bytes, x)).toBe(false);
      expect(() => importOnnx(bytes)).toThrow(refusal);
    });
  }

  it('a pool without kernel_shape', async () => {
    const bytes = buildOnnxModel({
      name: 'p', opset: 13,
      inputs: [{ name: 'x', type: 'float', shape: X }], outputs: [{ name: 'y', type: 'float', shape: [1, 3, 4, 4] }],
      initializers: [{ name: 's', type: 'float', dims: [], values: [0.5] }, { name: 'z', type: 'uint8', dims: [], values: [128] }],
      nodes: [QDQ_IN[0]!, QDQ_IN[1]!, { op: 'MaxPool', inputs: ['dq'], outputs: ['c'], name: 'n1', attrs: { strides: [2, 2] } }, ...QDQ_OUT],
    });
    expect(await ortAccepts(bytes, X)).toBe(false);
    expect(() => importOnnx(bytes)).toThrow(/^node n1 \(MaxPool\): kernel_shape is missing \(required\)$/);
  });
});

describe('corrupt protobufs onnxruntime refuses are refused, naming the field', () => {
  const good = model('Conv', X, [4, 3, 3, 3], PADS);
  /** Offset of the model's graph field (7, length-delimited: tag 0x3a). */
  const graphAt = good.indexOf(0x3a);

  const cases: [string, Uint8Array, RegExp][] = [
    ['the graph written as a varint', Uint8Array.from(good, (b, i) => (i === graphAt ? 0x38 : b)), /^ONNX model: not a valid ONNX model \(graph: wire type varint, the schema's is length-delimited\)$/],
    ['a truncated file', good.slice(0, good.length - 7), /^ONNX model: not a valid ONNX model \(graph: length \d+ runs past the end of its message \(\d+ bytes left\)\)$/],
    ['a length past the end', Uint8Array.from(good, (b, i) => (i === graphAt + 1 ? b + 100 : b)), /^ONNX model: not a valid ONNX model \(.*\)$/],
  ];
  it('the uncorrupted model is accepted by both', async () => {
    expect(await ortAccepts(good, X)).toBe(true);
    expect(() => importOnnx(good)).not.toThrow();
  });
  for (const [what, bytes, refusal] of cases) {
    it(what, async () => {
      expect(await ortAccepts(bytes, X)).toBe(false);
      expect(() => importOnnx(bytes)).toThrow(refusal);
    });
  }

  it('a wrong wire type deep in the graph names its path', () => {
    // The Conv node's pads attribute (field 8, ints) written as 32-bit: tag 0x45 instead of 0x40 / 0x42.
    const node = buildOnnxModel({
      name: 'm', opset: 13,
      inputs: [{ name: 'x', type: 'float', shape: [1, 2] }], outputs: [{ name: 'y', type: 'float', shape: [1, 2] }],
      initializers: [], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'], name: 'r', attrs: { ints_attr: [7, 7] } }],
    });
    const at = node.findIndex((b, i) => (b === 0x40 || b === 0x42) && node[i + 1] === (b === 0x40 ? 7 : 2));
    expect(at).toBeGreaterThan(0);
    const damaged = Uint8Array.from(node, (b, i) => (i === at ? 0x45 : b));
    expect(() => importOnnx(damaged)).toThrow(/^ONNX model: not a valid ONNX model \(graph\.node\[0\]\.attribute\[0\]\.ints: wire type 32-bit, the schema's is varint or length-delimited\)$/);
  });
});

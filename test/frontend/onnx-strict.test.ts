/**
 * More models onnxruntime refuses as invalid, found by test/fuzz/onnx.test.ts once its mutants
 * stopped corrupting the original model: an attribute name outside the operator's schema, an
 * attribute whose type is missing or does not match its data, a value name defined twice, and a
 * DequantizeLinear whose input and zero point differ in type, an input listed twice or with a size
 * below 1, no ir_version, an output type without an element type. Each is one E_ONNX line.
 */
import { expect, it } from 'vitest';
import { buildOnnxModel, onnx, type AttrValue } from '../../frontend/onnx-builder.ts';
import { importOnnx } from '../../frontend/onnx/import.ts';
import { loadOrt } from '../../frontend/onnxruntime.ts';
import type { onnx as OnnxNs } from 'onnx-proto';

const ort = loadOrt();

interface NodeSpec { op: string; inputs: string[]; outputs: string[]; name?: string; attrs?: Record<string, AttrValue> }

/** x [1, 8] → Q/DQ → Gemm with int8 weights [4, 8] (transB) → Q/DQ → y, with `extra` nodes before the output stage. */
function model(gemmAttrs: Record<string, AttrValue>, extra: NodeSpec[] = [], wz: 'int8' | 'uint8' = 'int8'): Uint8Array {
  return buildOnnxModel({
    name: 'm', opset: 13,
    inputs: [{ name: 'x', type: 'float', shape: [1, 8] }],
    outputs: [{ name: 'y', type: 'float', shape: ['a', 'b'] }],
    initializers: [
      { name: 's', type: 'float', dims: [], values: [0.5] }, { name: 'z', type: 'uint8', dims: [], values: [128] },
      { name: 'w', type: 'int8', dims: [4, 8], values: Array.from({ length: 32 }, (_, i) => (i % 5) - 2) },
      { name: 'ws', type: 'float', dims: [], values: [0.1] }, { name: 'wz', type: wz, dims: [], values: [0] },
    ],
    nodes: [
      { op: 'QuantizeLinear', inputs: ['x', 's', 'z'], outputs: ['q'] },
      { op: 'DequantizeLinear', inputs: ['q', 's', 'z'], outputs: ['dq'] },
      { op: 'DequantizeLinear', inputs: ['w', 'ws', 'wz'], outputs: ['dw'], name: 'wdq' },
      { op: 'Gemm', inputs: ['dq', 'dw'], outputs: ['c'], name: 'fc', attrs: gemmAttrs },
      ...extra,
      { op: 'QuantizeLinear', inputs: ['c', 's', 'z'], outputs: ['cq'] },
      { op: 'DequantizeLinear', inputs: ['cq', 's', 'z'], outputs: ['y'] },
    ],
  });
}

/** The model with node `name`'s attribute `attr` edited in the protobuf. */
function editAttr(bytes: Uint8Array, name: string, attr: string, edit: (a: OnnxNs.IAttributeProto) => void): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  edit(m.graph!.node!.find((n) => n.name === name)!.attribute!.find((a) => a.name === attr)!);
  return onnx.ModelProto.encode(m).finish();
}

async function ortAccepts(bytes: Uint8Array): Promise<boolean> {
  try {
    const s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4 });
    await s.release();
    return true;
  } catch {
    return false;
  }
}

it('the valid model imports (the cases below differ from it in one thing)', async () => {
  expect(await ortAccepts(model({ transB: 1 }))).toBe(true);
  expect(() => importOnnx(model({ transB: 1 }))).not.toThrow();
});

it.each<[string, () => Uint8Array, RegExp]>([
  ['an attribute the operator does not have', () => model({ transB: 1, kernel_shape: [3, 3] }), /^node fc \(Gemm\): 'kernel_shape' is not an attribute of Gemm$/],
  ['an attribute whose type does not match its data', () => editAttr(model({ transB: 1 }), 'fc', 'transB', (a) => (a.type = onnx.AttributeProto.AttributeType.FLOAT)), /^node fc \(Gemm\): attribute 'transB' is FLOAT, not INT$/],
  ['an attribute without a type', () => editAttr(model({ transB: 1 }), 'fc', 'transB', (a) => (a.type = 0)), /^node fc \(Gemm\): attribute 'transB' has no type$/],
  ['a value name defined twice', () => model({ transB: 1 }, [{ op: 'Identity', inputs: ['c'], outputs: ['dq'], name: 'again' }]), /^node again \(Identity\): output 'dq' is already defined$/],
  ['a node with more outputs than its operator has', () => model({ transB: 1 }, [{ op: 'Relu', inputs: ['c'], outputs: ['r1', 'r2'], name: 'two' }]), /^node two \(Relu\): 2 outputs, but Relu has at most 1$/],
  ['an output name repeated in one node', () => model({ transB: 1 }, [{ op: 'MaxPool', inputs: ['c'], outputs: ['p', 'p'], name: 'twice', attrs: { kernel_shape: [1] } }]), /^node twice \(MaxPool\): output 'p' is already defined$/],
  ['a node with more inputs than its operator takes', () => model({ transB: 1 }, [{ op: 'Relu', inputs: ['c', 'c'], outputs: ['r'], name: 'r2' }]), /^node r2 \(Relu\): 2 inputs, but Relu takes at most 1$/],
  ['a zero point of another type than its input', () => model({ transB: 1 }, [], 'uint8'), /^node wdq \(DequantizeLinear\): the input is int8 but its zero point is uint8/],
])('refused as onnxruntime does: %s', async (_what, make, refusal) => {
  const bytes = make();
  expect(await ortAccepts(bytes)).toBe(false);
  expect(() => importOnnx(bytes)).toThrow(refusal);
});

/** The model with its ModelProto edited. */
function editModel(bytes: Uint8Array, edit: (m: OnnxNs.ModelProto) => void): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  edit(m);
  return onnx.ModelProto.encode(m).finish();
}

it.each<[string, (m: OnnxNs.ModelProto) => void, RegExp]>([
  ['an input listed twice', (m) => m.graph!.input!.push(m.graph!.input![0]!), /input 'x' is listed twice/],
  ['an input dimension of 0', (m) => (m.graph!.input![0]!.type!.tensorType!.shape!.dim![1]!.dimValue = 0), /input 'x': dimension 1 is 0: sizes must be positive/],
  ['no ir_version', (m) => delete (m as { irVersion?: unknown }).irVersion, /no ir_version/],
  ['an output type without an element type', (m) => (m.graph!.output![0]!.type!.tensorType!.elemType = 0), /output 'y' has a tensor type without an element type/],
])('refused as onnxruntime does: %s', async (_what, edit, refusal) => {
  const bytes = editModel(model({ transB: 1 }), edit);
  expect(await ortAccepts(bytes)).toBe(false);
  expect(() => importOnnx(bytes)).toThrow(refusal);
});

it('a name holding a line break is quoted on one line', () => {
  const bytes = editModel(model({ transB: 1 }), (m) => (m.graph!.output![0]!.name = 'y\nz'));
  expect(() => importOnnx(bytes)).toThrow(/^[^\n]*y\\nz[^\n]*$/);
});

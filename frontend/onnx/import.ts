/**
 * ONNX → Graph IR for quantized models, in QDQ form (QuantizeLinear / DequantizeLinear around
 * float ops) and operator form (QLinearConv, QLinearMatMul, MatMulInteger, ConvInteger).
 *
 * The import reads the protobuf into plain data (read.ts), then walks the nodes in order, giving
 * each to its operator's translator (ops.ts), which builds IR nodes (builder.ts) and tracks every
 * value's scale (quant.ts). Float Conv/MatMul/Gemm on dequantized int8 operands become int8
 * dense/conv2d with the product scale; QuantizeLinear becomes requantize + clip + cast. A scale
 * ratio that is not a power of two is handled as `scales` says:
 * - 'exact' (default): refused;
 * - 'vta': requantize {multiplier m, shift s} with m/2^s ≈ r, run on VTA's ALU (MUL, ADD, SHR);
 *   frontend/fixed-point.ts picks (m, s) from a static bound of the accumulator and states the
 *   error bound; each such step is listed in `notes`;
 * - 'host': requantize_float {scale: r}, ONNX's float semantics, run on the host (the GEMM before
 *   it stays on VTA and hands its int32 result over as byte planes);
 * - 'pow2': r rounded to the nearest power of two (up to ±41% scale error; a WARNING note).
 *
 * Against onnxruntime the remaining difference is rounding: ONNX QuantizeLinear rounds half to
 * even, requantize rounds half up, so values that land exactly on .5 can differ by 1 (plus, in
 * 'vta' mode, the stated approximation bound).
 */
import { fileErrorReason, readFileCapped } from '../../lib/files.ts';
import { VtaError } from '../../lib/errors.ts';
import type { Graph } from '../../graph/ir.ts';
import { GraphBuilder } from './builder.ts';
import { translate, type ImportedInput, type ScaledTensor } from './ops.ts';
import { Quantization, type Approximation, type ScaleMode, type Value } from './quant.ts';
import { fail, readInitializers, readInputs, readOnnxModel, type OnnxModel } from './read.ts';

export { ONNX_ERROR } from './read.ts';
export { SUPPORTED_OPS } from './ops.ts';
export { SCALE_MODES } from './quant.ts';
export type { Approximation, ImportedInput, ScaledTensor, ScaleMode };

const MIN_OPSET = 10;
const MAX_OPSET = 21;
const QUANT_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'QLinearConv', 'QLinearMatMul', 'MatMulInteger', 'ConvInteger']);

export interface ImportOptions {
  /**
   * Requantization ratios that are not powers of two: 'exact' (default) refuses them, 'vta'
   * approximates them by m/2^s on VTA's ALU, 'host' requantizes on the host with ONNX's float
   * semantics, 'pow2' rounds them to a power of two (up to ±41% error).
   */
  scales?: ScaleMode;
}

export interface ImportResult {
  graph: Graph;
  /** Per ONNX graph input: the int8 IR input that replaces it, the scale it was quantized with
   *  and whether the ONNX input is float (fed as q · scale) or int8. */
  inputs: Record<string, ImportedInput>;
  /** Per ONNX graph output: the IR tensor that holds it and its scale. */
  outputs: Record<string, ScaledTensor>;
  /** Approximations and host steps chosen for non-power-of-two ratios, one line each. */
  notes: string[];
  /** Per requantize node approximated with scales 'vta': the chosen m/2^s and its error bounds. */
  approximations: Approximation[];
}

/** `label`: the file's base name, naming the model in refusals that concern it as a whole. */
function translateModel(m: OnnxModel, label: string, opts: ImportOptions): ImportResult {
  if (m.opset < MIN_OPSET || m.opset > MAX_OPSET) fail(`${label}: opset ${m.opset} is not supported (supported: ${MIN_OPSET}..${MAX_OPSET})`);
  if (!m.nodes.some((n) => QUANT_OPS.has(n.opType))) fail(`model ${m.name} is not quantized: quantize it first (QDQ or QLinear* form)`);
  const b = new GraphBuilder();
  const q = new Quantization(b, opts.scales ?? 'exact');
  const inputs: Record<string, ImportedInput> = {};
  const values = new Map<string, Value>();
  const initializers = readInitializers(m);
  for (const [name, c] of initializers) values.set(name, { kind: 'const', ...c });
  for (const input of readInputs(m, initializers)) {
    if (input.float) {
      values.set(input.name, { kind: 'floatInput', name: input.name, shape: input.shape });
      continue;
    }
    const ir = b.input(input.name, input.shape);
    inputs[input.name] = { tensor: ir, scale: 1, dtype: 'int8', float: false };
    values.set(input.name, { kind: 'tensor', ir, scale: 1, dtype: 'int8', shape: input.shape });
  }

  for (const node of m.nodes) {
    const where = `node ${node.name} (${node.opType})`;
    if (node.domain && node.domain !== 'ai.onnx') fail(`${where}: operator domain '${node.domain}' is not supported`);
    const ins = node.inputs.map((n) => {
      if (n === '') return undefined;
      const v = values.get(n);
      if (!v) fail(`${where}: input '${n}' is not produced by an earlier node`);
      return v;
    });
    let out: Value;
    if (node.opType === 'Constant') {
      const t = node.attrs.tensor('value', where);
      if (!t) fail(`${where}: only the 'value' form of Constant is supported`);
      out = { kind: 'const', ...t };
    } else out = translate({ b, q, opset: m.opset, inputs, node, ins, attrs: node.attrs, where, base: node.name });
    values.set(node.outputs[0] ?? '', out);
  }

  const outputs: Record<string, ScaledTensor> = {};
  for (const o of m.outputs) {
    const v = values.get(o);
    if (!v || v.kind !== 'tensor') fail(`output '${o}': is not computed from the model inputs`);
    outputs[o] = { tensor: v.ir, scale: v.scale, dtype: v.dtype };
  }
  for (const [iname, v] of values) {
    if (v.kind === 'floatInput' && !inputs[iname]) fail(`input '${iname}': is float and never quantized by a QuantizeLinear`);
  }
  const graph = b.build(m.name, [...new Set(Object.values(outputs).map((o) => o.tensor))]);
  return { graph, inputs, outputs, notes: q.notes, approximations: q.approximations };
}

/**
 * Import a quantized ONNX model (path or bytes). Throws a one-line VtaError (E_ONNX, E_MODEL or
 * E_READ) naming the file or node at fault.
 */
export function importOnnx(source: string | Uint8Array, opts: ImportOptions = {}): ImportResult {
  let bytes: Uint8Array;
  const label = typeof source === 'string' ? source : 'ONNX model';
  if (typeof source === 'string') {
    try {
      bytes = readFileCapped(source);
    } catch (e) {
      throw new VtaError('E_READ', `cannot read ${source}: ${fileErrorReason(e)}`);
    }
  } else bytes = source;
  const baseName = label.replace(/^.*\//, '').replace(/\.onnx$/, '');
  const model = readOnnxModel(bytes, label, baseName);
  try {
    return translateModel(model, baseName, opts);
  } catch (e) {
    if (e instanceof VtaError && typeof source === 'string' && !e.message.startsWith(source)) throw new VtaError(e.code, `${source}: ${e.message}`);
    throw e;
  }
}

/**
 * ONNX → Graph IR for quantized models, in QDQ form (QuantizeLinear / DequantizeLinear around
 * float ops), operator form (QLinearConv, QLinearMatMul, com.microsoft QLinearAdd /
 * QLinearGlobalAveragePool, MatMulInteger, ConvInteger) and plain float models (all host).
 *
 * The IR graph's inputs and outputs are the ONNX graph's: same names, dtypes and shapes (a QDQ
 * model takes and gives float32; its QuantizeLinear / DequantizeLinear run as host quantize /
 * dequantize). Inside, quantized activations are int8 (uint8 q is q − 128 with zero point z − 128).
 * The import reads the protobuf into plain data (read.ts), then walks the nodes in order, giving
 * each to its operator's translator (ops.ts), which builds IR nodes (builder.ts) and tracks every
 * value's scale and zero point (quant.ts).
 *
 * Requantization ratios (`scales`): power-of-two ratios shift; by default ('vta') any other ratio is
 * a fixed-point requantize m/2^s (per channel for per-channel weights), its error bound in `notes`;
 * 'host' keeps ONNX's float requantization on the host; 'pow2' rounds ratios to powers of two;
 * 'exact' refuses ratios that are not powers of two. Rounding is ONNX's half to even unless
 * `rounding: 'half_up'` (VTA's cheaper hardware rounding).
 */
import { fileErrorReason, readFileCapped } from '../../lib/files.ts';
import { VtaError } from '../../lib/errors.ts';
import { nameRecord, setName } from '../../lib/named.ts';
import type { DType, Graph } from '../../graph/ir.ts';
import { GraphBuilder, type Emitted } from './builder.ts';
import { translate } from './ops.ts';
import { Quantization, type Approximation, type RoundingMode, type ScaleMode, type Value } from './quant.ts';
import { OP_SCHEMAS } from './op-schema.ts';
import { ELEM, elemName, fail, readInitializers, readInputs, nodeWhere, readOnnxModel, type OnnxModel, type OnnxNode } from './read.ts';

export { ONNX_ERROR } from './read.ts';
export { SUPPORTED_OPS } from './ops.ts';
export { ROUNDING_MODES, SCALE_MODES } from './quant.ts';
export type { Approximation, RoundingMode, ScaleMode };

const MIN_OPSET = 7;
const MAX_OPSET = 21;
const QUANT_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'QLinearConv', 'QLinearMatMul', 'MatMulInteger', 'ConvInteger', 'QLinearAdd', 'QLinearMul', 'QLinearGlobalAveragePool', 'QLinearAveragePool']);
const DOMAINS = new Set(['', 'ai.onnx', 'com.microsoft']);
export const NOT_QUANTIZED_NOTE = 'no quantized operators: run `vta quantize` first to use VTA';

/** The import options, for front ends that list them (the CLI's flags). */
export const IMPORT_OPTIONS = ['scales', 'rounding'] as const;

export interface ImportOptions {
  /**
   * Requantization ratios that are not powers of two: 'vta' (the default) approximates every one by
   * m/2^s on VTA's ALU, its error bound stated in a note; 'auto' does so where the bound is ≤ 0.005
   * output units and uses ONNX's float requantization on the host elsewhere (for deep networks whose
   * errors compound); 'host' requantizes all on the host with ONNX's float semantics; 'pow2' rounds
   * them to a power of two (up to ±41% error); 'exact' refuses them.
   */
  scales?: ScaleMode;
  /** Rounding of requantizations: 'half_even' (ONNX's, default) or 'half_up' (VTA's cheaper one). */
  rounding?: RoundingMode;
}

/** A graph input or output: the ONNX one, as the IR graph has it. */
export interface ImportedTensor {
  tensor: string;
  dtype: DType;
  shape: number[];
  /** Kept for older callers: always 1 (values are the ONNX graph's own, no hidden scale). */
  scale: 1;
  /** Whether the ONNX tensor is float32. */
  float: boolean;
}

export interface ImportResult {
  graph: Graph;
  /** Per ONNX graph input (same name in the IR graph). */
  inputs: Record<string, ImportedTensor>;
  /** Per ONNX graph output (same name in the IR graph). */
  outputs: Record<string, ImportedTensor>;
  /** Approximations and host steps chosen, one line each. */
  notes: string[];
  /** Per requantize node approximated with a scalar fixed-point multiplier: m/2^s and its error bounds. */
  approximations: Approximation[];
}

const IR_DTYPE = new Map<number, DType>([[ELEM.float, 'float32'], [ELEM.uint8, 'uint8'], [ELEM.int8, 'int8'], [ELEM.int32, 'int32']]);

/** The ONNX graph input as an IR input, and its value for the translators (uint8 moved to int8). */
function graphInput(b: GraphBuilder, name: string, shape: number[], elem: number): Value {
  const dtype = IR_DTYPE.get(elem);
  if (!dtype) fail(`input '${name}': element type ${elemName(elem)} is not supported (float, uint8, int8 or int32)`);
  const e = b.input(name, shape, dtype);
  if (dtype === 'float32') return { kind: 'float', ...e };
  if (dtype !== 'uint8') return { kind: 'int', ...e, elem, offset: 0 };
  const wide = b.emit('cast', [e.ir], `${name}.int32`, { dtype: 'int32' });
  const shifted = b.emit('sub', [wide.ir, b.constant({ dtype: 'int32', dims: [], data: [128] }, `${name}.offset`).ir], `${name}.minus_128`, {});
  return { kind: 'int', ...b.emit('cast', [shifted.ir], `${name}.int8`, { dtype: 'int8' }), elem, offset: 128 };
}

/** The value of an ONNX graph output, as a node named after it with the ONNX dtype. */
function graphOutput(b: GraphBuilder, q: Quantization, name: string, v: Value | undefined): ImportedTensor {
  const where = `output '${name}'`;
  if (!v) fail(`${where}: no node computes it and it is not an initializer`);
  if (v.kind === 'const') return described(name, asOutput(b, constantOutput(b, v, where, name), name));
  if (v.kind === 'int') {
    if (v.offset === 0) return described(name, asOutput(b, v, name));
    const wide = b.emit('cast', [v.ir], `${name}.int32`, { dtype: 'int32' });
    const back = b.emit('add', [wide.ir, b.constant({ dtype: 'int32', dims: [], data: [v.offset] }, `${name}.offset`).ir], `${name}.plus_128`, {});
    return described(name, b.emitAs(name, 'cast', [back.ir], { dtype: 'uint8' }));
  }
  const f = q.toFloat(v, where, 'value', name);
  return described(name, asOutput(b, f, name));
}

/** An initializer as a graph output, in its own dtype: a copy of the constant under the output's name. */
function constantOutput(b: GraphBuilder, v: Extract<Value, { kind: 'const' }>, where: string, name: string): Emitted {
  const dtype = CONSTANT_OUTPUT_DTYPES.get(v.elem);
  if (!dtype) fail(`${where}: an initializer of element type ${elemName(v.elem)} as a graph output is not supported (float, int8, uint8, int32 are)`);
  return b.constant({ dtype, dims: v.dims, data: v.data as ArrayLike<number> }, `${name}.value`);
}

const CONSTANT_OUTPUT_DTYPES = new Map<number, 'float32' | 'int8' | 'uint8' | 'int32'>([[ELEM.float, 'float32'], [ELEM.int8, 'int8'], [ELEM.uint8, 'uint8'], [ELEM.int32, 'int32']]);

/** The tensor under the output's name: its producing node renamed, or (a graph input or a value
 * already renamed for another output) a reshape copy. */
function asOutput(b: GraphBuilder, e: Emitted, name: string): Emitted {
  if (e.ir === name) return e;
  if (b.rename(e.ir, name)) return { ...e, ir: name };
  return b.emitAs(name, 'reshape', [e.ir], { shape: e.shape });
}

const described = (name: string, e: Emitted): ImportedTensor => ({ tensor: name, dtype: e.dtype, shape: e.shape, scale: 1, float: e.dtype === 'float32' });

/** `label`: the file's base name, naming the model in refusals that concern it as a whole. */
function translateModel(m: OnnxModel, label: string, opts: ImportOptions): ImportResult {
  if (m.opset < MIN_OPSET || m.opset > MAX_OPSET) fail(`${label}: opset ${m.opset} is not supported (supported: ${MIN_OPSET}..${MAX_OPSET})`);
  const b = new GraphBuilder();
  const mode = opts.scales ?? 'vta';
  const q = new Quantization(b, mode === 'auto' ? 'vta' : mode, opts.rounding ?? 'half_even', mode === 'auto');
  if (!m.nodes.some((n) => QUANT_OPS.has(n.opType))) q.notes.push(NOT_QUANTIZED_NOTE);
  const values = new Map<string, Value>();
  const initializers = readInitializers(m);
  for (const [name, c] of initializers) values.set(name, { kind: 'const', ...c });
  const onnxInputs = readInputs(m, initializers);
  b.reserve([...onnxInputs.map((i) => i.name), ...m.outputs]);
  const inputs = nameRecord<ImportedTensor>();
  for (const input of onnxInputs) {
    const v = graphInput(b, input.name, input.shape, input.elem);
    values.set(input.name, v);
    setName(inputs, input.name, { tensor: input.name, dtype: IR_DTYPE.get(input.elem)!, shape: input.shape, scale: 1, float: input.elem === ELEM.float });
  }

  /** Every name a node has defined (its extra outputs are not values the importer keeps). */
  const defined = new Set<string>();
  for (const node of m.nodes) {
    const where = nodeWhere(node.name, node.opType);
    if (!DOMAINS.has(node.domain)) fail(`${where}: operator domain '${node.domain}' is not supported`);
    const ins = node.inputs.map((n) => {
      if (n === '') return undefined;
      const v = values.get(n);
      if (!v) fail(`${where}: input '${n}' is not produced by an earlier node`);
      return v;
    });
    checkSchema(node, where);
    // SSA: a name defined twice (by two nodes, or a node and an input or initializer) is invalid.
    for (const o of node.outputs.filter((name) => name !== '')) {
      if (values.has(o) || defined.has(o)) fail(`${where}: output '${o}' is already defined`);
      defined.add(o);
    }
    let out: Value;
    if (node.opType === 'Constant') {
      const t = node.attrs.tensor('value', where);
      if (!t) fail(`${where}: only the 'value' form of Constant is supported`);
      out = { kind: 'const', ...t };
    } else out = translate({ b, q, opset: m.opset, node, ins, attrs: node.attrs, where, base: node.name });
    values.set(node.outputs[0] ?? '', out);
  }

  const outputs = nameRecord<ImportedTensor>();
  for (const o of m.outputs) setName(outputs, o, graphOutput(b, q, o, values.get(o)));
  const graph = b.build(m.name, m.outputs);
  return { graph, inputs, outputs, notes: q.notes, approximations: q.approximations };
}



/** The node against its operator's schema: attribute names and input and output counts. */
function checkSchema(node: OnnxNode, where: string): void {
  const schema = OP_SCHEMAS.get(node.opType);
  if (!schema) return;
  const unknown = node.attrs.names().find((a) => !schema.attributes.has(a));
  if (unknown !== undefined) fail(`${where}: '${unknown}' is not an attribute of ${node.opType}`);
  if (node.inputs.length > schema.inputs) fail(`${where}: ${node.inputs.length} inputs, but ${node.opType} takes at most ${schema.inputs}`);
  if (node.outputs.length > schema.outputs) fail(`${where}: ${node.outputs.length} outputs, but ${node.opType} has at most ${schema.outputs}`);
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
  } else bytes = new Uint8Array(source); // a copy: the graph's constants are views of these bytes (onnx/read.ts rawValues)
  const baseName = label.replace(/^.*\//, '').replace(/\.onnx$/, '');
  const model = readOnnxModel(bytes, label, baseName);
  try {
    return translateModel(model, baseName, opts);
  } catch (e) {
    if (e instanceof VtaError && typeof source === 'string' && !e.message.startsWith(source)) throw new VtaError(e.code, `${source}: ${e.message}`);
    throw e;
  }
}

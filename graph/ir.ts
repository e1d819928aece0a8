/**
 * Graph IR: the project's model format (`vta-graph/1`), shared by the JSON loader, the ONNX
 * frontend, the reference executor and the compiler. Documented for people who write models by
 * hand in docs/model-format.md. Types only; validation lives in graph/load.ts, semantics in
 * graph/reference.ts (the one executable definition: the host steps of a compiled model run it).
 *
 * Integer semantics (the reference executor and the VTA lowering must agree on them bit for bit):
 * - dense:      out[n][m] = Σ_k in[n][k]·w[m][k]              int8 × int8 → int32 (wraps mod 2^32)
 * - conv2d:     NCHW input, OIHW weight (I = C / groups), zero padding, stride, no dilation → int32
 * - bias_add:   out = in + bias[c] along axis 1 (int32, wraps)
 * - requantize: p = in·m (m: the `multiplier` attribute, default 1, or a per-channel int32 constant
 *               given as a second input, axis 1), wrapping mod 2^32 as VTA's ALU MUL does; then
 *               `half_up` (default): out = (p + 2^(shift−1)) >> shift; `half_even`: out = (p + 2^(shift−1) − 1 +
 *               ((p >> shift) & 1)) >> shift, ties to even (all wrapping int32, arithmetic shifts);
 *               shift 0: out = p
 * - requantize_float: out = round_half_even(f32(f32(in) · f32(scale))) saturated to int32: ONNX
 *               QuantizeLinear's float requantization, evaluated on the host only
 * - relu:       max(in, 0);  clip: min(max(in, min), max)
 * - cast:       to int8 / uint8 by two's-complement wrap of the low 8 bits (what a VTA STORE does; put
 *               a clip before it for saturation); float to integer truncates toward zero, then wraps
 * - add / sub / mul / div: element-wise with NumPy broadcasting; integer operands give int32 (wrapping),
 *               float32 operands give float32 (div is float32 only)
 * - reshape / flatten / max_pool / avg_pool / global_avg_pool / pad / concat / transpose: host ops;
 *               integer avg pools round half away from zero after summing in int32
 *
 * Float32 ops (host only; ONNX semantics, each result rounded to float32): quantize, dequantize,
 * sigmoid, hard_sigmoid, hard_swish, softmax, reduce_mean, matmul, and dense / conv2d / bias_add /
 * pools on float32 operands. They let a model whose edges are float (a QDQ model's own interface, or
 * an operator VTA has no lowering for) run whole: VTA runs the integer kernels, the host the rest.
 */

import type { DType, TypedData } from '../lib/dtype.ts';

export type { DType } from '../lib/dtype.ts';

export interface TensorType {
  shape: number[];
  dtype: DType;
}

/**
 * A constant (weights, biases). `data` is base64 of little-endian bytes or a plain number list (the
 * JSON file format), or, in memory, the dtype's typed array (written as base64 by JSON.stringify).
 */
export interface ConstTensor extends TensorType {
  data: string | number[] | TypedData;
}

export type OpName =
  | 'quantize'
  | 'dequantize'
  | 'dense'
  | 'conv2d'
  | 'bias_add'
  | 'requantize'
  | 'requantize_float'
  | 'relu'
  | 'clip'
  | 'cast'
  | 'add'
  | 'reshape'
  | 'flatten'
  | 'max_pool'
  | 'avg_pool'
  | 'global_avg_pool'
  | 'pad'
  | 'concat'
  | 'transpose'
  | 'sub'
  | 'mul'
  | 'div'
  | 'sigmoid'
  | 'hard_sigmoid'
  | 'hard_swish'
  | 'softmax'
  | 'reduce_mean'
  | 'matmul';

/** Attributes per op (all optional fields default as noted). */
export interface OpAttrs {
  /**
   * float32 → dtype: saturate(round_half_even(f32(x / scale)) + zero_point). One scale and zero
   * point for the tensor, or one per index of `axis` (default 1).
   */
  quantize: { scale: number[]; zero_point: number[]; axis?: number; dtype: 'int8' | 'uint8' | 'int32' };
  /** integer → float32: f32((x − zero_point) · scale), per tensor or per `axis` index as quantize. */
  dequantize: { scale: number[]; zero_point: number[]; axis?: number };
  dense: Record<string, never>;
  /** stride [sh, sw] (default [1,1]); pad [top, left, bottom, right] (default 0); groups (default 1). */
  conv2d: { stride?: [number, number]; pad?: [number, number, number, number]; groups?: number };
  bias_add: Record<string, never>;
  /**
   * multiplier 1..32767 (default 1; fits VTA's 16-bit signed ALU immediate) unless a per-channel
   * multiplier tensor is the second input; rounding 'half_up' (default) or 'half_even' (ONNX's).
   */
  requantize: { shift: number; multiplier?: number; rounding?: 'half_up' | 'half_even' };
  /** scale: a positive finite number (the ratio input scale / output scale). */
  requantize_float: { scale: number };
  relu: Record<string, never>;
  clip: { min: number; max: number };
  cast: { dtype: DType };
  add: Record<string, never>;
  reshape: { shape: number[] };
  /** Flatten all dims from `axis` (default 1) on. */
  flatten: { axis?: number };
  max_pool: { kernel: [number, number]; stride?: [number, number]; pad?: [number, number, number, number] };
  avg_pool: { kernel: [number, number]; stride?: [number, number]; pad?: [number, number, number, number] };
  global_avg_pool: Record<string, never>;
  /** Constant padding: pads [begin_0, …, begin_r−1, end_0, …, end_r−1] (ONNX order), value (0). */
  pad: { pads: number[]; value?: number };
  /** Join along axis (negative counts from the end). */
  concat: { axis: number };
  /** Permute dims (default: reverse them). */
  transpose: { perm?: number[] };
  sub: Record<string, never>;
  mul: Record<string, never>;
  div: Record<string, never>;
  sigmoid: Record<string, never>;
  /** max(0, min(1, alpha·x + beta)); alpha 0.2, beta 0.5 by default. */
  hard_sigmoid: { alpha?: number; beta?: number };
  /** x · hard_sigmoid(x) with alpha 1/6, beta 0.5. */
  hard_swish: Record<string, never>;
  /** exp(x − max) / Σ exp(x − max) along axis (default −1). */
  softmax: { axis?: number };
  /** Mean over axes (default: all), keepdims (default 1). */
  reduce_mean: { axes?: number[]; keepdims?: number };
  /** NumPy matmul: batched over leading dims, broadcasting them. */
  matmul: Record<string, never>;
}

export interface GraphNode<Op extends OpName = OpName> {
  /** Unique node name: every error about the node names it. */
  name: string;
  op: Op;
  /** Tensor names: graph inputs, constants, or outputs of earlier nodes. */
  inputs: string[];
  /** The single output tensor name. */
  output: string;
  attrs?: OpAttrs[Op];
}

export interface Graph {
  format: 'vta-graph/1';
  name: string;
  inputs: { name: string; shape: number[]; dtype: DType }[];
  outputs: string[];
  /** Constants by name. */
  tensors: Record<string, ConstTensor>;
  /** Nodes in topological order. */
  nodes: GraphNode[];
}

/** The type of every tensor of a graph by name (a Map: tensor names are user data). */
export type TensorTypes = Map<string, TensorType>;

/** Runtime tensor value used by executors: data is the dtype's typed array, row-major. */
export interface Tensor {
  shape: number[];
  dtype: DType;
  data: TypedData;
}

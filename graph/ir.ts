/**
 * Graph IR: the project's model format (`vta-graph/1`), shared by the JSON loader, the ONNX
 * frontend, the reference executor and the compiler. Documented for people who write models by
 * hand in docs/model-format.md. Types only; validation lives in graph/load.ts.
 *
 * Integer semantics (the reference executor and the VTA lowering must agree on them bit for bit):
 * - dense:      out[n][m] = Σ_k in[n][k]·w[m][k]              int8 × int8 → int32 (wraps mod 2^32)
 * - conv2d:     NCHW input, OIHW weight (I = C / groups), zero padding, stride, no dilation → int32
 * - bias_add:   out = in + bias[c] along axis 1 (int32, wraps)
 * - requantize: out = (in·multiplier + 2^(shift−1)) >> shift, int32: the product wraps mod 2^32 (what
 *               VTA's ALU MUL gives), the add wraps too, the shift is arithmetic; multiplier defaults
 *               to 1 (then out = (in + 2^(shift−1)) >> shift); shift 0 = no rounding term, no shift
 * - requantize_float: out = round_half_even(f32(f32(in) · f32(scale))) saturated to int32: ONNX
 *               QuantizeLinear's float requantization, evaluated on the host only
 * - relu:       max(in, 0);  clip: min(max(in, min), max)
 * - cast:       to int8 by two's-complement wrap of the low 8 bits (what a VTA STORE does); put a
 *               clip before it for saturation
 * - add:        element-wise in0 + in1 with identical shapes, result int32
 * - reshape / flatten / max_pool / avg_pool / global_avg_pool: host ops; pools on int8 or int32
 *               keep the dtype; avg rounds half away from zero after summing in int32
 */

export type DType = 'int8' | 'int32';

export interface TensorType {
  shape: number[];
  dtype: DType;
}

/** A constant (weights, biases). `data` is base64 of little-endian bytes, or a plain number list. */
export interface ConstTensor extends TensorType {
  data: string | number[];
}

export type OpName =
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
  | 'global_avg_pool';

/** Attributes per op (all optional fields default as noted). */
export interface OpAttrs {
  dense: Record<string, never>;
  /** stride [sh, sw] (default [1,1]); pad [top, left, bottom, right] (default 0); groups (default 1). */
  conv2d: { stride?: [number, number]; pad?: [number, number, number, number]; groups?: number };
  bias_add: Record<string, never>;
  /** multiplier 1..32767 (default 1): fits VTA's 16-bit signed ALU immediate. */
  requantize: { shift: number; multiplier?: number };
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

/** Runtime tensor value used by executors: data is Int8Array or Int32Array in row-major order. */
/** The type of every tensor of a graph by name (a Map: tensor names are user data). */
export type TensorTypes = Map<string, TensorType>;

export interface Tensor {
  shape: number[];
  dtype: DType;
  data: Int8Array | Int32Array;
}

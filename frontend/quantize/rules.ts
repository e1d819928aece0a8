/**
 * How the quantizer treats each ONNX operator of a float model. The keys of QUANTIZE_RULES are the
 * operators `vta quantize` handles; any other is refused with this list.
 *
 * - weighted: Conv, Gemm, MatMul with a constant weight: int8 weights (per tensor or per output
 *   channel), an int32 bias at input scale × weight scale, a quantized activation input. VTA runs
 *   these.
 * - activation: Relu and Clip. Right after a weighted op or an Add (and their only reader), the
 *   producer's output is not quantized: the activation's is, so VTA applies it in the requantization.
 * - same-scale: ops that only move or select values (MaxPool, layout ops): their output shares
 *   its input's scale and zero point, so they stay exact on int8.
 * - shared-inputs: Add and Concat of two activations: their inputs share one scale so the add is an
 *   integer add on VTA (Concat: inputs and output, so it is a copy).
 * - float: everything else that computes: the host runs it on dequantized inputs and its output is
 *   quantized again for the next op (or left float when it is a graph output).
 * - shape: ops on shapes and indices, left as they are.
 */
import type { EditNode, FloatModel } from './float-model.ts';

export type QuantizeRole = 'weighted' | 'activation' | 'same-scale' | 'shared-inputs' | 'float' | 'shape';

export interface QuantizeRule {
  role: QuantizeRole;
  /** For weighted ops: the axis of the weight that indexes output channels. */
  channelAxis?: (n: EditNode) => number;
}

const rule = (role: QuantizeRole, channelAxis?: (n: EditNode) => number): QuantizeRule => ({ role, ...(channelAxis ? { channelAxis } : {}) });

/** Weighted ops' weight is input 1 and bias input 2; the prepare passes give Gemm transB = 1. */
export const QUANTIZE_RULES: ReadonlyMap<string, QuantizeRule> = new Map<string, QuantizeRule>([
  ['Conv', rule('weighted', () => 0)],
  ['Gemm', rule('weighted', () => 0)],
  ['MatMul', rule('weighted', () => 1)],
  ['Relu', rule('activation')],
  ['Clip', rule('activation')],
  ['MaxPool', rule('same-scale')],
  ['Flatten', rule('same-scale')],
  ['Reshape', rule('same-scale')],
  ['Transpose', rule('same-scale')],
  ['Squeeze', rule('same-scale')],
  ['Unsqueeze', rule('same-scale')],
  ['Identity', rule('same-scale')],
  ['Dropout', rule('same-scale')],
  ['Add', rule('shared-inputs')],
  ['Concat', rule('shared-inputs')],
  ['BatchNormalization', rule('float')],
  ['AveragePool', rule('float')],
  ['GlobalAveragePool', rule('float')],
  ['HardSwish', rule('float')],
  ['HardSigmoid', rule('float')],
  ['Sigmoid', rule('float')],
  ['Softmax', rule('float')],
  ['Mul', rule('float')],
  ['Sub', rule('float')],
  ['Div', rule('float')],
  ['ReduceMean', rule('float')],
  ['Pad', rule('float')],
  ['Shape', rule('shape')],
  ['Gather', rule('shape')],
  ['Constant', rule('shape')],
  ['ConstantOfShape', rule('shape')],
  ['Cast', rule('shape')],
]);

export const QUANTIZABLE_OPS: readonly string[] = [...QUANTIZE_RULES.keys()];

/** Operators of a model that is quantized already. */
export const QUANTIZED_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'QLinearConv', 'QLinearMatMul', 'MatMulInteger', 'ConvInteger', 'QLinearAdd', 'QLinearMul', 'QLinearConcat', 'QLinearGlobalAveragePool', 'QLinearAveragePool', 'DynamicQuantizeLinear']);

/**
 * The role a node plays in this model: a weighted op needs a constant weight (a MatMul of two
 * activations, or an Add of a constant, runs in float), a shared-inputs op two or more activations.
 */
export function roleOf(model: FloatModel, n: EditNode): QuantizeRole | undefined {
  const r = QUANTIZE_RULES.get(n.opType)?.role;
  if (r === 'weighted' && !model.floatInitializer(n.inputs[1] ?? '')) return 'float';
  if (r === 'shared-inputs' && n.inputs.some((i) => model.isInitializer(i))) return 'float';
  return r;
}

/**
 * What the ONNX operator schemas allow of each operator the importer translates: its attribute
 * names (every opset's, legacy names included) and its largest input and output counts.
 * onnxruntime refuses a model outside them ("Unrecognized attribute", too many inputs); the importer
 * refuses it too rather than ignore the extra attribute or operand.
 */
export interface OpSchema {
  attributes: ReadonlySet<string>;
  /** Most inputs (Infinity: variadic). */
  inputs: number;
  outputs: number;
}

const WINDOW = ['auto_pad', 'dilations', 'kernel_shape', 'pads', 'strides'];
const CONV = [...WINDOW, 'group'];
const POOL = [...WINDOW, 'ceil_mode', 'count_include_pad', 'storage_order', 'channels_last'];
/** Opset 1–6 elementwise ops: broadcasting and in-place flags. */
const LEGACY = ['axis', 'broadcast', 'consumed_inputs'];
const MANY = Infinity;

/** [attribute names, most inputs, most outputs] by operator. */
const TABLE: Record<string, [string[], number, number]> = {
  QuantizeLinear: [['axis', 'saturate', 'block_size', 'output_dtype', 'precision'], 3, 1],
  DequantizeLinear: [['axis', 'block_size', 'output_dtype'], 3, 1],
  QLinearConv: [CONV, 9, 1],
  QLinearMatMul: [[], 8, 1],
  MatMulInteger: [[], 4, 1],
  ConvInteger: [CONV, 4, 1],
  QLinearAdd: [[], 8, 1],
  QLinearMul: [[], 8, 1],
  QLinearGlobalAveragePool: [['channels_last'], 5, 1],
  QLinearAveragePool: [POOL, 5, 1],
  QLinearConcat: [['axis'], MANY, 1],
  Conv: [CONV, 3, 1],
  MatMul: [[], 2, 1],
  Gemm: [['alpha', 'beta', 'transA', 'transB', 'broadcast'], 3, 1],
  Add: [LEGACY, 2, 1],
  Mul: [LEGACY, 2, 1],
  Sub: [LEGACY, 2, 1],
  Div: [LEGACY, 2, 1],
  Relu: [['consumed_inputs'], 1, 1],
  Clip: [['min', 'max', 'consumed_inputs'], 3, 1],
  MaxPool: [POOL, 1, 2],
  AveragePool: [POOL, 1, 1],
  GlobalAveragePool: [[], 1, 1],
  Flatten: [['axis'], 1, 1],
  Reshape: [['allowzero', 'shape', 'consumed_inputs'], 2, 1],
  Squeeze: [['axes'], 2, 1],
  Unsqueeze: [['axes'], 2, 1],
  Transpose: [['perm'], 1, 1],
  Concat: [['axis'], MANY, 1],
  Pad: [['mode', 'pads', 'value', 'paddings'], 4, 1],
  Softmax: [['axis'], 1, 1],
  Sigmoid: [['consumed_inputs'], 1, 1],
  HardSigmoid: [['alpha', 'beta', 'consumed_inputs'], 1, 1],
  HardSwish: [[], 1, 1],
  ReduceMean: [['axes', 'keepdims', 'noop_with_empty_axes'], 2, 1],
  BatchNormalization: [['epsilon', 'momentum', 'training_mode', 'spatial', 'is_test', 'consumed_inputs'], 5, 5],
  Cast: [['to', 'saturate', 'round_mode'], 1, 1],
  ConstantOfShape: [['value'], 1, 1],
  Shape: [['start', 'end'], 1, 1],
  Gather: [['axis'], 2, 1],
  Identity: [[], 1, 1],
  Dropout: [['ratio', 'seed', 'is_test'], 3, 2],
  Constant: [['value', 'value_float', 'value_floats', 'value_int', 'value_ints', 'value_string', 'value_strings', 'sparse_value'], 0, 1],
};

export const OP_SCHEMAS: ReadonlyMap<string, OpSchema> = new Map(
  Object.entries(TABLE).map(([op, [attributes, inputs, outputs]]) => [op, { attributes: new Set(attributes), inputs, outputs }]),
);

/**
 * The reference executor: runs a Graph with the semantics written in graph/ir.ts, as plain loops
 * over row-major arrays (graph/semantics/: one small function per op). It shares nothing with the
 * VTA lowering on purpose, so that `vta run --check` compares two independent computations; the
 * host steps of a compiled model run `evaluateNode`, so host and reference cannot disagree.
 * Clarity beats speed here.
 */
import { holdsDType } from '../lib/dtype.ts';
import { VtaError } from '../lib/errors.ts';
import { byName, nameRecord } from '../lib/named.ts';
import type { Graph, GraphNode, OpAttrs, OpName, Tensor, TensorType } from './ir.ts';
import { constTensor, elementCount, inferShapes } from './load.ts';
import { hardSigmoid, hardSwish, reduceMean, sigmoid, softmax } from './semantics/activation.ts';
import { biasAdd, conv2d, dense, elementwise, matmul } from './semantics/arithmetic.ts';
import { concat, copy, pad, transpose } from './semantics/layout.ts';
import { cast, clip, dequantize, quantize, relu, requantize, requantizeByFloat } from './semantics/quantize.ts';
import { alloc } from './semantics/tensor.ts';
import { globalAvgPool, pool } from './semantics/window.ts';

export { divRoundHalfAway, requantizeFloat, roundHalfEven } from './semantics/rounding.ts';
type Semantic = (node: GraphNode, ins: Tensor[], out: Tensor) => void;
const attrs = <Op extends OpName>(node: GraphNode, _op: Op): OpAttrs[Op] => node.attrs as OpAttrs[Op];
const where = (node: GraphNode): string => `node ${node.name} (${node.op})`;

/** One semantic function per op: the table's keys are the ops the reference runs. */
const SEMANTICS: Record<OpName, Semantic> = {
  quantize: (n, [x], out) => quantize(x!, out, attrs(n, 'quantize'), where(n)),
  dequantize: (n, [x], out) => dequantize(x!, out, attrs(n, 'dequantize'), where(n)),
  dense: (_n, [x, w], out) => dense(x!, w!, out),
  conv2d: (n, [x, w], out) => conv2d(x!, w!, out, attrs(n, 'conv2d') as Required<OpAttrs['conv2d']>),
  matmul: (_n, [x, w], out) => matmul(x!, w!, out),
  bias_add: (_n, [x, b], out) => biasAdd(x!, b!, out),
  add: (_n, [x, y], out) => elementwise('add', x!, y!, out),
  sub: (_n, [x, y], out) => elementwise('sub', x!, y!, out),
  mul: (_n, [x, y], out) => elementwise('mul', x!, y!, out),
  div: (_n, [x, y], out) => elementwise('div', x!, y!, out),
  requantize: (n, [x, m], out) => requantize(x!, m, out, attrs(n, 'requantize')),
  requantize_float: (n, [x], out) => requantizeByFloat(x!, out, attrs(n, 'requantize_float').scale),
  relu: (_n, [x], out) => relu(x!, out),
  clip: (n, [x], out) => clip(x!, out, attrs(n, 'clip')),
  cast: (_n, [x], out) => cast(x!, out),
  reshape: (_n, [x], out) => copy(x!, out),
  flatten: (_n, [x], out) => copy(x!, out),
  max_pool: (n, [x], out) => pool(x!, out, attrs(n, 'max_pool') as Required<OpAttrs['max_pool']>, 'max'),
  avg_pool: (n, [x], out) => pool(x!, out, attrs(n, 'avg_pool') as Required<OpAttrs['avg_pool']>, 'avg'),
  global_avg_pool: (_n, [x], out) => globalAvgPool(x!, out),
  pad: (n, [x], out) => pad(x!, out, attrs(n, 'pad')),
  concat: (n, ins, out) => concat(ins, out, attrs(n, 'concat'), where(n)),
  transpose: (n, [x], out) => transpose(x!, out, attrs(n, 'transpose')),
  sigmoid: (_n, [x], out) => sigmoid(x!, out),
  hard_sigmoid: (n, [x], out) => hardSigmoid(x!, out, attrs(n, 'hard_sigmoid')),
  hard_swish: (_n, [x], out) => hardSwish(x!, out),
  softmax: (n, [x], out) => softmax(x!, out, attrs(n, 'softmax'), where(n)),
  reduce_mean: (n, [x], out) => reduceMean(x!, out, attrs(n, 'reduce_mean'), where(n)),
};

/**
 * Evaluate one node: its inputs and its output type in, its output out. The host steps of a
 * compiled model run this same function, so the host and the reference cannot disagree.
 */
export function evaluateNode(node: GraphNode, ins: Tensor[], outType: TensorType): Tensor {
  const out = alloc(outType);
  SEMANTICS[node.op](withDefaults(node), ins, out);
  return out;
}

const ARRAY_NAME = { int8: 'Int8Array', uint8: 'Uint8Array', int32: 'Int32Array', float32: 'Float32Array' } as const;

function checkInput(name: string, want: TensorType, got: Tensor | undefined): void {
  if (!got) throw new VtaError('E_INPUT', `input '${name}' is missing`);
  const same = got.shape.length === want.shape.length && got.shape.every((d, k) => d === want.shape[k]);
  if (!same || got.dtype !== want.dtype) {
    throw new VtaError('E_INPUT', `input '${name}' is ${got.dtype} [${got.shape.join(',')}] but the model expects ${want.dtype} [${want.shape.join(',')}]`);
  }
  if (!holdsDType(got.data, want.dtype) || got.data.length !== elementCount(want.shape)) {
    throw new VtaError('E_INPUT', `input '${name}': data must be an ${ARRAY_NAME[want.dtype]} of ${elementCount(want.shape)} elements`);
  }
}

/**
 * Run `graph` on `inputs` and return every tensor: the inputs and each node's output, by name.
 * The graph is (re)checked first, so a hand-built graph gets the loader's error messages.
 */
export function runReference(graph: Graph, inputs: Record<string, Tensor>): Record<string, Tensor> {
  const types = inferShapes(graph);
  for (const name of Object.keys(inputs)) {
    if (!graph.inputs.some((i) => i.name === name)) throw new VtaError('E_INPUT', `'${name}' is not an input of model ${graph.name}`);
  }
  const values = new Map<string, Tensor>();
  for (const i of graph.inputs) {
    const t = byName(inputs, i.name);
    checkInput(i.name, i, t);
    values.set(i.name, t!);
  }
  for (const [name, t] of Object.entries(graph.tensors)) values.set(name, constTensor(name, t));
  for (const node of graph.nodes) {
    values.set(node.output, evaluateNode(node, node.inputs.map((n) => values.get(n)!), types.get(node.output)!));
  }
  return nameRecord([...graph.inputs.map((i) => i.name), ...graph.nodes.map((n) => n.output)].map((name) => [name, values.get(name)!] as const));
}

/** Hand-built graphs may omit attribute defaults; fill them the way the loader does. */
function withDefaults(node: GraphNode): GraphNode {
  const a = { ...(node.attrs ?? {}) } as Record<string, unknown>;
  if (node.op === 'conv2d') {
    a.stride ??= [1, 1];
    a.pad ??= [0, 0, 0, 0];
    a.groups ??= 1;
  } else if (node.op === 'max_pool' || node.op === 'avg_pool') {
    a.stride ??= [1, 1];
    a.pad ??= [0, 0, 0, 0];
  }
  return { ...node, attrs: a } as GraphNode;
}

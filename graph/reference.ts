/**
 * The reference executor: runs a Graph with the integer semantics written in graph/ir.ts, as
 * plain loops over row-major arrays. It shares nothing with the VTA lowering on purpose, so that
 * `vta run --check` compares two independent computations. Clarity beats speed here.
 */
import { VtaError } from '../lib/errors.ts';
import type { DType, Graph, GraphNode, OpAttrs, Tensor, TensorType } from './ir.ts';
import { constTensor, elementCount, inferShapes } from './load.ts';

function alloc(t: TensorType): Tensor {
  const n = elementCount(t.shape);
  return { shape: [...t.shape], dtype: t.dtype, data: t.dtype === 'int8' ? new Int8Array(n) : new Int32Array(n) };
}

/** Round s / n to the nearest integer, halves away from zero (n > 0). */
export function divRoundHalfAway(s: number, n: number): number {
  const q = Math.floor((2 * Math.abs(s) + n) / (2 * n));
  return s < 0 ? -q : q;
}

/** Round s / n to the nearest integer, halves to even (n > 0): ONNX / NumPy rounding. */
export function divRoundHalfEven(s: number, n: number): number {
  const q = Math.floor(s / n);
  const twice = 2 * (s - q * n);
  return twice > n || (twice === n && q % 2 !== 0) ? q + 1 : q;
}

/** ONNX QuantizeLinear on an integer: float32 product, round half to even, saturate to int32. */
export function requantizeFloat(v: number, scale: number): number {
  const y = Math.fround(Math.fround(v) * Math.fround(scale));
  const r = Math.round(y);
  const even = y - Math.floor(y) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  return Math.max(-2147483648, Math.min(2147483647, even));
}

/**
 * How runReference rounds. 'ir' (default) is the contract in graph/ir.ts. 'half-even' rounds
 * requantize and average pools half to even without int32 wraparound in the rounding step, as
 * ONNX QuantizeLinear does: it exists only to compare the ONNX import against onnxruntime exactly.
 */
export type Rounding = 'ir' | 'half-even';

function dense(x: Tensor, w: Tensor, out: Tensor): void {
  const [n, k] = x.shape as [number, number];
  const m = w.shape[0]!;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc = (acc + Math.imul(x.data[i * k + t]!, w.data[j * k + t]!)) | 0;
      out.data[i * m + j] = acc;
    }
  }
}

function conv2d(x: Tensor, w: Tensor, out: Tensor, a: Required<OpAttrs['conv2d']>): void {
  const [, c, h, wd] = x.shape as [number, number, number, number];
  const [o, ci, kh, kw] = w.shape as [number, number, number, number];
  const [n, , oh, ow] = out.shape as [number, number, number, number];
  const [sh, sw] = a.stride;
  const [pt, pl] = a.pad;
  const outPerGroup = o / a.groups;
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      const group = Math.floor(oc / outPerGroup);
      for (let y = 0; y < oh; y++) {
        for (let xo = 0; xo < ow; xo++) {
          let acc = 0;
          for (let ic = 0; ic < ci; ic++) {
            const inC = group * ci + ic;
            for (let ky = 0; ky < kh; ky++) {
              const iy = y * sh + ky - pt;
              if (iy < 0 || iy >= h) continue; // zero padding contributes nothing
              for (let kx = 0; kx < kw; kx++) {
                const ix = xo * sw + kx - pl;
                if (ix < 0 || ix >= wd) continue;
                const xv = x.data[((b * c + inC) * h + iy) * wd + ix]!;
                const wv = w.data[((oc * ci + ic) * kh + ky) * kw + kx]!;
                acc = (acc + Math.imul(xv, wv)) | 0;
              }
            }
          }
          out.data[((b * o + oc) * oh + y) * ow + xo] = acc;
        }
      }
    }
  }
}

function pool(x: Tensor, out: Tensor, a: Required<OpAttrs['max_pool']>, kind: 'max' | 'avg', divide: (s: number, n: number) => number): void {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [, , oh, ow] = out.shape as [number, number, number, number];
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.stride;
  const [pt, pl] = a.pad;
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        // Padded positions are not part of the window: max ignores them, avg does not count them.
        let best = -Infinity;
        let sum = 0;
        let count = 0;
        for (let ky = 0; ky < kh; ky++) {
          const iy = y * sh + ky - pt;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = xo * sw + kx - pl;
            if (ix < 0 || ix >= w) continue;
            const v = x.data[(p * h + iy) * w + ix]!;
            best = Math.max(best, v);
            sum = (sum + v) | 0;
            count++;
          }
        }
        out.data[(p * oh + y) * ow + xo] = kind === 'max' ? best : divide(sum, count);
      }
    }
  }
}

function wrapTo(dtype: DType, v: number): number {
  return dtype === 'int8' ? (v << 24) >> 24 : v | 0;
}

/**
 * Evaluate one node: its inputs and its output type in, its output out. The host steps of a
 * compiled model run this same function, so the host and the reference cannot disagree.
 */
export function evaluateNode(node: GraphNode, ins: Tensor[], outType: TensorType, rounding: Rounding = 'ir'): Tensor {
  const out = alloc(outType);
  runNode(withDefaults(node), ins, out, rounding);
  return out;
}

function runNode(node: GraphNode, ins: Tensor[], out: Tensor, rounding: Rounding): void {
  const [x, y] = ins as [Tensor, Tensor];
  const divide = rounding === 'ir' ? divRoundHalfAway : divRoundHalfEven;
  const n = out.data.length;
  switch (node.op) {
    case 'dense':
      return dense(x, y, out);
    case 'conv2d':
      return conv2d(x, y, out, node.attrs as Required<OpAttrs['conv2d']>);
    case 'bias_add': {
      const channels = x.shape[1]!;
      const inner = elementCount(x.shape.slice(2));
      for (let k = 0; k < n; k++) out.data[k] = (x.data[k]! + y.data[Math.floor(k / inner) % channels]!) | 0;
      return;
    }
    case 'add':
      for (let k = 0; k < n; k++) out.data[k] = (x.data[k]! + y.data[k]!) | 0;
      return;
    case 'requantize': {
      const { shift } = node.attrs as OpAttrs['requantize'];
      const m = (node.attrs as OpAttrs['requantize']).multiplier ?? 1;
      // Half-even: the exact product (below 2^46, exact in a double) divided with ONNX rounding.
      if (rounding === 'half-even') {
        for (let k = 0; k < n; k++) out.data[k] = divRoundHalfEven(x.data[k]! * m, 2 ** shift);
        return;
      }
      // Product, rounding constant and arithmetic shift in int32: MUL and ADD wrap like the ALU's.
      for (let k = 0; k < n; k++) {
        const p = Math.imul(x.data[k]!, m);
        out.data[k] = shift === 0 ? p : ((p + 2 ** (shift - 1)) | 0) >> shift;
      }
      return;
    }
    case 'requantize_float': {
      const { scale } = node.attrs as OpAttrs['requantize_float'];
      for (let k = 0; k < n; k++) out.data[k] = requantizeFloat(x.data[k]!, scale);
      return;
    }
    case 'relu':
      for (let k = 0; k < n; k++) out.data[k] = Math.max(x.data[k]!, 0);
      return;
    case 'clip': {
      const { min, max } = node.attrs as OpAttrs['clip'];
      for (let k = 0; k < n; k++) out.data[k] = Math.min(Math.max(x.data[k]!, min), max);
      return;
    }
    case 'cast':
      for (let k = 0; k < n; k++) out.data[k] = wrapTo(out.dtype, x.data[k]!);
      return;
    case 'reshape':
    case 'flatten':
      out.data.set(x.data);
      return;
    case 'max_pool':
      return pool(x, out, node.attrs as Required<OpAttrs['max_pool']>, 'max', divide);
    case 'avg_pool':
      return pool(x, out, node.attrs as Required<OpAttrs['avg_pool']>, 'avg', divide);
    case 'global_avg_pool': {
      const area = x.shape[2]! * x.shape[3]!;
      for (let p = 0; p < n; p++) {
        let sum = 0;
        for (let k = 0; k < area; k++) sum = (sum + x.data[p * area + k]!) | 0;
        out.data[p] = divide(sum, area);
      }
      return;
    }
  }
}

function checkInput(name: string, want: TensorType, got: Tensor | undefined): void {
  if (!got) throw new VtaError('E_INPUT', `input '${name}' is missing`);
  const same = got.shape.length === want.shape.length && got.shape.every((d, k) => d === want.shape[k]);
  if (!same || got.dtype !== want.dtype) {
    throw new VtaError('E_INPUT', `input '${name}' is ${got.dtype} [${got.shape.join(',')}] but the model expects ${want.dtype} [${want.shape.join(',')}]`);
  }
  const arrayOk = want.dtype === 'int8' ? got.data instanceof Int8Array : got.data instanceof Int32Array;
  if (!arrayOk || got.data.length !== elementCount(want.shape)) {
    throw new VtaError('E_INPUT', `input '${name}': data must be an ${want.dtype === 'int8' ? 'Int8Array' : 'Int32Array'} of ${elementCount(want.shape)} elements`);
  }
}

/**
 * Run `graph` on `inputs` and return every tensor: the inputs and each node's output, by name.
 * The graph is (re)checked first, so a hand-built graph gets the loader's error messages.
 */
export function runReference(graph: Graph, inputs: Record<string, Tensor>, rounding: Rounding = 'ir'): Record<string, Tensor> {
  const types = inferShapes(graph);
  for (const name of Object.keys(inputs)) {
    if (!graph.inputs.some((i) => i.name === name)) throw new VtaError('E_INPUT', `'${name}' is not an input of model ${graph.name}`);
  }
  const values = new Map<string, Tensor>();
  for (const i of graph.inputs) {
    checkInput(i.name, i, inputs[i.name]);
    values.set(i.name, inputs[i.name]!);
  }
  for (const [name, t] of Object.entries(graph.tensors)) values.set(name, constTensor(name, t));
  for (const node of graph.nodes) {
    values.set(node.output, evaluateNode(node, node.inputs.map((n) => values.get(n)!), types.get(node.output)!, rounding));
  }
  const result: Record<string, Tensor> = {};
  for (const i of graph.inputs) result[i.name] = values.get(i.name)!;
  for (const node of graph.nodes) result[node.output] = values.get(node.output)!;
  return result;
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

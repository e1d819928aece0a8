/**
 * Shape and dtype inference over a graph: the type of every tensor (graph inputs, constants and
 * node outputs). Anything inconsistent is an E_MODEL error naming the node and the field.
 */
import { compileError } from './errors.ts';
import type { Graph, GraphNode, OpAttrs, TensorType } from './ir.ts';

export type TensorTypes = Map<string, TensorType>;

function pooledSize(n: GraphNode, size: number, k: number, s: number, p0: number, p1: number, axis: string): number {
  if (!Number.isInteger(k) || !Number.isInteger(s) || k < 1 || s < 1) {
    throw compileError('E_MODEL', n, `kernel/stride along ${axis} must be positive integers (got ${k}/${s})`);
  }
  const out = Math.floor((size + p0 + p1 - k) / s) + 1;
  if (out < 1) throw compileError('E_MODEL', n, `window ${k} does not fit the padded ${axis} size ${size + p0 + p1}`);
  return out;
}

function pads(n: GraphNode, pad: number[] | undefined): [number, number, number, number] {
  const p = pad ?? [0, 0, 0, 0];
  if (p.length !== 4 || p.some((v) => !Number.isInteger(v) || v < 0)) {
    throw compileError('E_MODEL', n, `attrs.pad must be [top, left, bottom, right] of non-negative integers (got ${JSON.stringify(pad)})`);
  }
  return p as [number, number, number, number];
}

function need(n: GraphNode, types: TensorTypes, i: number): TensorType {
  const name = n.inputs[i];
  if (name === undefined) throw compileError('E_MODEL', n, `needs input #${i}, has ${n.inputs.length} inputs`);
  const t = types.get(name);
  if (!t) throw compileError('E_MODEL', n, `input ${name} is not a graph input, a constant or an earlier node's output`);
  return t;
}

function rank(n: GraphNode, t: TensorType, r: number, what: string): void {
  if (t.shape.length !== r) throw compileError('E_MODEL', n, `${what} must have rank ${r}, has shape [${t.shape.join(',')}]`);
}

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** The output type of one node, given the types of its inputs. */
export function inferNode(n: GraphNode, types: TensorTypes): TensorType {
  const a = n.attrs as Record<string, unknown> | undefined;
  switch (n.op) {
    case 'dense': {
      const x = need(n, types, 0);
      const w = need(n, types, 1);
      rank(n, x, 2, 'input 0');
      rank(n, w, 2, 'weight');
      if (x.shape[1] !== w.shape[1]) throw compileError('E_MODEL', n, `input has ${x.shape[1]} features but weight expects ${w.shape[1]}`);
      return { shape: [x.shape[0]!, w.shape[0]!], dtype: 'int32' };
    }
    case 'conv2d': {
      const x = need(n, types, 0);
      const w = need(n, types, 1);
      rank(n, x, 4, 'input 0 (NCHW)');
      rank(n, w, 4, 'weight (OIHW)');
      const at = (a ?? {}) as OpAttrs['conv2d'];
      const groups = at.groups ?? 1;
      const [sh, sw] = at.stride ?? [1, 1];
      const [pt, pl, pb, pr] = pads(n, at.pad);
      if (!Number.isInteger(groups) || groups < 1 || x.shape[1]! % groups !== 0 || w.shape[0]! % groups !== 0) {
        throw compileError('E_MODEL', n, `groups ${groups} must divide input channels ${x.shape[1]} and output channels ${w.shape[0]}`);
      }
      if (w.shape[1]! * groups !== x.shape[1]) {
        throw compileError('E_MODEL', n, `weight has ${w.shape[1]} input channels per group, input has ${x.shape[1]} channels in ${groups} group(s)`);
      }
      const oh = pooledSize(n, x.shape[2]!, w.shape[2]!, sh, pt, pb, 'height');
      const ow = pooledSize(n, x.shape[3]!, w.shape[3]!, sw, pl, pr, 'width');
      return { shape: [x.shape[0]!, w.shape[0]!, oh, ow], dtype: 'int32' };
    }
    case 'bias_add': {
      const x = need(n, types, 0);
      const b = need(n, types, 1);
      if (x.shape.length < 2) throw compileError('E_MODEL', n, `input must have a channel axis 1, has shape [${x.shape.join(',')}]`);
      if (b.shape.length !== 1 || b.shape[0] !== x.shape[1]) {
        throw compileError('E_MODEL', n, `bias must have shape [${x.shape[1]}], has [${b.shape.join(',')}]`);
      }
      return { shape: [...x.shape], dtype: 'int32' };
    }
    case 'requantize': {
      const x = need(n, types, 0);
      const shift = (a as OpAttrs['requantize'] | undefined)?.shift;
      if (typeof shift !== 'number' || !Number.isInteger(shift) || shift < 0 || shift > 31) {
        throw compileError('E_MODEL', n, `attrs.shift must be an integer in 0..31 (got ${JSON.stringify(shift)})`);
      }
      return { shape: [...x.shape], dtype: x.dtype };
    }
    case 'relu':
      return { ...need(n, types, 0), shape: [...need(n, types, 0).shape] };
    case 'clip': {
      const x = need(n, types, 0);
      const c = a as OpAttrs['clip'] | undefined;
      if (!c || !Number.isInteger(c.min) || !Number.isInteger(c.max) || c.min > c.max) {
        throw compileError('E_MODEL', n, `attrs.min/max must be integers with min <= max (got ${JSON.stringify(a)})`);
      }
      return { shape: [...x.shape], dtype: x.dtype };
    }
    case 'cast': {
      const x = need(n, types, 0);
      const d = (a as OpAttrs['cast'] | undefined)?.dtype;
      if (d !== 'int8' && d !== 'int32') throw compileError('E_MODEL', n, `attrs.dtype must be int8 or int32 (got ${JSON.stringify(d)})`);
      return { shape: [...x.shape], dtype: d };
    }
    case 'add': {
      const x = need(n, types, 0);
      const y = need(n, types, 1);
      if (x.shape.join(',') !== y.shape.join(',')) {
        throw compileError('E_MODEL', n, `operands have shapes [${x.shape.join(',')}] and [${y.shape.join(',')}]; add needs identical shapes`);
      }
      return { shape: [...x.shape], dtype: 'int32' };
    }
    case 'reshape': {
      const x = need(n, types, 0);
      const shape = (a as OpAttrs['reshape'] | undefined)?.shape;
      if (!Array.isArray(shape) || shape.some((v) => !Number.isInteger(v) || v < 1) || numel(shape) !== numel(x.shape)) {
        throw compileError('E_MODEL', n, `attrs.shape ${JSON.stringify(shape)} must be positive integers with ${numel(x.shape)} elements in all`);
      }
      return { shape: [...shape], dtype: x.dtype };
    }
    case 'flatten': {
      const x = need(n, types, 0);
      const axis = (a as OpAttrs['flatten'] | undefined)?.axis ?? 1;
      if (!Number.isInteger(axis) || axis < 0 || axis > x.shape.length) {
        throw compileError('E_MODEL', n, `attrs.axis ${axis} is outside 0..${x.shape.length}`);
      }
      return { shape: [...x.shape.slice(0, axis), numel(x.shape.slice(axis))], dtype: x.dtype };
    }
    case 'max_pool':
    case 'avg_pool': {
      const x = need(n, types, 0);
      rank(n, x, 4, 'input 0 (NCHW)');
      const p = a as OpAttrs['max_pool'] | undefined;
      if (!p || !Array.isArray(p.kernel) || p.kernel.length !== 2) throw compileError('E_MODEL', n, 'attrs.kernel must be [kh, kw]');
      const [sh, sw] = p.stride ?? p.kernel;
      const [pt, pl, pb, pr] = pads(n, p.pad);
      const oh = pooledSize(n, x.shape[2]!, p.kernel[0], sh, pt, pb, 'height');
      const ow = pooledSize(n, x.shape[3]!, p.kernel[1], sw, pl, pr, 'width');
      return { shape: [x.shape[0]!, x.shape[1]!, oh, ow], dtype: x.dtype };
    }
    case 'global_avg_pool': {
      const x = need(n, types, 0);
      rank(n, x, 4, 'input 0 (NCHW)');
      return { shape: [x.shape[0]!, x.shape[1]!, 1, 1], dtype: x.dtype };
    }
    default:
      throw compileError('E_UNKNOWN_OP', n, `op '${(n as GraphNode).op}' is not part of vta-graph/1`);
  }
}

/** Types of every tensor of the graph, in a map keyed by tensor name. */
export function inferShapes(graph: Graph): TensorTypes {
  const types: TensorTypes = new Map();
  for (const i of graph.inputs) types.set(i.name, { shape: [...i.shape], dtype: i.dtype });
  for (const [name, t] of Object.entries(graph.tensors)) types.set(name, { shape: [...t.shape], dtype: t.dtype });
  const seen = new Set<string>();
  for (const n of graph.nodes) {
    if (seen.has(n.name)) throw compileError('E_MODEL', n, 'node name is used twice');
    seen.add(n.name);
    if (types.has(n.output)) throw compileError('E_MODEL', n, `output tensor ${n.output} is defined twice`);
    types.set(n.output, inferNode(n, types));
  }
  for (const o of graph.outputs) {
    if (!types.has(o)) throw compileError('E_MODEL', undefined, `graph output ${o} is not produced by any node`);
  }
  return types;
}

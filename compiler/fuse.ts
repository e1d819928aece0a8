/**
 * Fusion and partitioning: groups nodes into VTA kernels following the fusion rules (data, in
 * fusion-rules.json or a user file), and sends every other node to the host with the reason. A
 * kernel is an anchor (dense / conv2d / add), an epilogue run on the ALU over the accumulator
 * tile, and a final cast to int8 that the STORE performs (it keeps the low 8 bits).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VtaConfig } from '../config/config.ts';
import { fileErrorReason, readFileCapped } from '../lib/files.ts';
import { compileError } from './errors.ts';
import { immediateParts, MAX_ROUNDING_ADDS, roundingSplit } from '../lib/rounding.ts';
import type { Graph, GraphNode, OpAttrs, OpName } from '../graph/ir.ts';
import type { TensorTypes } from '../graph/ir.ts';

export interface FusionRule {
  name: string;
  anchor: OpName[];
  epilogue: OpName[];
  end: 'cast';
  /** A chain that stops before a cast keeps its int32 result on VTA, stored as four 8-bit planes. */
  store_int32?: boolean;
}
export interface FusionRules {
  format: 'vta-fusion-rules/1';
  rules: FusionRule[];
}

/** One epilogue step on the accumulator, in graph order. */
export type EpilogueOp =
  | { kind: 'bias'; node: GraphNode; bias: string }
  | { kind: 'requantize'; node: GraphNode; shift: number; multiplier: number }
  | { kind: 'max'; node: GraphNode; value: number }
  | { kind: 'min'; node: GraphNode; value: number };

export interface VtaGroup {
  kind: 'vta';
  rule: string;
  /** conv2d covers dense (a 1x1 convolution over the batch rows); add is element-wise. */
  anchor: GraphNode;
  epilogue: EpilogueOp[];
  /** Every node of the group, anchor first, cast last. */
  nodes: GraphNode[];
  /** The tensor the group produces: int8 (cast by the STORE), or int32 when `int32Output`. */
  output: string;
  /** The output is int32, stored as four 8-bit planes (low byte first) the host recombines. */
  int32Output?: boolean;
}
export interface HostStep {
  kind: 'host';
  node: GraphNode;
  reason: string;
}
export type Step = VtaGroup | HostStep;

export interface Partition {
  steps: Step[];
}

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_RULES_PATH = join(HERE, 'fusion-rules.json');
const KNOWN_ANCHORS: OpName[] = ['dense', 'conv2d', 'add'];
const KNOWN_EPILOGUE: OpName[] = ['bias_add', 'requantize', 'relu', 'clip'];

/** Validate a rules object (from JSON); `where` names its source in errors. */
export function parseFusionRules(raw: unknown, where = 'fusion rules'): FusionRules {
  const bad = (why: string) => compileError('E_RULES', where, why);
  if (typeof raw !== 'object' || raw === null) throw bad('must be a JSON object');
  const r = raw as Record<string, unknown>;
  if (r.format !== 'vta-fusion-rules/1') throw bad(`format must be "vta-fusion-rules/1" (got ${JSON.stringify(r.format)})`);
  if (!Array.isArray(r.rules)) throw bad('rules must be an array');
  const rules = r.rules.map((x, i): FusionRule => {
    const rule = x as Record<string, unknown>;
    const name = typeof rule.name === 'string' ? rule.name : `#${i}`;
    const list = (k: string, allowed: OpName[]): OpName[] => {
      const v = rule[k];
      if (!Array.isArray(v) || v.some((o) => !allowed.includes(o as OpName))) {
        throw bad(`rule ${name}: ${k} must be a list drawn from ${allowed.join(', ')}`);
      }
      return v as OpName[];
    };
    if (rule.end !== 'cast') throw bad(`rule ${name}: end must be "cast" (VTA stores int8 only)`);
    if (rule.store_int32 !== undefined && typeof rule.store_int32 !== 'boolean') throw bad(`rule ${name}: store_int32 must be true or false`);
    return {
      name, anchor: list('anchor', KNOWN_ANCHORS), epilogue: list('epilogue', KNOWN_EPILOGUE), end: 'cast',
      ...(rule.store_int32 ? { store_int32: true } : {}),
    };
  });
  return { format: 'vta-fusion-rules/1', rules };
}

export function loadFusionRules(path: string = DEFAULT_RULES_PATH): FusionRules {
  let text: string;
  try {
    text = Buffer.from(readFileCapped(path)).toString('utf8');
  } catch (e) {
    throw compileError('E_RULES', path, `cannot read the rules file: ${fileErrorReason(e)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw compileError('E_RULES', path, `not valid JSON (${(e as Error).message})`);
  }
  return parseFusionRules(raw, path);
}

const INT16_MIN = -32768;
const INT16_MAX = 32767;

/** Why a node cannot be an anchor on VTA, or undefined when it can. */
function anchorProblem(n: GraphNode, graph: Graph, types: TensorTypes): string | undefined {
  const t = (i: number) => types.get(n.inputs[i]!)!;
  if (n.op === 'dense' || n.op === 'conv2d') {
    if (t(0).dtype !== 'int8') return `input ${n.inputs[0]} is ${t(0).dtype}; the GEMM core multiplies int8`;
    if (!graph.tensors[n.inputs[1]!]) return `weight ${n.inputs[1]} is not a constant`;
    if (t(1).dtype !== 'int8') return `weight ${n.inputs[1]} is ${t(1).dtype}; the GEMM core multiplies int8`;
    if (n.op === 'conv2d') {
      const a = (n.attrs ?? {}) as OpAttrs['conv2d'];
      const pad = a.pad ?? [0, 0, 0, 0];
      if (pad.some((p) => p > 15)) return `padding ${JSON.stringify(pad)} exceeds 15, the widest DMA pad field`;
      const [kh, kw] = [t(1).shape[2]!, t(1).shape[3]!];
      // A window lying wholly in the padding would need a zero-size load, which writes nothing.
      if (pad[0] >= kh || pad[2] >= kh || pad[1] >= kw || pad[3] >= kw) return `padding ${JSON.stringify(pad)} is not smaller than the ${kh}x${kw} kernel`;
    }
    return undefined;
  }
  if (n.op === 'add') {
    if (t(0).dtype !== 'int8' || t(1).dtype !== 'int8') return 'operands must both be int8 (loaded with ACC_8BIT)';
    if (t(0).shape.join(',') !== t(1).shape.join(',')) return 'operands of different shapes (broadcasting) run on the host';
    const r = t(0).shape.length;
    if (r !== 2 && r !== 4) return `rank-${r} operands have no packed layout (VTA kernels take rank 2 or 4)`;
    return undefined;
  }
  return `op ${n.op} has no VTA lowering`;
}

/** Translate an epilogue node to ALU steps, or give the reason it cannot be one. */
function epilogueOf(n: GraphNode, graph: Graph, types: TensorTypes): EpilogueOp | string {
  switch (n.op) {
    case 'bias_add': {
      const b = n.inputs[1]!;
      if (!graph.tensors[b]) return `bias ${b} is not a constant`;
      if (types.get(b)!.dtype !== 'int32') return `bias ${b} must be int32`;
      return { kind: 'bias', node: n, bias: b };
    }
    case 'requantize': {
      const { shift, multiplier = 1, rounding } = n.attrs as OpAttrs['requantize'];
      if (n.inputs.length > 1) return 'per-channel multipliers have no VTA lowering yet';
      if (rounding === 'half_even') return 'half-even rounding has no VTA lowering yet';
      if (multiplier === 1) {
        if (shift > 16) return `shift ${shift} > 16: the rounding term 2^(shift-1) needs more than two 16-bit ALU immediates`;
      } else {
        const { pre, post } = roundingSplit(shift, multiplier);
        const adds = immediateParts(pre).length + immediateParts(post).length;
        if (adds > MAX_ROUNDING_ADDS) {
          return `multiplier ${multiplier} with shift ${shift}: the rounding term needs ${adds} 16-bit ALU immediates (at most ${MAX_ROUNDING_ADDS})`;
        }
      }
      return { kind: 'requantize', node: n, shift, multiplier };
    }
    case 'relu':
      return { kind: 'max', node: n, value: 0 };
    case 'clip': {
      const { min, max } = n.attrs as OpAttrs['clip'];
      if (min < INT16_MIN || max > INT16_MAX) return `clip bounds [${min}, ${max}] do not fit the 16-bit ALU immediate`;
      // Clip is MAX(min) then MIN(max): emitted as two steps, so return the first and mark the pair.
      return { kind: 'max', node: n, value: min };
    }
    default:
      return `op ${n.op} is not an epilogue op`;
  }
}

/**
 * Partition a graph: VTA groups where a rule matches completely (anchor … cast int8), host steps
 * for everything else. Steps keep the graph's topological order.
 */
export function partitionGraph(graph: Graph, types: TensorTypes, rules: FusionRules, _cfg: VtaConfig): Partition {
  const consumers = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const outputs = new Set(graph.outputs);
  const soleConsumer = (tensor: string): GraphNode | undefined => {
    const c = consumers.get(tensor) ?? [];
    return c.length === 1 && !outputs.has(tensor) ? c[0] : undefined;
  };

  const claimed = new Map<GraphNode, VtaGroup>();
  const reasons = new Map<GraphNode, string>();
  for (const n of graph.nodes) {
    const rule = rules.rules.find((r) => r.anchor.includes(n.op));
    if (!rule) continue;
    const problem = anchorProblem(n, graph, types);
    if (problem) {
      reasons.set(n, problem);
      continue;
    }
    const nodes: GraphNode[] = [n];
    const epilogue: EpilogueOp[] = [];
    let cur = n;
    let why: string | undefined;
    for (let guard = 0; guard <= graph.nodes.length; guard++) {
      const next = soleConsumer(cur.output);
      if (!next) {
        why = outputs.has(cur.output) || (consumers.get(cur.output)?.length ?? 0) !== 1
          ? `its int32 result ${cur.output} is used directly; VTA stores int8 only (end the chain with cast int8)`
          : undefined;
        break;
      }
      if (next.op === 'cast') {
        if ((next.attrs as OpAttrs['cast']).dtype !== 'int8') {
          why = `cast ${next.name} is to int32; VTA stores int8 only`;
          break;
        }
        nodes.push(next);
        const group: VtaGroup = { kind: 'vta', rule: rule.name, anchor: n, epilogue, nodes, output: next.output };
        for (const m of nodes) claimed.set(m, group);
        why = undefined;
        break;
      }
      if (!rule.epilogue.includes(next.op)) {
        why = `${next.name} (${next.op}) follows it and rule ${rule.name} does not fuse ${next.op}`;
        break;
      }
      const e = epilogueOf(next, graph, types);
      if (typeof e === 'string') {
        why = `epilogue ${next.name} (${next.op}): ${e}`;
        reasons.set(next, e);
        break;
      }
      epilogue.push(e);
      if (next.op === 'clip') epilogue.push({ kind: 'min', node: next, value: (next.attrs as OpAttrs['clip']).max });
      nodes.push(next);
      cur = next;
    }
    if (!claimed.has(n) && rule.store_int32) {
      // The host needs the int32 result: keep the GEMM on VTA and store all 32 bits.
      const group: VtaGroup = { kind: 'vta', rule: rule.name, anchor: n, epilogue, nodes, output: cur.output, int32Output: true };
      for (const m of nodes) claimed.set(m, group);
    }
    if (!claimed.has(n)) {
      const r = why ?? 'no int8 cast ends the chain';
      for (const m of nodes) if (!reasons.has(m)) reasons.set(m, m === n ? r : `part of ${n.name}'s chain, which runs on the host`);
    }
  }

  const steps: Step[] = [];
  const emitted = new Set<VtaGroup>();
  for (const n of graph.nodes) {
    const g = claimed.get(n);
    if (g) {
      // A group is placed where its last node sits: all of its inputs are ready there.
      if (n === g.nodes[g.nodes.length - 1] && !emitted.has(g)) {
        steps.push(g);
        emitted.add(g);
      }
      continue;
    }
    steps.push({ kind: 'host', node: n, reason: reasons.get(n) ?? hostReason(n) });
  }
  return { steps };
}

function hostReason(n: GraphNode): string {
  switch (n.op) {
    case 'reshape':
    case 'flatten':
      return 'layout op: runs on the host between kernels';
    case 'max_pool':
    case 'avg_pool':
    case 'global_avg_pool':
      return 'pooling has no VTA lowering';
    default:
      return `${n.op} is not part of any fused VTA kernel`;
  }
}

/** A human-readable partition report: one line per step. */
export function describePartition(p: Partition): string[] {
  return p.steps.map((s) =>
    s.kind === 'vta'
      ? `vta  ${s.nodes.map((n) => n.name).join(' + ')}  [${s.rule}: ${s.nodes.map((n) => n.op).join(' -> ')}${s.int32Output ? ' -> int32 as 4 byte planes' : ''}]`
      : `host ${s.node.name} (${s.node.op}): ${s.reason}`,
  );
}

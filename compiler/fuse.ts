/**
 * Fusion and partitioning: groups nodes into VTA kernels following the fusion rules (data, in
 * fusion-rules.json or a user file), and sends every other node to the host with the reason. A
 * kernel is an anchor (dense / conv2d / add), an epilogue run on the ALU over the accumulator
 * tile, and a final cast to int8 that the STORE performs (it keeps the low 8 bits).
 */
import { join } from 'node:path';
import { packageRoot } from '../lib/paths.ts';
import type { VtaConfig } from '../config/config.ts';
import { fileErrorReason, readFileCapped } from '../lib/files.ts';
import { anchorBound, boundAfter, boundAfterClip, cannotOverflow, overflowProblem } from './bounds.ts';
import { compileError } from './errors.ts';
import { clipBeforeMultiplier, foldRounding, initByMax, mergeShiftedConstants, paddedLanes, resolveTies, type InitContext } from './fold-epilogue.ts';
import { constData } from './pack.ts';
import { immediateParts, MAX_ROUNDING_ADDS, roundingSplit } from '../lib/rounding.ts';
import type { Graph, GraphNode, OpAttrs, OpName } from '../graph/ir.ts';
import type { TensorTypes } from '../graph/ir.ts';
import { signedRange } from '../isa/elements.ts';
import { fitsWidth, valueRanges, type ValueRange } from './value-ranges.ts';
import { byName } from '../lib/named.ts';
import { describeValue } from '../lib/describe-value.ts';
import { FILE_LIMITS } from '../lib/limits.ts';

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
  | {
      kind: 'bias';
      node: GraphNode;
      bias: string;
      /** Added to every lane of the vector as packed (int32, wrapping): constants folded in (fold-epilogue.ts). */
      offset?: number;
      /** Lanes computed at compile time (fold-epilogue.ts clipBeforeMultiplier): the vector instead of `bias`'s values. */
      lanes?: Int32Array;
      /**
       * The vector initialises the accumulator before the GEMM (fold-epilogue.ts initByMax): a MAX
       * over an earlier tile's final values, which are never above it; GEMM reset + ADD on first use.
       */
      initMax?: boolean;
    }
  | {
      kind: 'requantize';
      node: GraphNode;
      shift: number;
      multiplier: number;
      /** Ties to even (IR `rounding: half_even`), built from ALU ops in a scratch region. */
      halfEven?: boolean;
      /** A per-channel int32 multiplier constant [C], loaded like a bias (then `multiplier` is 1). */
      perChannel?: string;
      /** The accumulator bound proves the ALU form cannot overflow int32 (bounds.ts cannotOverflow). */
      noOverflow?: boolean;
      /** Its rounding term (before the MUL) was added by an earlier bias (fold-epilogue.ts foldRounding). */
      roundingFolded?: boolean;
      /**
       * Half even whose ties are settled statically (fold-epilogue.ts resolveTies): 'none' (no input
       * value is a tie), 'up' or 'down' (every tie rounds that way): no tie bit on the ALU.
       */
      ties?: 'none' | 'up' | 'down';
      /** A constant added after the shift, merged in as plus·2^shift before it (fold-epilogue.ts mergeShiftedConstants). */
      plus?: number;
      /** The tie bit is taken on these channel tiles only (absolute indices; fold-epilogue.ts clipBeforeMultiplier). */
      tieTiles?: number[];
    }
  /** A constant added to every element (a scalar `add`, or a bias_add whose entries are all equal). */
  | {
      kind: 'addConst';
      node: GraphNode;
      value: number;
      /** The constant initialises the accumulator (as a bias's initMax; always a resident tile). */
      initMax?: boolean;
    }
  /**
   * A bound; with `lanes`, one per channel (fold-epilogue.ts clipBeforeMultiplier), `value` then
   * the weakest of them (what every element is known to satisfy after it).
   */
  | { kind: 'max'; node: GraphNode; value: number; lanes?: Int32Array }
  | { kind: 'min'; node: GraphNode; value: number; lanes?: Int32Array };

/** An operand of an element-wise add, scaled by an int32 constant first (`mul`, absorbed in the kernel). */
export interface ScaledOperand {
  input: string;
  scale: number;
  /** The `mul` node, when the operand is scaled. */
  node?: GraphNode;
}

export interface VtaGroup {
  kind: 'vta';
  rule: string;
  /** conv2d covers dense (a 1x1 convolution over the batch rows); add is element-wise. */
  anchor: GraphNode;
  /** A rescaled add: each operand times its scale (set only when some scale is not 1). */
  scaled?: [ScaledOperand, ScaledOperand];
  epilogue: EpilogueOp[];
  /** Every node of the group: the operand muls of a rescaled add, the anchor, ..., the cast last. */
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

const HERE = join(packageRoot(), 'compiler');
export const DEFAULT_RULES_PATH = join(HERE, 'fusion-rules.json');
const KNOWN_ANCHORS: OpName[] = ['dense', 'conv2d', 'add'];
const KNOWN_EPILOGUE: OpName[] = ['bias_add', 'add', 'requantize', 'relu', 'clip'];

/** Validate a rules object (from JSON); `where` names its source in errors. */
export function parseFusionRules(raw: unknown, where = 'fusion rules'): FusionRules {
  const bad = (why: string) => compileError('E_RULES', where, why);
  if (typeof raw !== 'object' || raw === null) throw bad('must be a JSON object');
  const r = raw as Record<string, unknown>;
  if (r.format !== 'vta-fusion-rules/1') throw bad(`format must be "vta-fusion-rules/1" (got ${describeValue(r.format)})`);
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
    text = Buffer.from(readFileCapped(path, FILE_LIMITS.settings)).toString('utf8');
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
function anchorProblem(n: GraphNode, graph: Graph, types: TensorTypes, scaled: ScaledOperands): string | undefined {
  const t = (i: number) => types.get(n.inputs[i]!)!;
  if (n.op === 'dense' || n.op === 'conv2d') {
    if (t(0).dtype !== 'int8') return `input ${n.inputs[0]} is ${t(0).dtype}; the GEMM core multiplies int8`;
    if (!byName(graph.tensors, n.inputs[1]!)) return `weight ${n.inputs[1]} is not a constant`;
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
    if (typeof scaled === 'string') return scaled;
    const [a, b] = scaled.map((o) => types.get(o.input)!);
    if (a!.shape.join(',') !== b!.shape.join(',')) return 'operands of different shapes (broadcasting) run on the host';
    const r = a!.shape.length;
    if (r !== 2 && r !== 4) return `rank-${r} operands have no packed layout (VTA kernels take rank 2 or 4)`;
    return undefined;
  }
  return `op ${n.op} has no VTA lowering`;
}

type ScaledOperands = [ScaledOperand, ScaledOperand] | string;

/** The value of an int32 constant whose entries are all equal, or undefined. */
function uniformInt32(graph: Graph, types: TensorTypes, name: string): number | undefined {
  const c = byName(graph.tensors, name);
  if (!c || types.get(name)!.dtype !== 'int32') return undefined;
  const data = constData(name, c);
  const v = data[0];
  return v !== undefined && data.every((x) => x === v) ? v : undefined;
}

/**
 * The operands of an element-wise add: int8 tensors as they are, or `mul(x, c)` of an int8 x and
 * a uniform int32 constant c used only by this add (a residual add with rescaled inputs).
 */
function scaledOperands(n: GraphNode, graph: Graph, types: TensorTypes, producer: Map<string, GraphNode>, soleConsumer: (t: string) => GraphNode | undefined): ScaledOperands {
  if (n.op !== 'add') return 'not an add';
  const plain = 'operands must both be int8 (loaded with ACC_8BIT)';
  const ops: ScaledOperand[] = [];
  for (const input of n.inputs) {
    if (types.get(input)!.dtype === 'int8') {
      ops.push({ input, scale: 1 });
      continue;
    }
    const m = producer.get(input);
    if (!m || m.op !== 'mul' || soleConsumer(input) !== n) return plain;
    const xi = m.inputs.findIndex((t) => types.get(t)!.dtype === 'int8' && !byName(graph.tensors, t));
    const x = m.inputs[xi];
    const scale = xi < 0 ? undefined : uniformInt32(graph, types, m.inputs[1 - xi]!);
    if (x === undefined || scale === undefined) return `operand ${input} (${m.name}) is not an int8 tensor times a uniform int32 constant`;
    if (types.get(x)!.shape.join(',') !== types.get(input)!.shape.join(',')) return `the scale of ${m.name} broadcasts ${x} to a larger shape`;
    ops.push({ input: x, scale, node: m });
  }
  return [ops[0]!, ops[1]!];
}

const otherInput = (n: GraphNode, chain: string) => (n.inputs[0] === chain ? n.inputs[1]! : n.inputs[0]!);

/** Translate an epilogue node reading `chain` to ALU steps, or give the reason it cannot be one. */
function epilogueOf(n: GraphNode, chain: string, anchor: GraphNode, graph: Graph, types: TensorTypes): EpilogueOp | string {
  const other = otherInput(n, chain);
  switch (n.op) {
    case 'bias_add': {
      const b = n.inputs[1]!;
      if (!byName(graph.tensors, b)) return `bias ${b} is not a constant`;
      if (types.get(b)!.dtype !== 'int32') return `bias ${b} must be int32`;
      if (anchor.op === 'add') {
        // An element-wise kernel has no channel vectors: a uniform bias (a zero point) is a constant add.
        const v = uniformInt32(graph, types, b);
        return v === undefined ? `bias ${b} varies by channel; an element-wise add takes only a uniform one` : { kind: 'addConst', node: n, value: v };
      }
      return { kind: 'bias', node: n, bias: b };
    }
    case 'add': {
      if (!byName(graph.tensors, other)) return `operand ${other} is not a constant`;
      const v = uniformInt32(graph, types, other);
      if (v === undefined) return `operand ${other} is not a uniform int32 constant`;
      if (types.get(n.output)!.shape.join(',') !== types.get(chain)!.shape.join(',')) return `constant ${other} broadcasts ${chain} to a larger shape`;
      return { kind: 'addConst', node: n, value: v };
    }
    case 'requantize': {
      const { shift, multiplier = 1, rounding } = n.attrs as OpAttrs['requantize'];
      const halfEven = rounding === 'half_even';
      if (n.inputs.length > 1) {
        const m = n.inputs[1]!;
        if (!byName(graph.tensors, m) || types.get(m)!.dtype !== 'int32') return `per-channel multiplier ${m} must be an int32 constant`;
        if (anchor.op === 'add') return 'per-channel multipliers on an element-wise add have no VTA lowering (no channel vectors)';
        const channels = types.get(chain)!.shape[1];
        if (types.get(m)!.shape.join(',') !== String(channels)) return `per-channel multiplier ${m} is not a [${channels}] vector`;
        return { kind: 'requantize', node: n, shift, multiplier: 1, perChannel: m, ...(halfEven ? { halfEven } : {}) };
      }
      if (halfEven) {
        if (multiplier < INT16_MIN || multiplier > INT16_MAX) return `multiplier ${multiplier} does not fit the 16-bit ALU immediate`;
        return { kind: 'requantize', node: n, shift, multiplier, halfEven };
      }
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
      const { min } = n.attrs as OpAttrs['clip'];
      // Bounds wider than a 16-bit immediate are built in the epilogue's scratch region.
      // Clip is MAX(min) then MIN(max): emitted as two steps, so return the first and mark the pair.
      return { kind: 'max', node: n, value: min };
    }
    default:
      return `op ${n.op} is not an epilogue op`;
  }
}

/** A config whose INP/OUT or WGT elements are narrower than a byte. */
export const isNarrow = (cfg: VtaConfig): boolean => cfg.inpWidth < 8 || cfg.wgtWidth < 8;

const rangeText = (r: ValueRange) => `[${r.min}, ${r.max}]`;
const widthText = (w: number) => `int${w} ${rangeText(signedRange(w))}`;

/**
 * With a narrow config, why an anchor cannot run on VTA: only dense and ungrouped conv2d read
 * INP/WGT at the narrow widths (an element-wise add and the grouped lowering load 8-bit ACC_8BIT
 * copies), and their input and weight must provably fit (value-ranges.ts).
 */
function narrowOperandProblem(n: GraphNode, cfg: VtaConfig, ranges: Map<string, ValueRange>): string | undefined {
  if (n.op === 'add') return `element-wise adds load 8-bit operands (ACC_8BIT); with ${cfg.inpWidth}-bit inputs they run on the host`;
  if (((n.attrs as OpAttrs['conv2d'] | undefined)?.groups ?? 1) !== 1) return `grouped convolutions load 8-bit copies of their input (ACC_8BIT); with ${cfg.inpWidth}-bit inputs they run on the host`;
  const [x, w] = [n.inputs[0]!, n.inputs[1]!];
  const rx = ranges.get(x)!;
  if (!fitsWidth(rx, cfg.inpWidth)) {
    return `input ${x} is not proven to fit ${widthText(cfg.inpWidth)}: its values span ${rangeText(rx)} (a clip to the narrow range before it, e.g. an INT4 QuantizeLinear, proves it)`;
  }
  const rw = ranges.get(w)!;
  if (!fitsWidth(rw, cfg.wgtWidth)) return `weight ${w} has values in ${rangeText(rw)}, outside ${widthText(cfg.wgtWidth)}`;
  return undefined;
}

/** With a narrow config, why a group's output cannot be stored: the STORE keeps outWidth bits. */
function narrowOutputProblem(output: string, cfg: VtaConfig, ranges: Map<string, ValueRange>): string | undefined {
  const r = ranges.get(output)!;
  if (fitsWidth(r, cfg.outWidth)) return undefined;
  return `its output ${output} spans ${rangeText(r)}, but a ${cfg.outWidth}-bit STORE keeps ${widthText(cfg.outWidth)} (clip it to that range before the cast)`;
}

/**
 * With a narrow config, the clips right after a chain's cast (each the sole reader of the one
 * before): a 2-bit activation imports as an int8 requantization then a clip to [−2, 1]. When the
 * value before the cast fits int8 the cast changes nothing, so a clip after it equals the same clip
 * before it, and the kernel applies it on the ALU before its narrow STORE.
 */
function clipsAfterCast(cast: GraphNode, beforeCast: string, ranges: Map<string, ValueRange>, soleConsumer: (t: string) => GraphNode | undefined): GraphNode[] {
  if (!fitsWidth(ranges.get(beforeCast)!, 8)) return [];
  const clips: GraphNode[] = [];
  for (let next = soleConsumer(cast.output); next?.op === 'clip'; next = soleConsumer(next.output)) clips.push(next);
  return clips;
}

/**
 * Partition a graph: VTA groups where a rule matches completely (anchor … cast int8), host steps
 * for everything else. Steps keep the graph's topological order. With a narrow config
 * (inpWidth or wgtWidth < 8) a group also needs its input, weights and output proven narrow.
 */
export function partitionGraph(graph: Graph, types: TensorTypes, rules: FusionRules, cfg: VtaConfig): Partition {
  const ranges = isNarrow(cfg) ? valueRanges(graph, types) : undefined;
  const consumers = new Map<string, GraphNode[]>();
  // Appended in place: copying the list per consumer was quadratic for a tensor many nodes read.
  for (const n of graph.nodes) {
    for (const i of n.inputs) {
      const list = consumers.get(i);
      if (list) list.push(n);
      else consumers.set(i, [n]);
    }
  }
  const outputs = new Set(graph.outputs);
  const soleConsumer = (tensor: string): GraphNode | undefined => {
    const c = consumers.get(tensor) ?? [];
    return c.length === 1 && !outputs.has(tensor) ? c[0] : undefined;
  };

  const producer = new Map(graph.nodes.map((n) => [n.output, n]));

  const claimed = new Map<GraphNode, VtaGroup>();
  const reasons = new Map<GraphNode, string>();
  for (const n of graph.nodes) {
    const rule = rules.rules.find((r) => r.anchor.includes(n.op));
    if (!rule) continue;
    const scaled = scaledOperands(n, graph, types, producer, soleConsumer);
    const problem = anchorProblem(n, graph, types, scaled) ?? (ranges ? narrowOperandProblem(n, cfg, ranges) : undefined);
    if (problem) {
      // An add a chain before it could not take as an epilogue step keeps that (more telling) reason.
      if (!reasons.has(n)) reasons.set(n, problem);
      continue;
    }
    const rescaled = typeof scaled !== 'string' && scaled.some((o) => o.scale !== 1) ? scaled : undefined;
    const nodes: GraphNode[] = [...(rescaled ?? []).flatMap((o) => (o.node ? [o.node] : [])), n];
    // An add's sum starts from a constant (0 here) that rounding terms fold into (fold-epilogue.ts).
    const epilogue: EpilogueOp[] = n.op === 'add' ? [{ kind: 'addConst', node: n, value: 0 }] : [];
    // max over channels of the accumulator bound before each epilogue step (fold-epilogue.ts).
    const boundBefore: number[] = epilogue.map(() => Infinity);
    // A narrow config has proven the input's range: the accumulator bound shrinks with it.
    const inputRange = ranges?.get(n.inputs[0]!);
    let bound = anchorBound(n, rescaled, graph, types, inputRange && Math.max(-inputRange.min, inputRange.max));
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
        const clips = ranges ? clipsAfterCast(next, cur.output, ranges, soleConsumer) : [];
        const output = clips.at(-1)?.output ?? next.output;
        const narrowOut = ranges ? narrowOutputProblem(output, cfg, ranges) : undefined;
        if (narrowOut) {
          why = narrowOut;
          break;
        }
        nodes.push(next);
        for (const c of clips) {
          const { min, max } = c.attrs as OpAttrs['clip'];
          epilogue.push({ kind: 'max', node: c, value: min }, { kind: 'min', node: c, value: max });
          boundBefore.push(Infinity, Infinity);
          nodes.push(c);
        }
        const folded = foldEpilogue(epilogue, { boundBefore, biasLanes: (b) => paddedLanes(constData(b, byName(graph.tensors, b)!), cfg.blockOut), outWidth: cfg.outWidth, blockOut: cfg.blockOut, vectorValues: (b) => constData(b, byName(graph.tensors, b)!), ...(n.op === 'add' ? { sumScales: rescaled?.map((o) => o.scale) ?? [1, 1] } : {}) });
        const group: VtaGroup = { kind: 'vta', rule: rule.name, anchor: n, ...(rescaled ? { scaled: rescaled } : {}), epilogue: folded, nodes, output };
        for (const m of nodes) claimed.set(m, group);
        why = undefined;
        break;
      }
      // An add of two computed tensors (a residual) is not an epilogue step: it ends the chain.
      if (!rule.epilogue.includes(next.op) || (next.op === 'add' && !byName(graph.tensors, otherInput(next, cur.output)))) {
        why = `${next.name} (${next.op}) follows it and rule ${rule.name} does not fuse ${next.op}`;
        break;
      }
      const e = epilogueOf(next, cur.output, n, graph, types);
      const overflow = typeof e === 'string' ? undefined : overflowProblem(bound, e, graph);
      if (typeof e === 'string' || overflow) {
        const r = typeof e === 'string' ? e : overflow!;
        why = `epilogue ${next.name} (${next.op}): ${r}`;
        reasons.set(next, r);
        break;
      }
      boundBefore.push(Math.max(...bound));
      epilogue.push(e.kind === 'requantize' && cannotOverflow(bound, e, graph) ? { ...e, noOverflow: true } : e);
      if (next.op === 'clip') {
        const { min, max } = next.attrs as OpAttrs['clip'];
        boundBefore.push(Math.max(...boundAfter(bound, e, graph)));
        epilogue.push({ kind: 'min', node: next, value: max });
        bound = boundAfterClip(bound, min, max);
      } else bound = boundAfter(bound, e, graph);
      nodes.push(next);
      cur = next;
    }
    if (!claimed.has(n) && rule.store_int32 && ranges) {
      // int32 results are stored as four 8-bit planes, which a narrow OUT cannot hold.
      why ??= `its int32 result ${cur.output} is needed; a ${cfg.outWidth}-bit OUT cannot hold the 8-bit planes int32 results are stored as`;
    } else if (!claimed.has(n) && rule.store_int32) {
      // The host needs the int32 result: keep the GEMM on VTA and store all 32 bits.
      // Its accumulator is shifted by the plane stores: only the rounding folds.
      const group: VtaGroup = { kind: 'vta', rule: rule.name, anchor: n, ...(rescaled ? { scaled: rescaled } : {}), epilogue: foldRounding(epilogue), nodes, output: cur.output, int32Output: true };
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

/** The epilogue of an int8 chain with its exact folds (fold-epilogue.ts). */
function foldEpilogue(ep: EpilogueOp[], cx: InitContext): EpilogueOp[] {
  const rounded = foldRounding(mergeShiftedConstants(resolveTies(clipBeforeMultiplier(ep, cx) ?? ep, cx), cx));
  return initByMax(rounded, cx) ?? rounded;
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

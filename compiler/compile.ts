/**
 * compileGraph: the compiler driver. A compilation is an ordered list of small passes over one
 * context (Vue compiler-core style); `DEFAULT_PASSES` is the preset and callers may pass their own
 * list (e.g. the preset plus a pass that inspects or rewrites kernels before emission).
 *
 *   shapes → partition → offload-check → lower (tile + tensorize) → sync → emit → plan
 */
import { defaultVtaConfig, type VtaConfig, type VtaConfigJson } from '../config/config.ts';
import { type Insn, encodeInsn, encodeUop, memElemBytes, OPCODE } from '../isa/index.ts';
import { compileError } from './errors.ts';
import { type FusionRules, type Partition, type VtaGroup, describePartition, loadFusionRules, parseFusionRules, partitionGraph } from './fuse.ts';
import type { Graph, OpAttrs } from '../graph/ir.ts';
import type { KOp } from './kernel-ir.ts';
import { emitKernel, type EmittedKernel } from './emit.ts';
import { MemoryPlan, type SegmentName, SEGMENTS } from './memplan.ts';
import { constData, gridTiles, packActivation, packBias, packWeight, tileGrid } from './pack.ts';
import { inferShapes } from '../graph/load.ts';
import type { TensorTypes } from '../graph/ir.ts';
import { validateGraph } from '../graph/load.ts';
import { insertSync, verifyTokens, type SyncFlags } from './sync.ts';
import { lowerAdd, lowerConv, lowerGroupedConv, type BandLowering, type KernelBuffers } from './tensorize.ts';
import { groupBands, packGroupedWeight } from './group-bands.ts';
import { chooseConvTiling, chooseEltwiseChunk, type ConvProblem, type ConvTiling } from './tile.ts';

export interface CompileOptions {
  config?: VtaConfig;
  /** Fusion rules: an object, a path to a rules JSON file, or the defaults. */
  rules?: FusionRules | string;
  /** 'all': every dense/conv2d/add node must run on VTA (error otherwise); 'auto' (default): fall back to the host. */
  offload?: 'auto' | 'all';
  /** The pass list; defaults to DEFAULT_PASSES. */
  passes?: Pass[];
}

/** One VTA kernel being built: filled in pass by pass. */
export interface KernelPlan {
  name: string;
  group: VtaGroup;
  kind: 'conv' | 'add';
  /** Activation tensors read (packed in DRAM) and the one written. */
  inputs: string[];
  output: string;
  buffers: KernelBuffers;
  problem?: ConvProblem;
  tiling?: ConvTiling;
  /** A grouped convolution: its bands (problem/tiling above are the first band's). */
  bands?: BandLowering[];
  eltwise?: { tiles: number; chunk: number; slots: number };
  ops?: KOp[];
  flags?: SyncFlags[];
  emitted?: EmittedKernel;
}

export interface CompileContext {
  graph: Graph;
  cfg: VtaConfig;
  options: CompileOptions;
  rules: FusionRules;
  types?: TensorTypes;
  partition?: Partition;
  kernels: KernelPlan[];
  plan: MemoryPlan;
  /** Initial contents of buffers (packed constants). */
  constants: Map<string, Uint8Array>;
  model?: CompiledModel;
}

export interface Pass {
  name: string;
  run(ctx: CompileContext): void;
}

export interface KernelInfo {
  name: string;
  nodes: string[];
  rule: string;
  inputs: string[];
  output: string;
  /** First instruction (index into the code segment's instruction array) and count. */
  insnStart: number;
  insnCount: number;
  uopCount: number;
  /** Exact simulator work of the stream: instructions plus uop-iterations (bounds each run). */
  work: number;
  tiling?: { tOC: number; tIC: number; tOH: number; tOW: number; slots: number };
  /** Grouped convolutions: how many channel bands the kernel runs (tiling is the first band's). */
  bands?: number;
  /** Bytes the kernel's loads and stores move, and the minimum (each operand read once). */
  dramBytes: number;
  minDramBytes: number;
}

export type ModelStep = { kind: 'vta'; kernel: number } | { kind: 'host'; node: string; reason: string };

/** Everything needed to run a model on any driver at any DRAM base; serialisable (package.ts). */
export interface CompiledModel {
  format: 'vta-compiled/1';
  config: VtaConfigJson;
  graph: Graph;
  partition: string[];
  steps: ModelStep[];
  kernels: KernelInfo[];
  /** Segment sizes in bytes. */
  segments: Record<SegmentName, number>;
  /** Placed buffers by name. */
  buffers: Record<string, { segment: SegmentName; offset: number; bytes: number }>;
  /** Code segment image: instructions (segment-relative dram_base), then uop images. */
  code: Uint8Array;
  insnCount: number;
  /** Instruction index → segment its dram_base is relative to. */
  relocs: [number, SegmentName][];
  /** Constant segment image. */
  constImage: Uint8Array;
  /** Packed DRAM buffer of each activation tensor that VTA reads or writes. */
  activations: Record<string, string>;
}

const actBuffer = (t: string) => `act:${t}`;

function resolveRules(r: CompileOptions['rules']): FusionRules {
  if (r === undefined) return loadFusionRules();
  if (typeof r === 'string') return loadFusionRules(r);
  return parseFusionRules(r);
}

const shapesPass: Pass = {
  name: 'shapes',
  run(ctx) {
    // Validation fills attribute defaults, so later passes see complete nodes.
    ctx.graph = validateGraph(ctx.graph);
    ctx.types = inferShapes(ctx.graph);
  },
};

const partitionPass: Pass = {
  name: 'partition',
  run(ctx) {
    ctx.partition = partitionGraph(ctx.graph, ctx.types!, ctx.rules, ctx.cfg);
  },
};

const offloadCheckPass: Pass = {
  name: 'offload-check',
  run(ctx) {
    if (ctx.options.offload !== 'all') return;
    for (const s of ctx.partition!.steps) {
      if (s.kind === 'host' && ['dense', 'conv2d', 'add'].includes(s.node.op)) throw compileError('E_NOT_OFFLOADED', s.node, s.reason);
    }
  },
};

/** Tiling and tensorization of every VTA group. */
const lowerPass: Pass = {
  name: 'lower',
  run(ctx) {
    const { cfg, graph } = ctx;
    const types = ctx.types!;
    let k = 0;
    for (const step of ctx.partition!.steps) {
      if (step.kind !== 'vta') continue;
      const g = step;
      const a = g.anchor;
      const name = `k${k++}_${a.name}`;
      const bias: Record<string, string> = {};
      for (const e of g.epilogue) {
        if (e.kind !== 'bias') continue;
        const buf = `const:${e.bias}:bias`;
        bias[e.node.name] = buf;
        if (!ctx.constants.has(buf)) {
          const bytes = packBias(constData(e.bias, graph.tensors[e.bias]!) as Int32Array, cfg);
          ctx.plan.place(buf, 'const', bytes.length);
          ctx.constants.set(buf, bytes);
        }
      }
      const operand = (t: string): string => {
        const c = graph.tensors[t];
        if (!c) {
          ctx.plan.place(actBuffer(t), 'act', gridTiles(tileGrid(types.get(t)!.shape, cfg)) * cfg.inpElemBytes);
          return actBuffer(t);
        }
        const buf = `const:${t}`;
        if (!ctx.constants.has(buf)) {
          const bytes = packActivation({ shape: c.shape, dtype: 'int8', data: constData(t, c) }, cfg);
          ctx.plan.place(buf, 'const', bytes.length);
          ctx.constants.set(buf, bytes);
        }
        return buf;
      };
      const outShape = types.get(g.output)!.shape;
      // An int32 output is four 8-bit planes of the packed layout (tensorize.ts storePlanes).
      const outTiles = gridTiles(tileGrid(outShape, cfg));
      const planes = g.int32Output ? { int32PlaneTiles: outTiles } : {};
      ctx.plan.place(actBuffer(g.output), 'act', outTiles * cfg.outElemBytes * (g.int32Output ? 4 : 1));
      if (a.op === 'add') {
        const tiles = gridTiles(tileGrid(outShape, cfg));
        const { chunk, slots } = chooseEltwiseChunk(tiles, cfg);
        const buffers: KernelBuffers = { input: operand(a.inputs[0]!), input2: operand(a.inputs[1]!), bias, output: actBuffer(g.output), ...planes };
        const plan: KernelPlan = {
          name, group: g, kind: 'add', inputs: a.inputs.filter((t) => !graph.tensors[t]), output: g.output, buffers,
          eltwise: { tiles, chunk, slots },
        };
        plan.ops = lowerAdd(tiles, chunk, slots, buffers, g.epilogue, cfg);
        ctx.kernels.push(plan);
        continue;
      }
      const xShape = types.get(a.inputs[0]!)!.shape;
      const w = graph.tensors[a.inputs[1]!]!;
      const at = (a.op === 'conv2d' ? a.attrs ?? {} : {}) as OpAttrs['conv2d'];
      const groups = at.groups ?? 1;
      const KH = w.shape.length === 4 ? w.shape[2]! : 1;
      const KW = w.shape.length === 4 ? w.shape[3]! : 1;
      const bands = groups > 1 ? groupBands(xShape[1]!, w.shape[0]!, groups, KH, KW, cfg) : undefined;
      // Grouped weights are packed band by band, so the buffer is not shareable with a dense use.
      const wbuf = bands ? `const:${a.inputs[1]}:groups${groups}` : `const:${a.inputs[1]}`;
      if (!ctx.constants.has(wbuf)) {
        const data = constData(a.inputs[1]!, w) as Int8Array;
        const bytes = bands ? packGroupedWeight(w.shape, data, xShape[1]!, groups, bands, cfg) : packWeight(w.shape, data, cfg).bytes;
        ctx.plan.place(wbuf, 'const', bytes.length);
        ctx.constants.set(wbuf, bytes);
      }
      const ig = tileGrid(xShape, cfg);
      const og = tileGrid(outShape, cfg);
      const [sh, sw] = at.stride ?? [1, 1];
      const [pt, pl, pb, pr] = at.pad ?? [0, 0, 0, 0];
      const problem: ConvProblem = {
        NB: ig.NB, CT: ig.CT, H: ig.H, W: ig.W, OT: og.CT, KH, KW, sh, sw, pt, pl, pb, pr, OH: og.H, OW: og.W,
        biasCount: Object.keys(bias).length,
      };
      const buffers: KernelBuffers = { input: operand(a.inputs[0]!), weight: wbuf, bias, output: actBuffer(g.output), ...planes };
      if (bands) {
        // Bands of the same widths (all of them, for a regular grouped conv) share one tiling.
        const tilings = new Map<string, ConvTiling>();
        const parts: BandLowering[] = bands.map((band) => {
          const bp: ConvProblem = { ...problem, CT: band.CT, OT: band.OT };
          const key = `${band.CT}x${band.OT}`;
          let bt = tilings.get(key);
          if (!bt) {
            const c = chooseConvTiling(bp, cfg);
            if ('why' in c) throw compileError('E_UNTILEABLE', a, `group band of ${band.CT} input x ${band.OT} output channel tiles: ${c.why}`);
            tilings.set(key, (bt = c));
          }
          return { band, problem: bp, tiling: bt };
        });
        const first = parts[0]!;
        const plan: KernelPlan = {
          name, group: g, kind: 'conv', inputs: [a.inputs[0]!].filter((t) => !graph.tensors[t]), output: g.output, buffers,
          problem: first.problem, tiling: first.tiling, bands: parts,
        };
        plan.ops = lowerGroupedConv(parts, ig.CT, og.CT, buffers, g.epilogue, cfg);
        ctx.kernels.push(plan);
        continue;
      }
      const tiling = chooseConvTiling(problem, cfg);
      if ('why' in tiling) throw compileError('E_UNTILEABLE', a, tiling.why);
      const plan: KernelPlan = { name, group: g, kind: 'conv', inputs: [a.inputs[0]!].filter((t) => !graph.tensors[t]), output: g.output, buffers, problem, tiling };
      plan.ops = lowerConv(problem, tiling, buffers, g.epilogue, cfg);
      ctx.kernels.push(plan);
    }
  },
};

const syncPass: Pass = {
  name: 'sync',
  run(ctx) {
    for (const k of ctx.kernels) k.flags = insertSync(k.ops!, ctx.cfg.accDepth);
  },
};

const emitPass: Pass = {
  name: 'emit',
  run(ctx) {
    for (const k of ctx.kernels) {
      k.emitted = emitKernel(k.name, k.ops!, k.flags!, ctx.cfg);
      verifyTokens(k.emitted.insns);
    }
  },
};

/** Instructions plus uop-iterations: what a run of the stream costs a functional simulator. */
function streamWork(insns: Insn[]): number {
  let n = insns.length;
  for (const i of insns) if (i.opcode === OPCODE.GEMM || i.opcode === OPCODE.ALU) n += i.iter_out * i.iter_in * (i.uop_end - i.uop_bgn);
  return n;
}

/** DRAM bytes moved by a kernel's loads and stores (padding excluded, as fsim counts). */
function dramBytes(insns: Insn[], cfg: VtaConfig): number {
  let n = 0;
  for (const i of insns) {
    if (i.opcode !== OPCODE.LOAD && i.opcode !== OPCODE.STORE) continue;
    if (i.memory_type === 0) continue; // uops are program, not data
    n += i.x_size * i.y_size * memElemBytes(cfg, i.memory_type);
  }
  return n;
}

/** Place every buffer, resolve relocations and build the model. */
const planPass: Pass = {
  name: 'plan',
  run(ctx) {
    const { cfg, plan } = ctx;
    const totalInsns = ctx.kernels.reduce((s, k) => s + k.emitted!.insns.length, 0);
    plan.place('code:insns', 'code', totalInsns * cfg.insnBytes);
    for (const k of ctx.kernels) plan.place(`${k.name}.uops`, 'code', Math.max(1, k.emitted!.uops.length) * cfg.uopElemBytes);
    const code = new Uint8Array(plan.sizes.code);
    const relocs: [number, SegmentName][] = [];
    const kernels: KernelInfo[] = [];
    let at = 0;
    for (const k of ctx.kernels) {
      const e = k.emitted!;
      const insns = e.insns.map((i) => ({ ...i }));
      for (const r of e.relocs) {
        const b = plan.get(r.buffer);
        const insn = insns[r.insn]! as Insn & { dram_base: number };
        insn.dram_base = b.offset / r.elemBytes + r.offset;
        relocs.push([at + r.insn, b.segment]);
      }
      insns.forEach((insn, i) => encodeInsn(cfg, insn, code, (at + i) * cfg.insnBytes));
      const ub = plan.get(`${k.name}.uops`);
      const dv = new DataView(code.buffer);
      e.uops.forEach((u, i) => dv.setUint32(ub.offset + i * 4, encodeUop(cfg, { dst_idx: u.dst, src_idx: u.src, wgt_idx: u.wgt }), true));
      const g = k.group;
      const minBytes =
        k.kind === 'conv'
          ? (gridTiles(tileGrid(ctx.types!.get(g.anchor.inputs[0]!)!.shape, cfg)) * cfg.inpElemBytes +
            plan.get(k.buffers.weight!).bytes +
            Object.values(k.buffers.bias).reduce((s, b) => s + plan.get(b).bytes, 0) +
            plan.get(k.buffers.output).bytes)
          : plan.get(k.buffers.input).bytes + plan.get(k.buffers.input2!).bytes + plan.get(k.buffers.output).bytes;
      kernels.push({
        name: k.name,
        nodes: g.nodes.map((n) => n.name),
        rule: g.rule,
        inputs: k.inputs,
        output: k.output,
        insnStart: at,
        insnCount: insns.length,
        uopCount: e.uops.length,
        work: streamWork(insns),
        ...(k.tiling ? { tiling: { tOC: k.tiling.tOC, tIC: k.tiling.tIC, tOH: k.tiling.tOH, tOW: k.tiling.tOW, slots: k.tiling.slots } } : {}),
        ...(k.bands ? { bands: k.bands.length } : {}),
        dramBytes: dramBytes(insns, cfg),
        minDramBytes: minBytes,
      });
      at += insns.length;
    }
    const constImage = new Uint8Array(plan.sizes.const);
    for (const [name, bytes] of ctx.constants) constImage.set(bytes, plan.get(name).offset);
    const activations: Record<string, string> = {};
    for (const name of plan.buffers.keys()) if (name.startsWith('act:')) activations[name.slice(4)] = name;
    let kernelNo = 0;
    const steps: ModelStep[] = ctx.partition!.steps.map((s) =>
      s.kind === 'vta' ? { kind: 'vta', kernel: kernelNo++ } : { kind: 'host', node: s.node.name, reason: s.reason },
    );
    const buffers: CompiledModel['buffers'] = {};
    for (const [n, b] of plan.buffers) buffers[n] = { ...b };
    ctx.model = {
      format: 'vta-compiled/1',
      config: { ...cfg.json },
      graph: ctx.graph,
      partition: describePartition(ctx.partition!),
      steps,
      kernels,
      segments: Object.fromEntries(SEGMENTS.map((s) => [s, plan.sizes[s]])) as Record<SegmentName, number>,
      buffers,
      code,
      insnCount: totalInsns,
      relocs,
      constImage,
      activations,
    };
  },
};

export const DEFAULT_PASSES: readonly Pass[] = Object.freeze([shapesPass, partitionPass, offloadCheckPass, lowerPass, syncPass, emitPass, planPass]);

/** Compile a graph for a VTA config. Throws CompileError (coded, naming the node) on bad input. */
export function compileGraph(graph: Graph, options: CompileOptions = {}): CompiledModel {
  const ctx = createContext(graph, options);
  for (const pass of options.passes ?? DEFAULT_PASSES) pass.run(ctx);
  if (!ctx.model) throw compileError('E_INTERNAL', undefined, 'the pass list did not produce a model (is the plan pass missing?)');
  return ctx.model;
}

/** A fresh context, for callers that run passes one by one (tests, tools). */
export function createContext(graph: Graph, options: CompileOptions = {}): CompileContext {
  return {
    graph,
    cfg: options.config ?? defaultVtaConfig(),
    options,
    rules: resolveRules(options.rules),
    kernels: [],
    plan: new MemoryPlan(),
    constants: new Map(),
  };
}

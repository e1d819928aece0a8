/**
 * Pass `link`: place the code buffers (all instructions, then each kernel's uops), encode the
 * instructions with segment-relative dram_base values and a relocation table, fill the constant
 * image and build the CompiledModel.
 */
import type { VtaConfig } from '../../config/config.ts';
import { encodeInsn, encodeUop, type Insn, memElemBytes, OPCODE } from '../../isa/index.ts';
import { describePartition } from '../fuse.ts';
import type { PackedInput } from '../lower/kind.ts';
import { loweringOf } from '../lower/table.ts';
import type { MemoryPlan, SegmentName } from '../memplan.ts';
import { SEGMENTS } from '../memplan.ts';
import type { CompiledModel, KernelInfo, ModelStep } from '../model.ts';
import { checkPackagedModel } from '../package.ts';
import { lowerContext } from './build-problems.ts';
import { type Emitted, type EmittedKernelPlan, uopBuffer } from './emit.ts';
import type { Pass } from './pass.ts';
import { dumpPlan } from './place-buffers.ts';
import { nameRecord } from '../../lib/named.ts';

export interface Linked extends Emitted {
  /** The plan with the code buffers placed too. */
  plan: MemoryPlan;
  model: CompiledModel;
}

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

/** Instructions with their dram_base resolved to segment offsets, and the relocation entries. */
function resolve(k: EmittedKernelPlan, plan: MemoryPlan, at: number, relocs: [number, SegmentName][]): Insn[] {
  // Only relocated instructions are copied: the emitted stream stays as it was.
  const insns = k.emitted.insns.slice();
  for (const r of k.emitted.relocs) {
    const b = plan.get(r.buffer);
    const insn = { ...insns[r.insn]! } as Insn & { dram_base: number };
    insns[r.insn] = insn;
    insn.dram_base = b.offset / r.elemBytes + r.offset;
    relocs.push([at + r.insn, b.segment]);
  }
  return insns;
}

/** The constant image: every constant copied to its place in a new array. */
function layConstants(constants: Map<string, Uint8Array>, plan: MemoryPlan): Uint8Array {
  const image = new Uint8Array(plan.sizes.const);
  for (const [name, bytes] of constants) image.set(bytes, plan.get(name).offset);
  return image;
}

const im2colInfo = (p: PackedInput | undefined): Pick<KernelInfo, 'im2col'> => (p ? { im2col: { buffer: p.buffer, window: p.window } } : {});

function link(s: Emitted): Linked {
  const { cfg } = s;
  const plan = s.plan.clone();
  const totalInsns = s.kernels.reduce((n, k) => n + k.emitted.insns.length, 0);
  plan.place('code:insns', 'code', totalInsns * cfg.insnBytes);
  for (const k of s.kernels) plan.place(uopBuffer(k.name), 'code', Math.max(1, k.emitted.uops.length) * cfg.uopElemBytes);
  const code = new Uint8Array(plan.sizes.code);
  const dv = new DataView(code.buffer);
  const relocs: [number, SegmentName][] = [];
  const kernels: KernelInfo[] = [];
  let at = 0;
  for (const k of s.kernels) {
    const insns = resolve(k, plan, at, relocs);
    insns.forEach((insn, i) => encodeInsn(cfg, insn, code, (at + i) * cfg.insnBytes));
    const ub = plan.get(uopBuffer(k.name));
    k.emitted.uops.forEach((u, i) => dv.setUint32(ub.offset + i * 4, encodeUop(cfg, { dst_idx: u.dst, src_idx: u.src, wgt_idx: u.wgt }), true));
    const lowering = loweringOf(k.kind);
    kernels.push({
      name: k.name,
      nodes: k.group.nodes.map((n) => n.name),
      rule: k.group.rule,
      inputs: k.inputs,
      output: k.output,
      insnStart: at,
      insnCount: insns.length,
      uopCount: k.emitted.uops.length,
      work: streamWork(insns),
      ...lowering.info(k.tiling),
      ...im2colInfo(lowering.packedInput?.(k.group, k.problem, cfg)),
      dramBytes: dramBytes(insns, cfg),
      minDramBytes: lowering.minDramBytes(k.group, k.buffers, plan, lowerContext(s)),
    });
    at += insns.length;
  }
  const constImage = s.arena?.imageFor(s.constants, plan) ?? layConstants(s.constants, plan);
  const activations = nameRecord([...plan.buffers.keys()].filter((name) => name.startsWith('act:')).map((name) => [name.slice(4), name] as const));
  let kernelNo = 0;
  const steps: ModelStep[] = s.partition.steps.map((step) =>
    step.kind === 'vta' ? { kind: 'vta', kernel: kernelNo++ } : { kind: 'host', node: step.node.name, reason: step.reason },
  );
  const buffers: CompiledModel['buffers'] = nameRecord([...plan.buffers].map(([n, b]) => [n, { ...b }] as const));
  const model: CompiledModel = {
    format: 'vta-compiled/1',
    config: { ...cfg.json },
    graph: s.graph,
    types: s.types,
    partition: describePartition(s.partition),
    steps,
    kernels,
    segments: Object.fromEntries(SEGMENTS.map((seg) => [seg, plan.sizes[seg]])) as Record<SegmentName, number>,
    buffers,
    code,
    insnCount: totalInsns,
    relocs,
    constImage,
    activations,
  };
  return { ...s, plan, model };
}

export const linkPass: Pass<Emitted, Linked> = {
  name: 'link',
  run: link,
  // The model passes every check a .vtapkg reader makes.
  verify: (s) => checkPackagedModel(s.model),
  dump: (s) =>
    [
      dumpPlan(s.plan),
      ...s.model.kernels.map((k) => `${k.name}: insns ${k.insnStart}+${k.insnCount}, ${k.uopCount} uops, work ${k.work}, DRAM ${k.dramBytes} B (minimum ${k.minDramBytes} B)`),
      `${s.model.insnCount} instructions, ${s.model.relocs.length} relocations`,
    ].join('\n'),
};

/** The compiled model: what compileGraph returns, the executor runs and a .vtapkg stores (package.ts). */
import type { VtaConfigJson } from '../config/config.ts';
import type { Graph, TensorTypes } from '../graph/ir.ts';
import type { SegmentName } from './memplan.ts';
import type { ConvWindow } from './pack.ts';

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
  /** packed-conv: the executor packs inputs[0] as im2col (pack.ts im2colActivation) into this buffer. */
  im2col?: { buffer: string; window: ConvWindow };
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
  /** The type of every tensor of the graph, inferred once by the shapes pass. */
  types: TensorTypes;
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

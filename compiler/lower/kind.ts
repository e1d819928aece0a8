/**
 * What a kernel kind (conv, grouped conv, element-wise add, ...) supplies to the lowering stages.
 * Each stage looks the kernel's kind up in the table (lower/table.ts) and calls its entry, so a new
 * kind is one file plus one table row. P is the kind's problem, T its tiling.
 */
import type { VtaConfig } from '../../config/config.ts';
import type { Graph, TensorTypes } from '../../graph/ir.ts';
import type { VtaGroup } from '../fuse.ts';
import type { KOp } from '../kernel-ir.ts';
import type { MemoryPlan } from '../memplan.ts';
import type { KernelInfo } from '../model.ts';
import type { KernelBuffers } from './buffers.ts';
import type { ConvWindow, ImageAllocator } from '../pack.ts';

/** What the lowering of one group may read: the validated graph, every tensor's type, the config. */
export interface LowerContext {
  graph: Graph;
  types: TensorTypes;
  cfg: VtaConfig;
  /** Activations the host provides to kernels (graph inputs, host-step outputs), once partitioned. */
  fromHost?: ReadonlySet<string>;
}

/** An input the executor rearranges on its way to the device, into a buffer of the kernel's own. */
export interface PackedInput {
  buffer: string;
  bytes: number;
  /** The im2col window the image is cut with (pack.ts im2colActivation). */
  window: ConvWindow;
}

/**
 * A constant's buffer, and how to pack it (called once per buffer: weights may be shared), its
 * image taken from `allocate` where the packer allocates one (pack.ts ImageAllocator).
 */
export interface ConstantBuffer {
  buffer: string;
  pack(allocate?: ImageAllocator): Uint8Array;
}

export interface KindLowering<P, T> {
  /** Whether this kind lowers the group (exactly one kind matches each group). */
  matches(group: VtaGroup): boolean;
  /** Anchor inputs read as packed activations or constants, in KernelBuffers order (input, input2). */
  operands(group: VtaGroup): string[];
  /** build-problems: the kernel's shape in tiles. */
  problem(group: VtaGroup, cx: LowerContext): P;
  /** pack-constants: the packed weight, for kinds (or kernels of a kind) that have one. */
  weight?(group: VtaGroup, problem: P, cx: LowerContext): ConstantBuffer | undefined;
  /** choose-tilings: the tiling (throws E_UNTILEABLE naming the anchor). */
  tile(group: VtaGroup, problem: P, cfg: VtaConfig): T;
  /** tensorize: the kernel-IR ops, ending with FINISH. */
  tensorize(group: VtaGroup, problem: P, tiling: T, buffers: KernelBuffers, cfg: VtaConfig): KOp[];
  /** DRAM bytes the kernel must move at least (each operand read once). */
  minDramBytes(group: VtaGroup, buffers: KernelBuffers, plan: MemoryPlan, cx: LowerContext): number;
  /** The tiling as the compiled model reports it. */
  info(tiling: T): Pick<KernelInfo, 'tiling' | 'bands'>;
  /** IR checks: why the problem or the tiling is inconsistent, or undefined. */
  checkProblem(group: VtaGroup, problem: P, cx: LowerContext): string | undefined;
  checkTiling(problem: P, tiling: T, cfg: VtaConfig): string | undefined;
  /** One line each for --dump-after. */
  describeProblem(problem: P): string;
  describeTiling(tiling: T): string;
  /** When the kernel reads its input rearranged (a conv over an im2col image): that buffer. */
  packedInput?(group: VtaGroup, problem: P, cfg: VtaConfig): PackedInput | undefined;
}

/**
 * Pass `pack-constants`: the buffers each kernel reads and writes (lower/buffers.ts names) and the
 * packed image of every constant one of them holds: biases, weights (by the kernel kind: a grouped
 * weight is packed band by band) and constant operands (packed as activations).
 */
import type { VtaConfig } from '../../config/config.ts';
import type { Graph } from '../../graph/ir.ts';
import { channelVectorOf, computedLanes, residentConstants } from '../epilogue.ts';
import { paddedLanes } from '../fold-epilogue.ts';
import type { VtaGroup } from '../fuse.ts';
import { actBuffer, biasBuffer, constBuffer, isActivationBuffer, isConstant, placementOrder, uniformBuffer, type KernelBuffers } from '../lower/buffers.ts';
import { loweringOf, type KernelKind } from '../lower/table.ts';
import { BUFFER_ALIGN, MemoryPlan } from '../memplan.ts';
import { type ImageAllocator, constData, gridTiles, packActivation, packBias, tileGrid } from '../pack.ts';
import { DTYPE_INFO } from '../../lib/dtype.ts';
import { lowerContext, type Posed, type PosedKernel } from './build-problems.ts';
import type { Pass } from './pass.ts';
import type { Shaped } from './shapes.ts';
import { byName } from '../../lib/named.ts';

export interface PackedKernel<K extends KernelKind = KernelKind> extends PosedKernel<K> {
  buffers: KernelBuffers;
}

export interface Packed extends Posed {
  kernels: PackedKernel[];
  /** Initial contents of the constant buffers, by buffer name. */
  constants: Map<string, Uint8Array>;
  /** The memory they were packed in, which link takes as the constant image when it can. */
  arena?: ConstantArena;
}

/**
 * Zeroed memory the constants are packed into as they are found, each where the const segment puts
 * it when the buffers are placed in that order (place-buffers does: both follow each kernel's
 * placementOrder), so that link can take it as the model's constant image instead of copying
 * megabytes of weights there. It is sized from the graph's constants with room to spare (untouched
 * memory costs nothing); a constant that does not fit is packed on its own, and link then copies
 * every constant into a new image, as it would without the arena: the image is the same.
 */
export class ConstantArena {
  readonly memory: Uint8Array;
  /** The constants packed in the arena, where they lie. */
  readonly plan = new MemoryPlan();

  constructor(capacity: number) {
    this.memory = new Uint8Array(capacity);
  }

  /** Room for a graph's constants packed: each padded to whole tiles and 4 KiB aligned. */
  static forGraph(graph: Graph, kernels: number): ConstantArena {
    let bytes = 0;
    let count = 0;
    for (const t of Object.values(graph.tensors)) {
      bytes += t.shape.reduce((a, b) => a * b, 1) * DTYPE_INFO[t.dtype].bytes;
      count++;
    }
    // Kernels add constants of their own (uniform vectors, an add's weight): a few each.
    return new ConstantArena(Math.ceil(bytes * 1.5) + 2 * BUFFER_ALIGN * (count + 4 * kernels));
  }

  /** `pack`'s image, packed in the arena when the packer allocates it there and it fits. */
  pack(buffer: string, pack: (allocate: ImageAllocator) => Uint8Array): Uint8Array {
    let block: Uint8Array | undefined;
    // One image per constant: a packer's further allocations (if any) are its own.
    const bytes = pack((n) => {
      const at = Math.ceil(this.plan.sizes.const / BUFFER_ALIGN) * BUFFER_ALIGN;
      if (block || at + n > this.memory.length) return new Uint8Array(n);
      return (block = this.memory.subarray(at, at + n));
    });
    if (!block) return bytes;
    if (bytes.buffer === block.buffer && bytes.byteOffset === block.byteOffset && bytes.length === block.length) this.plan.place(buffer, 'const', bytes.length);
    // The packer returned another array: what it wrote in the arena is nobody's.
    else block.fill(0);
    return bytes;
  }

  /**
   * The arena as the constant image of `plan` when it holds exactly `constants`, each where `plan`
   * places it; else undefined.
   */
  imageFor(constants: Map<string, Uint8Array>, plan: MemoryPlan): Uint8Array | undefined {
    if (plan.sizes.const !== this.plan.sizes.const || constants.size !== this.plan.buffers.size) return undefined;
    for (const [name, bytes] of constants) {
      const here = this.plan.buffers.get(name);
      if (!here || here.offset !== plan.get(name).offset || bytes.byteOffset !== this.memory.byteOffset + here.offset || bytes.buffer !== this.memory.buffer) return undefined;
    }
    return this.memory.subarray(0, plan.sizes.const);
  }
}

/** Adds constants to `constants` as it finds them (a constant used twice is packed once). */
function kernelBuffers(k: PosedKernel, s: Posed, constants: Map<string, Uint8Array>, offsets: Map<string, number>, arena: ConstantArena): KernelBuffers {
  const { graph, cfg } = s;
  const once = (buffer: string, pack: (allocate: ImageAllocator) => Uint8Array) => {
    if (!constants.has(buffer)) constants.set(buffer, arena.pack(buffer, pack));
    return buffer;
  };
  const bias = new Map<string, string>();
  for (const e of k.group.epilogue) {
    // Channel vectors (biases, per-channel multipliers) are packed alike: one int32 per channel.
    const v = channelVectorOf(e);
    if (v === undefined) continue;
    const offset = e.kind === 'bias' ? (e.offset ?? 0) : 0;
    const lanes = computedLanes(e);
    if (lanes) bias.set(e.node.name, once(biasBuffer(v, offset), (allocate) => packBias(paddedLanes(lanes, cfg.blockOut, offset), cfg, allocate)));
    else bias.set(e.node.name, once(vectorBuffer(v, offset, offsets), (allocate) => packBias(paddedLanes(constData(v, byName(graph.tensors, v)!), cfg.blockOut, offset), cfg, allocate)));
  }
  const uniform = new Map(residentConstants(k.group.epilogue).map((v) => [v, once(uniformBuffer(v), (allocate) => packBias(new Int32Array(cfg.blockOut).fill(v), cfg, allocate))]));
  const lowering = loweringOf(k.kind);
  const w = lowering.weight?.(k.group, k.problem, lowerContext(s));
  const [input, input2] = lowering.operands(k.group).map((t) => operandBuffer(t, graph, cfg, once));
  return {
    input: lowering.packedInput?.(k.group, k.problem, cfg)?.buffer ?? input!,
    ...(input2 !== undefined ? { input2 } : {}),
    ...(w ? { weight: once(w.buffer, w.pack) } : {}),
    bias,
    ...(uniform.size ? { constants: uniform } : {}),
    output: actBuffer(k.output),
    ...int32Planes(k.group, s),
  };
}

/**
 * The buffer of channel vector v plus offset (fold-epilogue.ts): the plain name for the first
 * offset the vector is packed with, a name that gives the offset for any other.
 */
function vectorBuffer(v: string, offset: number, offsets: Map<string, number>): string {
  const plain = biasBuffer(v);
  if (!offsets.has(plain)) offsets.set(plain, offset);
  return offsets.get(plain) === offset ? plain : biasBuffer(v, offset);
}

function operandBuffer(t: string, graph: Graph, cfg: VtaConfig, once: (b: string, pack: (allocate: ImageAllocator) => Uint8Array) => string): string {
  if (!isConstant(graph, t)) return actBuffer(t);
  const c = byName(graph.tensors, t)!;
  return once(constBuffer(t), (allocate) => packActivation({ shape: c.shape, dtype: 'int8', data: constData(t, c) }, cfg, allocate));
}

/** An int32 output is four 8-bit planes of the packed layout (epilogue.ts storePlanes). */
function int32Planes(g: VtaGroup, s: Shaped): Pick<KernelBuffers, 'int32PlaneTiles'> {
  return g.int32Output ? { int32PlaneTiles: gridTiles(tileGrid(s.types.get(g.output)!.shape, s.cfg)) } : {};
}

/** Every constant buffer a kernel names is packed, and every packed one is used. */
export function checkConstants(s: Packed): string | undefined {
  const used = new Set<string>();
  for (const k of s.kernels) {
    for (const b of placementOrder(k.buffers)) {
      if (isActivationBuffer(b)) continue;
      if (!s.constants.has(b)) return `kernel ${k.name} reads ${b}, which holds no packed constant`;
      used.add(b);
    }
  }
  const unused = [...s.constants.keys()].find((b) => !used.has(b));
  return unused === undefined ? undefined : `constant buffer ${unused} is packed but no kernel reads it`;
}

export const packConstantsPass: Pass<Posed, Packed> = {
  name: 'pack-constants',
  run(s) {
    const constants = new Map<string, Uint8Array>();
    // The offset each channel vector's plain-named buffer was packed with.
    const offsets = new Map<string, number>();
    const arena = ConstantArena.forGraph(s.graph, s.kernels.length);
    const kernels = s.kernels.map((k) => ({ ...k, buffers: kernelBuffers(k, s, constants, offsets, arena) }));
    return { ...s, kernels, constants, arena };
  },
  verify: checkConstants,
  dump(s) {
    const lines = s.kernels.map((k) => `${k.name}: ${placementOrder(k.buffers).join(', ')}${k.buffers.int32PlaneTiles !== undefined ? ` (int32 as 4 planes of ${k.buffers.int32PlaneTiles} tiles)` : ''}`);
    return [...lines, ...[...s.constants].map(([b, bytes]) => `${b}: ${bytes.length} bytes`)].join('\n');
  },
};

/**
 * Pass `place-buffers`: every kernel's DRAM buffers placed in the `const` and `act` segments
 * (memplan.ts), kernel by kernel in placementOrder, so offsets are the same on every compile.
 */
import { placementOrder } from '../lower/buffers.ts';
import { loweringOf } from '../lower/table.ts';
import { MemoryPlan, SEGMENTS } from '../memplan.ts';
import { gridTiles, tileGrid } from '../pack.ts';
import type { Packed, PackedKernel } from './pack-constants.ts';
import type { Pass } from './pass.ts';

export interface Placed extends Packed {
  plan: MemoryPlan;
}

/** Bytes of an activation buffer: its packed tiles, four 8-bit planes for an int32 output. */
function activationBytes(s: Packed, k: PackedKernel, buffer: string): number {
  const packed = loweringOf(k.kind).packedInput?.(k.group, k.problem, s.cfg);
  if (packed && buffer === packed.buffer) return packed.bytes;
  const tensor = buffer.slice('act:'.length);
  const tiles = gridTiles(tileGrid(s.types.get(tensor)!.shape, s.cfg));
  if (buffer === k.buffers.output) return tiles * s.cfg.outElemBytes * (k.buffers.int32PlaneTiles !== undefined ? 4 : 1);
  return tiles * s.cfg.inpElemBytes;
}

function placeAll(s: Packed): MemoryPlan {
  const plan = new MemoryPlan();
  for (const k of s.kernels) {
    for (const b of placementOrder(k.buffers)) {
      const constant = s.constants.get(b);
      if (constant) plan.place(b, 'const', constant.length);
      else plan.place(b, 'act', activationBytes(s, k, b));
    }
  }
  return plan;
}

/** Every kernel buffer placed and large enough; no two buffers of a segment overlap. */
export function checkPlacement(s: Placed): string | undefined {
  for (const k of s.kernels) {
    for (const b of placementOrder(k.buffers)) {
      const placed = s.plan.buffers.get(b);
      if (!placed) return `kernel ${k.name}: buffer ${b} is not placed`;
      const need = s.constants.get(b)?.length ?? activationBytes(s, k, b);
      if (placed.bytes < need) return `buffer ${b} holds ${placed.bytes} bytes, kernel ${k.name} needs ${need}`;
    }
  }
  return checkNoOverlap(s.plan);
}

export function checkNoOverlap(plan: MemoryPlan): string | undefined {
  for (const seg of SEGMENTS) {
    const inSeg = [...plan.buffers].filter(([, b]) => b.segment === seg).sort(([, a], [, b]) => a.offset - b.offset);
    for (let i = 0; i < inSeg.length; i++) {
      const [name, b] = inSeg[i]!;
      if (b.offset + b.bytes > plan.sizes[seg]) return `buffer ${name} ends past the ${seg} segment`;
      const next = inSeg[i + 1];
      if (next && b.offset + b.bytes > next[1].offset) return `buffers ${name} and ${next[0]} overlap in the ${seg} segment`;
    }
  }
  return undefined;
}

export const dumpPlan = (plan: MemoryPlan) =>
  [...plan.buffers].map(([name, b]) => `${b.segment.padEnd(5)} ${String(b.offset).padStart(8)} +${b.bytes}  ${name}`).join('\n');

export const placeBuffersPass: Pass<Packed, Placed> = {
  name: 'place-buffers',
  run: (s) => ({ ...s, plan: placeAll(s) }),
  verify: checkPlacement,
  dump: (s) => dumpPlan(s.plan),
};


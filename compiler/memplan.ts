/**
 * DRAM memory plan: every buffer a compiled model needs lives in one of three segments
 *   code  — instruction streams of all kernels, then their uop images
 *   const — packed weights, biases and constant operands
 *   act   — packed activations (graph inputs, kernel outputs)
 * Each segment is one device allocation made at load time. Buffers are 4 KiB aligned inside their
 * segment, so "segment base / element size" is exact for every memory type and a relocation is
 * one addition: instructions hold segment-relative dram_base values plus a relocation entry.
 */
export const SEGMENTS = ['code', 'const', 'act'] as const;
export type SegmentName = (typeof SEGMENTS)[number];

export const BUFFER_ALIGN = 4096;

export interface PlacedBuffer {
  segment: SegmentName;
  /** Byte offset inside the segment. */
  offset: number;
  bytes: number;
}

export class MemoryPlan {
  readonly buffers = new Map<string, PlacedBuffer>();
  readonly sizes: Record<SegmentName, number> = { code: 0, const: 0, act: 0 };

  /** Reserve `bytes` in a segment (idempotent per name: the first size wins if identical). */
  place(name: string, segment: SegmentName, bytes: number): PlacedBuffer {
    const have = this.buffers.get(name);
    if (have) {
      if (have.segment !== segment || have.bytes !== bytes) throw new Error(`buffer ${name} planned twice with different sizes`);
      return have;
    }
    const offset = Math.ceil(this.sizes[segment] / BUFFER_ALIGN) * BUFFER_ALIGN;
    const b = { segment, offset, bytes };
    this.sizes[segment] = offset + Math.max(bytes, 1);
    this.buffers.set(name, b);
    return b;
  }

  /** An independent copy: a later pass places more buffers without changing an earlier result. */
  clone(): MemoryPlan {
    const copy = new MemoryPlan();
    for (const [name, b] of this.buffers) copy.buffers.set(name, { ...b });
    Object.assign(copy.sizes, this.sizes);
    return copy;
  }

  get(name: string): PlacedBuffer {
    const b = this.buffers.get(name);
    if (!b) throw new Error(`buffer ${name} is not planned`);
    return b;
  }
}

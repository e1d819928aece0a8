/**
 * The uop SRAM cache of one instruction stream (spec §4.2, "Pushing a kernel", step 1), used by
 * the runtime's command queue and by the compiler's emitter. Kernels get consecutive ranges
 * [end, end+n); a kernel that would run past the uop buffer starts again at 0. Kernels whose range
 * is overwritten stop being resident and are loaded again when next used. Loads read the stream's
 * DRAM uop image, which only grows, so the image offset a LOAD UOP refers to never moves.
 */
import { MEM_TYPE, type MemInsn, OPCODE, memInsn } from '../isa/index.ts';

export interface UopRange {
  /** First uop SRAM slot. */
  readonly begin: number;
  /** One past the last slot. */
  readonly end: number;
}

/** A LOAD UOP the stream needs: `count` uops from image word `imageOffset` into SRAM `sramBase`. */
export interface UopLoad {
  readonly sramBase: number;
  readonly count: number;
  readonly imageOffset: number;
}

export interface UopCacheOptions {
  /** Uop SRAM slots (the config's uopDepth). */
  readonly uopDepth: number;
  /**
   * False (TVM's runtime): every load appends the kernel's uops to the image again. True (a
   * compiled kernel, whose image is a file of the package): a kernel is in the image once and
   * every reload reads that copy.
   */
  readonly reuseImage: boolean;
}

/** Keyed by whatever identifies a kernel to its user (a kernel object, a uop-list string). */
export class UopCache<Key, U> {
  private readonly resident = new Map<Key, UopRange>();
  private readonly imageAt = new Map<Key, number>();
  private readonly imageUops: U[] = [];
  /** Next free slot for the next kernel. */
  private end = 0;

  constructor(private readonly options: UopCacheOptions) {}

  /** Where the kernel `key` is resident now, or undefined. */
  rangeOf(key: Key): UopRange | undefined {
    return this.resident.get(key);
  }

  /** Uops in the image so far. */
  get imageLength(): number {
    return this.imageUops.length;
  }

  /** How much the image grows if `key` (of `count` uops) is placed now. */
  imageGrowth(key: Key, count: number): number {
    if (this.resident.has(key) || (this.options.reuseImage && this.imageAt.has(key))) return 0;
    return count;
  }

  /**
   * Make the kernel `key` with micro-ops `uops` resident. Returns its SRAM range and, when it was
   * not resident, the load that brings its micro-ops in.
   */
  place(key: Key, uops: ArrayLike<U>): { range: UopRange; load?: UopLoad } {
    const cached = this.resident.get(key);
    if (cached) return { range: cached };
    const n = uops.length;
    const begin = this.end + n > this.options.uopDepth ? 0 : this.end;
    const range: UopRange = { begin, end: begin + n };
    for (const [other, r] of this.resident) {
      if (r.begin < range.end && range.begin < r.end) this.resident.delete(other);
    }
    this.resident.set(key, range);
    this.end = range.end;
    return { range, load: { sramBase: begin, count: n, imageOffset: this.imageOffsetOf(key, uops) } };
  }

  private imageOffsetOf(key: Key, uops: ArrayLike<U>): number {
    const known = this.options.reuseImage ? this.imageAt.get(key) : undefined;
    if (known !== undefined) return known;
    const at = this.imageUops.length;
    for (let i = 0; i < uops.length; i++) this.imageUops.push(uops[i]!);
    this.imageAt.set(key, at);
    return at;
  }

  /** The micro-ops of every load of this stream, in image order. */
  image(): readonly U[] {
    return this.imageUops;
  }

  /** Forget everything: the next stream starts with an empty uop SRAM and image. */
  reset(): void {
    this.resident.clear();
    this.imageAt.clear();
    this.imageUops.length = 0;
    this.end = 0;
  }
}

/** The LOAD UOP of `load`, reading from `dramBase` (in uops). */
export function uopLoadInsn(load: UopLoad, dramBase: number): MemInsn {
  return memInsn({
    opcode: OPCODE.LOAD,
    memory_type: MEM_TYPE.UOP,
    sram_base: load.sramBase,
    dram_base: dramBase,
    y_size: 1,
    x_size: load.count,
    x_stride: load.count,
  });
}

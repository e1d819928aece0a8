/**
 * The uop SRAM cache of one instruction stream (spec §4.2, "Pushing a kernel", step 1). Kernels get
 * consecutive ranges [end, end+n); a kernel that would run past the uop buffer starts again at 0.
 * Kernels whose range is overwritten stop being resident and are loaded again when next pushed.
 * Every load appends the kernel's micro-ops to this stream's DRAM image (append-only, so the image
 * offset a LOAD UOP refers to never moves, whatever is evicted later).
 */
import type { VtaConfig } from '../config/config.ts';
import { RUNTIME_ERROR, RuntimeError } from './errors.ts';
import type { UopKernel } from './uop-kernel.ts';

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

export class UopCache {
  private readonly resident = new Map<UopKernel, UopRange>();
  /** Next free slot for the next kernel. */
  private end = 0;
  private readonly chunks: Uint32Array[] = [];
  private imageWords = 0;
  /** The DRAM image is one DMA buffer, so it is bounded like one transfer. */
  private readonly maxImageWords: number;

  constructor(private readonly cfg: VtaConfig) {
    this.maxImageWords = Math.floor(cfg.maxXfer / cfg.uopElemBytes);
  }

  /** Where `kernel` is resident now, or undefined. */
  rangeOf(kernel: UopKernel): UopRange | undefined {
    return this.resident.get(kernel);
  }

  /**
   * Make `kernel` resident. Returns its SRAM range and, when it was not resident, the load that
   * brings its micro-ops in.
   */
  place(kernel: UopKernel): { range: UopRange; load?: UopLoad } {
    const cached = this.resident.get(kernel);
    if (cached) return { range: cached };
    const n = kernel.words.length;
    if (this.imageWords + n > this.maxImageWords) {
      throw new RuntimeError(
        RUNTIME_ERROR.FULL,
        `kernel '${kernel.key}': the stream's micro-op image would exceed ${this.maxImageWords} uops ` +
          `(${this.cfg.maxXfer} bytes); synchronize before pushing more kernels`,
      );
    }
    const begin = this.end + n > this.cfg.uopDepth ? 0 : this.end;
    const range: UopRange = { begin, end: begin + n };
    for (const [other, r] of this.resident) {
      if (r.begin < range.end && range.begin < r.end) this.resident.delete(other);
    }
    this.resident.set(kernel, range);
    this.end = range.end;
    const load: UopLoad = { sramBase: begin, count: n, imageOffset: this.imageWords };
    this.chunks.push(kernel.words);
    this.imageWords += n;
    return { range, load };
  }

  /** The concatenated micro-ops of every load of this stream, in load order. */
  image(): Uint32Array {
    const out = new Uint32Array(this.imageWords);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /** Forget everything: the next stream starts with an empty uop SRAM. */
  reset(): void {
    this.resident.clear();
    this.end = 0;
    this.chunks.length = 0;
    this.imageWords = 0;
  }
}

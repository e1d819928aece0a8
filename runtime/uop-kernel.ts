/**
 * Micro-op kernels (spec §4.2): a list of micro-ops plus up to two affine loops around them, built
 * once by a callback (VTAUopLoopBegin / VTAUopPush / VTAUopLoopEnd) and then reused. A kernel is
 * plain immutable data; where it sits in the uop SRAM is the uop cache's business (uop-cache.ts).
 */
import type { VtaConfig } from '../config/config.ts';
import { type LoopFields, type Uop, encodeUop } from '../isa/index.ts';
import type { LoopNest } from '../isa/pipeline.ts';
import { VtaError } from '../lib/errors.ts';
import { RUNTIME_ERROR, RuntimeError, checkInt } from './errors.ts';
import type { UopRange } from './uop-cache.ts';
import { maxOf } from '../lib/array-loops.ts';

/** Hardware loops have 14-bit iteration counts. */
export const MAX_LOOP_EXTENT = (1 << 14) - 1;
/** Loop factors are SRAM index strides; no buffer is deeper than 2^16 elements. */
const MAX_FACTOR = (1 << 16) - 1;
/** At most two loops: they become the instruction's iter_out / iter_in. */
export const MAX_UOP_LOOPS = 2;

export interface UopLoop {
  readonly extent: number;
  readonly dstFactor: number;
  readonly srcFactor: number;
  readonly wgtFactor: number;
}

export interface UopKernel {
  /** The cache key it was built under (names the kernel in errors and dumps). */
  readonly key: string;
  /** GEMM kernels only: zero the addressed accumulators instead of multiply-accumulating. */
  readonly reset: boolean;
  readonly uops: readonly Uop[];
  /** The micro-ops encoded for the config the kernel was built for. */
  readonly words: Uint32Array;
  /** Outermost first. */
  readonly loops: readonly UopLoop[];
  readonly config: VtaConfig;
}

export interface UopKernelOptions {
  reset?: boolean;
}

/** What a kernel-building callback receives: TVM's VTAUopLoopBegin / VTAUopPush / VTAUopLoopEnd. */
export class UopKernelBuilder {
  private readonly uops: Uop[] = [];
  private readonly words: number[] = [];
  private readonly loops: UopLoop[] = [];
  /** Loops opened and not yet closed. */
  private openLoops = 0;

  constructor(
    private readonly cfg: VtaConfig,
    readonly key: string,
  ) {}

  /** Open a loop around all micro-ops of the kernel. Loops must come before the first push. */
  uopLoopBegin(extent: number, dstFactor: number, srcFactor: number, wgtFactor = 0): void {
    const where = `kernel '${this.key}': uopLoopBegin`;
    if (this.uops.length > 0) {
      throw new RuntimeError(RUNTIME_ERROR.KERNEL, `${where} after ${this.uops.length} uopPush call(s); loops must come first`);
    }
    if (this.loops.length >= MAX_UOP_LOOPS) {
      throw new RuntimeError(RUNTIME_ERROR.KERNEL, `${where}: a kernel has at most ${MAX_UOP_LOOPS} loops`);
    }
    checkInt(`${where} extent`, extent, 1, MAX_LOOP_EXTENT);
    checkInt(`${where} dst_factor`, dstFactor, 0, MAX_FACTOR);
    checkInt(`${where} src_factor`, srcFactor, 0, MAX_FACTOR);
    checkInt(`${where} wgt_factor`, wgtFactor, 0, MAX_FACTOR);
    this.loops.push({ extent, dstFactor, srcFactor, wgtFactor });
    this.openLoops++;
  }

  /** Close the innermost open loop. */
  uopLoopEnd(): void {
    if (this.openLoops === 0) {
      throw new RuntimeError(RUNTIME_ERROR.KERNEL, `kernel '${this.key}': uopLoopEnd without a matching uopLoopBegin`);
    }
    this.openLoops--;
  }

  /**
   * Append a micro-op. GEMM: dst = ACC, src = INP, wgt = WGT index. ALU: dst and src are ACC
   * indices and wgt is 0. VerifyDep: pipelined hardware cannot write one accumulator in two
   * back-to-back micro-ops, so dst must differ from the dst of each of the two previous micro-ops.
   */
  uopPush(dst: number, src: number, wgt = 0): void {
    const where = `kernel '${this.key}': uopPush #${this.uops.length}`;
    for (let back = 1; back <= 2 && back <= this.uops.length; back++) {
      const prev = this.uops[this.uops.length - back]!;
      if (prev.dst_idx === dst) {
        throw new RuntimeError(
          RUNTIME_ERROR.UOP_DEP,
          `${where} writes dst ${dst}, as uop #${this.uops.length - back} does ${back} uop(s) before it; ` +
            `a dst must differ from the previous 2 uops' dst`,
        );
      }
    }
    const uop: Uop = { dst_idx: dst, src_idx: src, wgt_idx: wgt };
    let word: number;
    try {
      word = encodeUop(this.cfg, uop);
    } catch (e) {
      if (e instanceof VtaError) throw new RuntimeError(RUNTIME_ERROR.ARG, `${where}: ${e.message}`);
      throw e;
    }
    this.uops.push(uop);
    this.words.push(word);
  }

  /** Called once the callback returns. */
  finish(options: UopKernelOptions): UopKernel {
    if (this.openLoops !== 0) {
      throw new RuntimeError(RUNTIME_ERROR.KERNEL, `kernel '${this.key}': ${this.openLoops} uopLoopBegin without uopLoopEnd`);
    }
    if (this.uops.length === 0) {
      throw new RuntimeError(RUNTIME_ERROR.KERNEL, `kernel '${this.key}' has no micro-ops (call uopPush at least once)`);
    }
    if (this.uops.length > this.cfg.uopDepth) {
      throw new RuntimeError(
        RUNTIME_ERROR.KERNEL,
        `kernel '${this.key}' has ${this.uops.length} micro-ops, more than the uop buffer holds (${this.cfg.uopDepth})`,
      );
    }
    return Object.freeze({
      key: this.key,
      reset: options.reset ?? false,
      uops: Object.freeze(this.uops.map((u) => Object.freeze(u))),
      words: Uint32Array.from(this.words),
      loops: Object.freeze([...this.loops]),
      config: this.cfg,
    });
  }
}

/** Build a kernel by running `build` on a fresh builder. */
export function buildUopKernel(
  cfg: VtaConfig,
  key: string,
  build: (b: UopKernelBuilder) => void,
  options: UopKernelOptions = {},
): UopKernel {
  const b = new UopKernelBuilder(cfg, key);
  build(b);
  return b.finish(options);
}

/**
 * The largest index a kernel reaches in one of its micro-op fields, over all loop iterations
 * (used to check it against the buffer depth before emitting an instruction).
 */
export function maxKernelIndex(kernel: UopKernel, field: 'dst' | 'src' | 'wgt'): number {
  const of = (u: Uop) => (field === 'dst' ? u.dst_idx : field === 'src' ? u.src_idx : u.wgt_idx);
  const factor = (l: UopLoop) => (field === 'dst' ? l.dstFactor : field === 'src' ? l.srcFactor : l.wgtFactor);
  const base = maxOf(kernel.uops.map(of));
  return kernel.loops.reduce((acc, l) => acc + (l.extent - 1) * factor(l), base);
}

/**
 * The machine's loop nest for a kernel. GEMM: loop[0] outer, loop[1] inner. ALU: a single loop is
 * the INNER loop (iter_out 1), two loops are outer then inner; this asymmetry is TVM's and fixes
 * the exact bits. Missing loops run once.
 */
export function kernelLoopNest(kernel: UopKernel, op: 'gemm' | 'alu'): LoopNest {
  const [outer, inner] = op === 'alu' && kernel.loops.length === 1 ? [undefined, kernel.loops[0]] : [kernel.loops[0], kernel.loops[1]];
  return {
    iterOut: outer?.extent ?? 1,
    iterIn: inner?.extent ?? 1,
    dstOut: outer?.dstFactor ?? 0,
    dstIn: inner?.dstFactor ?? 0,
    srcOut: outer?.srcFactor ?? 0,
    srcIn: inner?.srcFactor ?? 0,
    wgtOut: outer?.wgtFactor ?? 0,
    wgtIn: inner?.wgtFactor ?? 0,
  };
}

/** The uop range and loop fields GEMM and ALU instructions share (wgt factors are GEMM's own). */
export function loopFields(range: UopRange, nest: LoopNest): Omit<LoopFields, 'reset_reg'> {
  return {
    uop_bgn: range.begin,
    uop_end: range.end,
    iter_out: nest.iterOut,
    iter_in: nest.iterIn,
    dst_factor_out: nest.dstOut,
    dst_factor_in: nest.dstIn,
    src_factor_out: nest.srcOut,
    src_factor_in: nest.srcIn,
  };
}

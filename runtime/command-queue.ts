/**
 * The command builder (TVM's runtime CommandQueue, spec §4.2): calls that each append one or a few
 * instructions to a stream — 2-D loads and stores, GEMM/ALU micro-op kernels, dependency tokens —
 * and `synchronize`, which closes the stream, places it and its micro-ops in device memory, runs it
 * on a driver and starts a fresh stream.
 */
import { type VtaConfig, sameHardware } from '../config/config.ts';
import type { DeviceBuffer, Driver } from '../drivers/api.ts';
import {
  ALU_OP,
  ALU_OP_NAMES,
  type Insn,
  MEM_TYPE,
  MEM_TYPE_NAMES,
  OPCODE,
  encodeInsn,
  encodeProgram,
  gemmInsn,
  aluInsn,
  memElemBytes,
  memInsn,
} from '../isa/index.ts';
import { VtaError } from '../lib/errors.ts';
import { type Counters, STAGE, type SimObserver, stageOfLoad } from '../isa/pipeline.ts';
import { dumpStream } from './dump.ts';
import { RUNTIME_ERROR, RuntimeError, checkInt } from './errors.ts';
import { InsnQueue, STAGE_ID } from './insn-queue.ts';
import { UopCache, uopLoadInsn } from './uop-cache.ts';
import {
  type UopKernel,
  type UopKernelBuilder,
  type UopKernelOptions,
  buildUopKernel,
  kernelLoopNest,
  loopFields,
  maxKernelIndex,
} from './uop-kernel.ts';

const U16 = 0xffff;
const PAD_MAX = 15;

/** A closed stream: instructions (LOAD UOPs not yet placed) plus the micro-op image they load from. */
export interface SealedStream {
  /**
   * The instructions, FINISH last. A LOAD UOP's dram_base is still its word offset in `uopImage`;
   * placeStream turns it into an address.
   */
  readonly insns: readonly Insn[];
  /** Indices (into `insns`) of the LOAD UOP instructions. */
  readonly uopLoadIndices: readonly number[];
  /** Encoded micro-ops, in load order. */
  readonly uopImage: Uint32Array;
}

/** The instructions of a sealed stream with every LOAD UOP pointing into the uop image at `uopPhys`. */
export function placeStream(cfg: VtaConfig, sealed: SealedStream, uopPhys: number): Insn[] {
  if (uopPhys % cfg.uopElemBytes !== 0) {
    throw new RuntimeError(RUNTIME_ERROR.ALIGN, `micro-op image address 0x${uopPhys.toString(16)} is not a multiple of ${cfg.uopElemBytes}`);
  }
  const insns = sealed.insns.map((i) => ({ ...i }));
  for (const idx of sealed.uopLoadIndices) {
    const insn = insns[idx]!;
    if (insn.opcode === OPCODE.LOAD) insn.dram_base += uopPhys / cfg.uopElemBytes;
  }
  return insns;
}

export interface SynchronizeOptions {
  /** Bound on the run's work, passed to the driver (cycles, or instructions plus uop-iterations). */
  budget?: number;
  observer?: SimObserver;
  /** Receives the dump of the placed stream before it runs (TVM's VTA_DEBUG_DUMP_INSN). */
  onDump?: (lines: string[]) => void;
}

export class CommandQueue {
  private readonly insns: InsnQueue;
  private readonly uopCache: UopCache<UopKernel, number>;
  /** The uop image is one DMA buffer, so it is bounded like one transfer. */
  private readonly maxImageUops: number;
  /** Kernels by key; they outlive streams (TVM caches them per call site forever). */
  private readonly kernels = new Map<string, UopKernel>();

  constructor(readonly config: VtaConfig) {
    this.insns = new InsnQueue(config);
    this.uopCache = new UopCache({ uopDepth: config.uopDepth, reuseImage: false });
    this.maxImageUops = Math.floor(config.maxXfer / config.uopElemBytes);
  }

  // ---- DMA --------------------------------------------------------------------------------

  /**
   * VTALoadBuffer2D: one LOAD of `ySize` rows of `xSize` elements, `xStride` elements apart,
   * starting at element `srcElemOffset` of `src`, into SRAM `dstMemoryType` from index
   * `dstSramIndex`, with zero padding around. INP/WGT loads run in the load stage, ACC and
   * ACC_8BIT loads in the compute stage. Micro-ops are loaded by pushGemm/pushAlu, not here.
   */
  loadBuffer2D(
    src: DeviceBuffer,
    srcElemOffset: number,
    xSize: number,
    ySize: number,
    xStride: number,
    xPadBefore: number,
    yPadBefore: number,
    xPadAfter: number,
    yPadAfter: number,
    dstSramIndex: number,
    dstMemoryType: number,
  ): void {
    const call = 'loadBuffer2D';
    const loadable: number[] = [MEM_TYPE.WGT, MEM_TYPE.INP, MEM_TYPE.ACC, MEM_TYPE.ACC_8BIT];
    if (!loadable.includes(dstMemoryType)) {
      const name = MEM_TYPE_NAMES[dstMemoryType] ?? String(dstMemoryType);
      const why = dstMemoryType === MEM_TYPE.UOP ? 'micro-ops are loaded by pushGemm/pushAlu' : 'allowed: WGT, INP, ACC, ACC_8BIT';
      throw new RuntimeError(RUNTIME_ERROR.ARG, `${call}: memory type ${name} cannot be loaded this way (${why})`);
    }
    const type = MEM_TYPE_NAMES[dstMemoryType]!;
    checkInt(`${call} x_size`, xSize, 0, U16);
    checkInt(`${call} y_size`, ySize, 0, U16);
    checkInt(`${call} x_stride`, xStride, 0, U16);
    checkInt(`${call} x_pad_before`, xPadBefore, 0, PAD_MAX);
    checkInt(`${call} y_pad_before`, yPadBefore, 0, PAD_MAX);
    checkInt(`${call} x_pad_after`, xPadAfter, 0, PAD_MAX);
    checkInt(`${call} y_pad_after`, yPadAfter, 0, PAD_MAX);
    checkInt(`${call} dst_sram_index`, dstSramIndex, 0, U16);
    const c = this.config;
    const depth = dstMemoryType === MEM_TYPE.WGT ? c.wgtDepth : dstMemoryType === MEM_TYPE.INP ? c.inpDepth : c.accDepth;
    if (xSize > 0) {
      const tiles = (xPadBefore + xSize + xPadAfter) * (yPadBefore + ySize + yPadAfter);
      if (dstSramIndex + tiles > depth) {
        throw new RuntimeError(
          RUNTIME_ERROR.RANGE,
          `${call}: ${tiles} ${type} tiles (padding included) from SRAM index ${dstSramIndex} pass the ${type} buffer depth ${depth}`,
        );
      }
    }
    const dramBase = this.dramBase(call, src, srcElemOffset, dstMemoryType, xSize, ySize, xStride);
    this.insns.append(
      stageOfLoad(dstMemoryType)!,
      memInsn({
        opcode: OPCODE.LOAD,
        memory_type: dstMemoryType,
        sram_base: dstSramIndex,
        dram_base: dramBase,
        y_size: ySize,
        x_size: xSize,
        x_stride: xStride,
        y_pad_0: yPadBefore,
        y_pad_1: yPadAfter,
        x_pad_0: xPadBefore,
        x_pad_1: xPadAfter,
      }),
    );
  }

  /**
   * VTAStoreBuffer2D: one STORE of `ySize` rows of `xSize` OUT tiles, contiguous in SRAM from
   * `srcSramIndex`, to `dst` from element `dstElemOffset` with rows `xStride` elements apart.
   */
  storeBuffer2D(
    srcSramIndex: number,
    srcMemoryType: number,
    dst: DeviceBuffer,
    dstElemOffset: number,
    xSize: number,
    ySize: number,
    xStride: number,
  ): void {
    const call = 'storeBuffer2D';
    if (srcMemoryType !== MEM_TYPE.OUT) {
      const name = MEM_TYPE_NAMES[srcMemoryType] ?? String(srcMemoryType);
      throw new RuntimeError(RUNTIME_ERROR.ARG, `${call}: memory type ${name} cannot be stored (only OUT)`);
    }
    checkInt(`${call} src_sram_index`, srcSramIndex, 0, U16);
    checkInt(`${call} x_size`, xSize, 0, U16);
    checkInt(`${call} y_size`, ySize, 0, U16);
    checkInt(`${call} x_stride`, xStride, 0, U16);
    if (xSize > 0 && srcSramIndex + xSize * ySize > this.config.outDepth) {
      throw new RuntimeError(
        RUNTIME_ERROR.RANGE,
        `${call}: ${xSize * ySize} OUT tiles from SRAM index ${srcSramIndex} pass the OUT buffer depth ${this.config.outDepth}`,
      );
    }
    const dramBase = this.dramBase(call, dst, dstElemOffset, srcMemoryType, xSize, ySize, xStride);
    this.insns.append(
      STAGE.STORE,
      memInsn({
        opcode: OPCODE.STORE,
        memory_type: srcMemoryType,
        sram_base: srcSramIndex,
        dram_base: dramBase,
        y_size: ySize,
        x_size: xSize,
        x_stride: xStride,
      }),
    );
  }

  /** dram_base = phys/elem_bytes + offset, after checking alignment and that the rows lie inside `buf`. */
  private dramBase(call: string, buf: DeviceBuffer, elemOffset: number, memType: number, xSize: number, ySize: number, xStride: number): number {
    const elem = memElemBytes(this.config, memType);
    const type = MEM_TYPE_NAMES[memType]!;
    if (buf.phys % elem !== 0) {
      throw new RuntimeError(
        RUNTIME_ERROR.ALIGN,
        `${call}: buffer address 0x${buf.phys.toString(16)} is not a multiple of the ${type} element size (${elem} bytes)`,
      );
    }
    checkInt(`${call} element offset`, elemOffset, 0, 2 ** 32 - 1);
    if (xSize > 0 && ySize > 0) {
      const endElem = elemOffset + (ySize - 1) * xStride + xSize;
      if (endElem * elem > buf.bytes) {
        throw new RuntimeError(
          RUNTIME_ERROR.RANGE,
          `${call}: ${ySize} row(s) of ${xSize} ${type} elements (stride ${xStride}) from element ${elemOffset} ` +
            `end at byte ${endElem * elem}, past the ${buf.bytes}-byte buffer at 0x${buf.phys.toString(16)}`,
        );
      }
    }
    const base = buf.phys / elem + elemOffset;
    if (base > 2 ** 32 - 1) {
      throw new RuntimeError(RUNTIME_ERROR.RANGE, `${call}: dram_base ${base} does not fit in 32 bits`);
    }
    return base;
  }

  // ---- micro-op kernels -------------------------------------------------------------------

  /**
   * The kernel cached under `key`, built by `build` the first time the key is seen (TVM runs the
   * kernel's init function once per call site and signature). Later calls return the cached
   * kernel and do not run `build`.
   */
  uopKernel(key: string, build: (b: UopKernelBuilder) => void, options: UopKernelOptions = {}): UopKernel {
    const cached = this.kernels.get(key);
    if (cached) return cached;
    const kernel = buildUopKernel(this.config, key, build, options);
    this.kernels.set(key, kernel);
    return kernel;
  }

  /** VTAPushGEMMOp: a GEMM over the kernel (loop[0] outer, loop[1] inner). */
  pushGemm(kernel: UopKernel): void {
    const call = `pushGemm(kernel '${kernel.key}')`;
    this.checkKernel(call, kernel, [
      ['dst', 'ACC', this.config.accDepth],
      ['src', 'INP', this.config.inpDepth],
      ['wgt', 'WGT', this.config.wgtDepth],
    ]);
    const nest = kernelLoopNest(kernel, 'gemm');
    this.pushKernel(call, kernel, (range) =>
      gemmInsn({ reset_reg: kernel.reset ? 1 : 0, ...loopFields(range, nest), wgt_factor_out: nest.wgtOut, wgt_factor_in: nest.wgtIn }),
    );
  }

  /**
   * VTAPushALUOp: an ALU instruction over the kernel. A single loop is the INNER loop (iter_out 1),
   * two loops are outer then inner: this asymmetry with GEMM is TVM's and fixes the exact bits.
   * `imm` is a signed 16-bit immediate, used as the second operand when `useImm` is set.
   */
  pushAlu(kernel: UopKernel, opcode: number, useImm: boolean | number, imm = 0): void {
    const call = `pushAlu(kernel '${kernel.key}')`;
    const ops = Object.values(ALU_OP) as number[];
    if (!ops.includes(opcode)) {
      const known = ops.map((o) => `${o} ${ALU_OP_NAMES[o]}`).join(', ');
      throw new RuntimeError(RUNTIME_ERROR.ARG, `${call}: ALU opcode ${opcode} is not one of ${known}`);
    }
    if (typeof useImm === 'number' && useImm !== 0 && useImm !== 1) {
      throw new RuntimeError(RUNTIME_ERROR.ARG, `${call}: use_imm is ${useImm}; it must be 0 or 1`);
    }
    checkInt(`${call} imm`, imm, -32768, 32767);
    if (kernel.reset) {
      throw new RuntimeError(RUNTIME_ERROR.KERNEL, `${call}: a reset kernel is for GEMM only; ALU instructions never reset`);
    }
    // The ALU reads its source from ACC through the src field alone; a non-zero wgt index would be
    // folded into the source index by hardware that concatenates the fields.
    if (kernel.uops.some((u) => u.wgt_idx !== 0) || kernel.loops.some((l) => l.wgtFactor !== 0)) {
      throw new RuntimeError(RUNTIME_ERROR.KERNEL, `${call}: ALU kernels must have wgt index 0 and wgt factors 0`);
    }
    this.checkKernel(call, kernel, [
      ['dst', 'ACC', this.config.accDepth],
      ['src', 'ACC', this.config.accDepth],
    ]);
    const nest = kernelLoopNest(kernel, 'alu');
    this.pushKernel(call, kernel, (range) => aluInsn({ alu_opcode: opcode, use_imm: useImm ? 1 : 0, imm, ...loopFields(range, nest) }));
  }

  private checkKernel(call: string, kernel: UopKernel, limits: [field: 'dst' | 'src' | 'wgt', buffer: string, depth: number][]): void {
    if (kernel.config !== this.config && !sameHardware(kernel.config, this.config)) {
      throw new RuntimeError(RUNTIME_ERROR.KERNEL, `${call}: the kernel was built for another configuration (${kernel.config.bitstream})`);
    }
    for (const [field, buffer, depth] of limits) {
      const max = maxKernelIndex(kernel, field);
      if (max >= depth) {
        throw new RuntimeError(RUNTIME_ERROR.RANGE, `${call}: ${field} index reaches ${max}, past the ${buffer} buffer depth ${depth}`);
      }
    }
  }

  /** Steps 1-3 of "Pushing a kernel": place it, load its uops when not resident, emit the instruction. */
  private pushKernel(call: string, kernel: UopKernel, make: (range: { begin: number; end: number }) => Insn): void {
    // Validate everything before placing: a refused push must not leave the kernel marked
    // resident without the LOAD UOP that would have brought it in.
    try {
      encodeInsn(this.config, make({ begin: 0, end: kernel.words.length }));
    } catch (e) {
      if (e instanceof VtaError) throw new RuntimeError(RUNTIME_ERROR.ARG, `${call}: ${e.message}`);
      throw e;
    }
    this.insns.ensureRoom(2);
    const growth = this.uopCache.imageGrowth(kernel, kernel.words.length);
    if (this.uopCache.imageLength + growth > this.maxImageUops) {
      throw new RuntimeError(
        RUNTIME_ERROR.FULL,
        `kernel '${kernel.key}': the stream's micro-op image would exceed ${this.maxImageUops} uops ` +
          `(${this.config.maxXfer} bytes); synchronize before pushing more kernels`,
      );
    }
    const { range, load } = this.uopCache.place(kernel, kernel.words);
    const insn = make(range);
    // Until placeStream, a LOAD UOP's dram_base is its offset in the stream's uop image.
    if (load) this.insns.append(STAGE.COMPUTE, uopLoadInsn(load, load.imageOffset), load);
    this.insns.append(STAGE.COMPUTE, insn);
  }

  // ---- dependency tokens ------------------------------------------------------------------

  /** VTADepPush: stage `from` sends a token to stage `to` (STAGE_ID: load 1, compute 2, store 3). */
  depPush(from: number, to: number): void {
    this.insns.depPush(from, to);
  }

  /** VTADepPop: the next instruction of stage `to` waits for a token from stage `from`. */
  depPop(from: number, to: number): void {
    this.insns.depPop(from, to);
  }

  // ---- streams ----------------------------------------------------------------------------

  /** The instructions of the open stream so far (LOAD UOP dram_base = offset in the uop image). */
  pending(): readonly Insn[] {
    return this.insns.entries().map((e) => e.insn);
  }

  /** The open stream as dump lines (disassembly with running token counts). */
  dump(): string[] {
    return dumpStream(this.config, this.pending());
  }

  /**
   * Close the stream as VTASynchronize does: the store and load stages each send compute a final
   * token, a compute NOP pops both, then FINISH (which may not pop). Returns the stream and starts
   * a new, empty one (with an empty uop SRAM).
   */
  seal(): SealedStream {
    try {
      this.insns.depPush(STAGE_ID.STORE, STAGE_ID.COMPUTE, true);
      this.insns.depPush(STAGE_ID.LOAD, STAGE_ID.COMPUTE, true);
      this.insns.depPop(STAGE_ID.STORE, STAGE_ID.COMPUTE, true);
      this.insns.depPop(STAGE_ID.LOAD, STAGE_ID.COMPUTE, true);
      this.insns.finish();
      const entries = this.insns.entries();
      const uopLoadIndices: number[] = [];
      entries.forEach((e, i) => {
        if (e.uopLoad) uopLoadIndices.push(i);
      });
      return { insns: entries.map((e) => ({ ...e.insn })), uopLoadIndices, uopImage: Uint32Array.from(this.uopCache.image()) };
    } finally {
      this.reset();
    }
  }

  /** Drop the open stream (instructions, pending pops, uop residency); cached kernels stay. */
  reset(): void {
    this.insns.reset();
    this.uopCache.reset();
  }

  /**
   * VTASynchronize: close the stream, copy its micro-ops and instructions into device memory, run
   * it on `driver` until FINISH, free that memory, and return the run's counters. The queue is
   * empty afterwards whether the run succeeded or not.
   */
  async synchronize(driver: Driver, options: SynchronizeOptions = {}): Promise<Counters> {
    if (driver.config !== this.config && !sameHardware(driver.config, this.config)) {
      this.reset();
      throw new RuntimeError(
        RUNTIME_ERROR.DRIVER,
        `synchronize: driver '${driver.name}' runs ${driver.config.bitstream}, the stream was built for ${this.config.bitstream}`,
      );
    }
    const sealed = this.seal();
    const allocated: DeviceBuffer[] = [];
    try {
      let uopPhys = 0;
      if (sealed.uopImage.length > 0) {
        const uopBuf = driver.memAlloc(sealed.uopImage.byteLength);
        allocated.push(uopBuf);
        driver.copyFromHost(uopBuf, littleEndianWords(sealed.uopImage));
        uopPhys = uopBuf.phys;
      }
      const insns = placeStream(this.config, sealed, uopPhys);
      options.onDump?.(dumpStream(this.config, insns));
      const image = encodeProgram(this.config, insns);
      const insnBuf = driver.memAlloc(image.length);
      allocated.push(insnBuf);
      driver.copyFromHost(insnBuf, image);
      const runOptions = { ...(options.budget !== undefined && { budget: options.budget }), ...(options.observer && { observer: options.observer }) };
      const { counters } = await driver.run(insnBuf.phys, insns.length, runOptions);
      return counters;
    } finally {
      for (const buf of allocated) driver.memFree(buf);
    }
  }
}

/** Micro-op words as little-endian bytes (the device's byte order, whatever the host's). */
function littleEndianWords(words: Uint32Array): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w, true));
  return out;
}

/**
 * The simulator's hot loops, behind one narrow interface so a faster implementation can replace
 * them without touching the semantics. A kernel set owns the SRAM storage it works on (so a
 * WebAssembly kernel can keep the SRAMs in its own memory). Callers have already checked every
 * index: kernels do no bounds checks and allocate nothing.
 *
 * Three implementations: JavaScript loop nests generated once per tile shape with `new Function`
 * (the BLOCK_IN dot product and the ALU lanes fully unrolled, tile sizes as literals the JIT can
 * fold), WebAssembly SIMD nests (wasm-kernels.ts) used when the engine supports them, and a native
 * GEMM (native-kernels.ts, AVX-512 VNNI or AVX2) beside the WebAssembly ALU, preferred when its
 * addon is built and the CPU has the feature. The generated code depends only on the config's shape and the ALU opcode,
 * never on user data; every implementation gives the same bytes (test/sim/kernels.test.ts).
 */
import type { VtaConfig } from '../config/config.ts';
import type { LoopNest } from '../isa/pipeline.ts';
import { type WasmKernelExports, type WasmLayout, instantiateKernels, wasmLayout } from './wasm-kernels.ts';
import { NATIVE_ARG, NATIVE_DMA_ARG, type NativeKernels, type NativeIsa, instantiateNativeKernels, nativeIsa } from './native-kernels.ts';

/** Decoded uops (dst, src, wgt indices) in [0, count). */
export interface UopList {
  readonly dst: Int32Array;
  readonly src: Int32Array;
  readonly wgt: Int32Array;
  count: number;
}

/**
 * The SRAMs (uop depth x 32 bit, inp/wgt one sign-extended value per byte at every width, acc int32
 * lanes) and the uop scratch.
 */
export interface SramStorage {
  readonly uop: Uint32Array;
  readonly inp: Int8Array;
  readonly wgt: Int8Array;
  readonly acc: Int32Array;
  readonly uops: UopList;
}

export interface SimKernels {
  /** Which implementation runs GEMM and ALU: 'js', 'wasm-simd', or 'native-avx512vnni' / 'native-avxvnni' (GEMM; ALU in wasm). */
  readonly name: string;
  readonly storage: SramStorage;
  /** ACC[dst] += INP[src] · WGT[wgt]ᵀ (wrapping int32) for every uop-iteration, in program order. */
  gemm(loop: LoopNest): void;
  /** ACC[dst] = 0 for every uop-iteration. */
  gemmReset(loop: LoopNest): void;
  /** ACC[dst] = op(ACC[dst], use_imm ? imm : ACC[src]) lane by lane, for every uop-iteration. */
  alu(loop: LoopNest, aluOp: number, useImm: boolean, imm: number): void;
  /** ACC lanes [lane, lane + bytes.length) = sign-extended bytes (ACC_8BIT load row). */
  signExtendRow(lane: number, bytes: Uint8Array): void;
  /** bytes[i] = low 8 bits of ACC lane (lane + i) (STORE row). */
  truncateRow(bytes: Uint8Array, lane: number): void;
  /** Strided DMA in one call, where the kernel set has it (native); else the semantics copy row by row. */
  readonly rows?: RowDma;
}

/** Byte offsets `sramAt` / `accAt` are into the buffer under `storage` (its views' byteOffset + ...). */
export interface RowDma {
  /**
   * LOAD at 8 bits: `rows` rows of `rowBytes` from `dram`, `stride` bytes apart, into the SRAM from
   * byte `sramAt`, `pitch` bytes per row: `pad0` zero bytes, the row (each byte sign-extended to an
   * int32 lane when `signExtend`, ACC_8BIT), `pad1` zero bytes.
   */
  load(dram: Uint8Array, stride: number, rowBytes: number, rows: number, sramAt: number, pitch: number, pad0: number, pad1: number, signExtend: boolean): void;
  /** STORE at 8 bits: `rows` rows of `rowBytes` into `dram`, `stride` apart, the low 8 bits of consecutive ACC lanes from byte `accAt`. */
  store(dram: Uint8Array, stride: number, rowBytes: number, rows: number, accAt: number): void;
}

type GemmFn = (acc: Int32Array, inp: Int8Array, wgt: Int8Array, uops: UopList, loop: LoopNest) => void;
type ResetFn = (acc: Int32Array, uops: UopList, loop: LoopNest) => void;
type AluFn = (acc: Int32Array, uops: UopList, loop: LoopNest, imm: number) => void;

/** Loop header shared by the generated nests: per (i, j) offsets hoisted out of the uop loop. */
const NEST_OPEN = `
  const dst = uops.dst, src = uops.src, wgtIdx = uops.wgt, n = uops.count;
  for (let i = 0; i < loop.iterOut; i++) {
    for (let j = 0; j < loop.iterIn; j++) {
      const dOff = i * loop.dstOut + j * loop.dstIn;
      const sOff = i * loop.srcOut + j * loop.srcIn;
      const wOff = i * loop.wgtOut + j * loop.wgtIn;
      for (let k = 0; k < n; k++) {`;
const NEST_CLOSE = `
      }
    }
  }`;

function genGemm(batch: number, blockIn: number, blockOut: number): GemmFn {
  const lines: string[] = [];
  lines.push(`const a0 = (dst[k] + dOff) * ${batch * blockOut};`);
  lines.push(`const xb = (src[k] + sOff) * ${batch * blockIn};`);
  lines.push(`const w0 = (wgtIdx[k] + wOff) * ${blockOut * blockIn};`);
  for (let b = 0; b < batch; b++) {
    const xs = Array.from({ length: blockIn }, (_, c) => `x${c} = inp[xb + ${b * blockIn + c}]`);
    lines.push(`{ const ${xs.join(', ')};`);
    lines.push(`  for (let o = 0, w = w0; o < ${blockOut}; o++, w += ${blockIn}) {`);
    const terms = Array.from({ length: blockIn }, (_, c) => `x${c} * wgt[w + ${c}]`);
    lines.push(`    const a = a0 + ${b * blockOut} + o;`);
    lines.push(`    acc[a] = (acc[a] + ${terms.join(' + ')}) | 0;`);
    lines.push(`  } }`);
  }
  return new Function('acc', 'inp', 'wgt', 'uops', 'loop', `${NEST_OPEN}\n${lines.join('\n')}${NEST_CLOSE}`) as GemmFn;
}

function genReset(lanes: number): ResetFn {
  const body = `${NEST_OPEN}
        const a = (dst[k] + dOff) * ${lanes};
        acc.fill(0, a, a + ${lanes});${NEST_CLOSE}`;
  return new Function('acc', 'uops', 'loop', body) as ResetFn;
}

/**
 * Lane expressions of each ALU opcode, `A` and `B` being int32. SHR: count = |B| & 31, negative
 * B shifts left (Decision 4). MUL keeps the low 32 bits (Math.imul).
 */
const ALU_EXPR: Record<number, string> = {
  0: 'A < B ? A : B',
  1: 'A > B ? A : B',
  2: '(A + B) | 0',
  3: 'B >= 0 ? A >> (B & 31) : A << (-B & 31)',
  4: 'Math.imul(A, B)',
};

function genAlu(lanes: number, aluOp: number, useImm: boolean): AluFn {
  const expr = ALU_EXPR[aluOp]!;
  const lane = (l: number) => `{ const A = acc[d + ${l}], B = ${useImm ? 'imm' : `acc[s + ${l}]`}; acc[d + ${l}] = ${expr}; }`;
  const body = `${NEST_OPEN}
        const d = (dst[k] + dOff) * ${lanes};
        const s = (src[k] + sOff) * ${lanes};
        ${Array.from({ length: lanes }, (_, l) => lane(l)).join('\n        ')}${NEST_CLOSE}`;
  return new Function('acc', 'uops', 'loop', 'imm', body) as AluFn;
}

/** True for the ALU opcodes the kernels implement (the semantics refuse the others first). */
export function isAluOpcode(op: number): boolean {
  return ALU_EXPR[op] !== undefined;
}

/** Generated functions, shared by every kernel set of the same shape. */
interface ShapeCode {
  gemm: GemmFn;
  reset: ResetFn;
  alu: AluFn[];
}
const codeByShape = new Map<string, ShapeCode>();

function shapeCode(cfg: VtaConfig): ShapeCode {
  const key = `${cfg.batch}x${cfg.blockIn}x${cfg.blockOut}`;
  let code = codeByShape.get(key);
  if (!code) {
    const alu: AluFn[] = [];
    for (const op of Object.keys(ALU_EXPR).map(Number)) {
      alu[op * 2] = genAlu(cfg.lanesPerUop, op, false);
      alu[op * 2 + 1] = genAlu(cfg.lanesPerUop, op, true);
    }
    code = { gemm: genGemm(cfg.batch, cfg.blockIn, cfg.blockOut), reset: genReset(cfg.lanesPerUop), alu };
    codeByShape.set(key, code);
  }
  return code;
}

/** The loop-nest entry points of one implementation. */
interface NestImpl {
  gemm(loop: LoopNest): void;
  alu(loop: LoopNest, aluOp: number, useImm: boolean, imm: number): void;
  /** GEMM with reset_reg; the generated JavaScript one when absent. */
  reset?(loop: LoopNest): void;
}

const ALU_NAMES = ['min', 'max', 'add', 'shr', 'mul'];

/** WebAssembly nests: the uop count comes from the shared list, the rest from the loop. */
function wasmNests(x: WasmKernelExports, uops: UopList): NestImpl {
  const gemm = x.gemm!;
  const alu: ((loop: LoopNest, imm: number) => void)[] = [];
  const call = (f: NonNullable<WasmKernelExports[string]>) => (l: LoopNest, imm: number) =>
    f(uops.count, l.iterOut, l.iterIn, l.dstOut, l.dstIn, l.srcOut, l.srcIn, l.wgtOut, l.wgtIn, imm);
  ALU_NAMES.forEach((name, op) => {
    if (name === 'shr') {
      const right = call(x.alu_sra_imm!);
      const left = call(x.alu_shl_imm!);
      // Count |imm| & 31, direction from the sign (Decision 4).
      alu[op * 2 + 1] = (l, imm) => (imm >= 0 ? right(l, imm & 31) : left(l, -imm & 31));
      alu[op * 2] = call(x.alu_shr!);
    } else {
      alu[op * 2] = call(x[`alu_${name}`]!);
      alu[op * 2 + 1] = call(x[`alu_${name}_imm`]!);
    }
  });
  return {
    gemm: (l) => gemm(uops.count, l.iterOut, l.iterIn, l.dstOut, l.dstIn, l.srcOut, l.srcIn, l.wgtOut, l.wgtIn, 0),
    alu: (l, op, useImm, imm) => alu[op * 2 + (useImm ? 1 : 0)]!(l, imm),
  };
}

/** The native GEMM: the loop goes into the shared argument block, then a call without arguments. */
function withNativeKernels(wasm: NestImpl, x: NativeKernels, args: Int32Array, uops: UopList): NestImpl {
  const A = NATIVE_ARG;
  const put = (l: LoopNest) => {
    args[A.count] = uops.count;
    args[A.iterOut] = l.iterOut;
    args[A.iterIn] = l.iterIn;
    args[A.dstOut] = l.dstOut;
    args[A.dstIn] = l.dstIn;
    args[A.srcOut] = l.srcOut;
    args[A.srcIn] = l.srcIn;
    args[A.wgtOut] = l.wgtOut;
    args[A.wgtIn] = l.wgtIn;
  };
  return {
    gemm: (l) => (put(l), x.gemm()),
    reset: (l) => (put(l), x.reset()),
    alu: wasm.alu,
  };
}

/** The native DMA: parameters into the argument block, the DRAM view as the one argument. */
function nativeRows(x: NativeKernels, args: Int32Array): RowDma {
  const A = NATIVE_DMA_ARG;
  return {
    load(dram, stride, rowBytes, rows, sramAt, pitch, pad0, pad1, signExtend) {
      args[A.stride] = stride;
      args[A.rowBytes] = rowBytes;
      args[A.rows] = rows;
      args[A.sramAt] = sramAt;
      args[A.pitch] = pitch;
      args[A.pad0] = pad0;
      args[A.pad1] = pad1;
      args[A.signExtend] = signExtend ? 1 : 0;
      x.loadRows(dram);
    },
    store(dram, stride, rowBytes, rows, accAt) {
      args[A.stride] = stride;
      args[A.rowBytes] = rowBytes;
      args[A.rows] = rows;
      args[A.sramAt] = accAt;
      x.storeRows(dram);
    },
  };
}

function jsNests(code: ShapeCode, s: SramStorage): NestImpl {
  return {
    gemm: (l) => code.gemm(s.acc, s.inp, s.wgt, s.uops, l),
    alu: (l, op, useImm, imm) => code.alu[op * 2 + (useImm ? 1 : 0)]!(s.acc, s.uops, l, imm),
  };
}

class Kernels implements SimKernels {
  readonly name: string;
  readonly storage: SramStorage;
  private readonly code: ShapeCode;
  private readonly nests: NestImpl;

  readonly rows?: RowDma;

  constructor(cfg: VtaConfig, storage: SramStorage, name: string, nests?: NestImpl, rows?: RowDma) {
    this.name = name;
    this.storage = storage;
    if (rows) this.rows = rows;
    this.code = shapeCode(cfg);
    this.nests = nests ?? jsNests(this.code, storage);
  }

  gemm(loop: LoopNest): void {
    this.nests.gemm(loop);
  }

  gemmReset(loop: LoopNest): void {
    if (this.nests.reset) this.nests.reset(loop);
    else this.code.reset(this.storage.acc, this.storage.uops, loop);
  }

  alu(loop: LoopNest, aluOp: number, useImm: boolean, imm: number): void {
    this.nests.alu(loop, aluOp, useImm, imm);
  }

  signExtendRow(lane: number, bytes: Uint8Array): void {
    // An Int8Array view read into Int32 lanes sign-extends each byte (one native copy).
    this.storage.acc.set(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length), lane);
  }

  truncateRow(bytes: Uint8Array, lane: number): void {
    // A Uint8Array store keeps the low 8 bits: exactly the two's-complement truncation of §3.3.
    bytes.set(this.storage.acc.subarray(lane, lane + bytes.length));
  }
}

/** Bytes of each SRAM: INP and WGT hold one value per byte whatever their width (LOAD unpacks). */
const sizes = (cfg: VtaConfig) => ({
  uop: cfg.uopDepth * 4,
  inp: cfg.inpDepth * cfg.batch * cfg.blockIn,
  wgt: cfg.wgtDepth * cfg.blockOut * cfg.blockIn,
  acc: cfg.accDepth * cfg.accElemBytes,
  uopDepth: cfg.uopDepth,
});

/** 'native' takes the best instruction set here; 'native-<isa>' asks for one (for tests). */
export type KernelChoice = 'auto' | 'js' | 'wasm' | 'native' | `native-${NativeIsa}`;

/** The SRAM views over the WebAssembly kernels' memory, laid out as `layout`. */
function storageIn(buf: ArrayBuffer, layout: WasmLayout, cfg: VtaConfig): SramStorage {
  const sz = sizes(cfg);
  return {
    uop: new Uint32Array(buf, layout.uop, cfg.uopDepth),
    inp: new Int8Array(buf, layout.inp, sz.inp),
    wgt: new Int8Array(buf, layout.wgt, sz.wgt),
    acc: new Int32Array(buf, layout.acc, sz.acc / 4),
    uops: {
      dst: new Int32Array(buf, layout.dst, cfg.uopDepth),
      src: new Int32Array(buf, layout.src, cfg.uopDepth),
      wgt: new Int32Array(buf, layout.wgtIdx, cfg.uopDepth),
      count: 0,
    },
  };
}

/**
 * A kernel set with fresh, zeroed SRAM storage. 'auto' takes WebAssembly SIMD when the engine has
 * it, with the native GEMM when its addon is built and suits this CPU and shape, and plain
 * JavaScript otherwise; 'wasm' and 'native…' throw when theirs is missing (for tests).
 */
export function createKernels(cfg: VtaConfig, choice: KernelChoice = 'auto'): SimKernels {
  const sz = sizes(cfg);
  if (choice !== 'js') {
    const shape = { batch: cfg.batch, blockIn: cfg.blockIn, blockOut: cfg.blockOut };
    const layout = wasmLayout(sz);
    const wasm = instantiateKernels(shape, layout);
    if (wasm) {
      const buf = wasm.memory.buffer;
      const storage = storageIn(buf, layout, cfg);
      const nests = wasmNests(wasm.exports, storage.uops);
      if (choice === 'wasm') return new Kernels(cfg, storage, 'wasm-simd', nests);
      const isa = choice.startsWith('native-') ? (choice.slice('native-'.length) as NativeIsa) : undefined;
      const native = instantiateNativeKernels({ ...shape, wgtDepth: cfg.wgtDepth }, layout, buf, isa);
      if (native) {
        const args = new Int32Array(buf, layout.args, 32);
        return new Kernels(cfg, storage, `native-${isa ?? nativeIsa()}`, withNativeKernels(nests, native, args, storage.uops), nativeRows(native, args));
      }
      if (choice === 'auto') return new Kernels(cfg, storage, 'wasm-simd', nests);
      throw new Error(`the native fsim GEMM (${choice}) is not built or does not suit this CPU or tile shape`);
    }
    if (choice !== 'auto') throw new Error('this JavaScript engine has no WebAssembly SIMD');
  }
  const storage: SramStorage = {
    uop: new Uint32Array(cfg.uopDepth),
    inp: new Int8Array(sz.inp),
    wgt: new Int8Array(sz.wgt),
    acc: new Int32Array(sz.acc / 4),
    uops: { dst: new Int32Array(cfg.uopDepth), src: new Int32Array(cfg.uopDepth), wgt: new Int32Array(cfg.uopDepth), count: 0 },
  };
  return new Kernels(cfg, storage, 'js');
}

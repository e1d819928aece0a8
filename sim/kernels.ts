/**
 * The simulator's hot loops, behind one narrow interface so a faster implementation (for example
 * WebAssembly SIMD) can replace this module without touching the semantics. Callers have already
 * checked every index: kernels do no bounds checks and allocate nothing.
 *
 * GEMM and ALU loop nests are generated once per tile shape with `new Function`, so that the
 * BLOCK_IN dot product is fully unrolled with the input row held in locals and every constant
 * (tile sizes, lane counts) is a literal the JIT can fold. The generated text depends only on the
 * config's shape and the ALU opcode, never on user data.
 */
import type { VtaConfig } from '../config/config.ts';

/** The two-level loop of a GEMM/ALU instruction, over a uop list already decoded. */
export interface LoopNest {
  iterOut: number;
  iterIn: number;
  dstOut: number;
  dstIn: number;
  srcOut: number;
  srcIn: number;
  wgtOut: number;
  wgtIn: number;
}

/** Decoded uops (dst, src, wgt indices) in [0, count). */
export interface UopList {
  readonly dst: Int32Array;
  readonly src: Int32Array;
  readonly wgt: Int32Array;
  count: number;
}

export interface SimKernels {
  /** ACC[dst] += INP[src] · WGT[wgt]ᵀ (wrapping int32) for every uop-iteration, in program order. */
  gemm(acc: Int32Array, inp: Int8Array, wgt: Int8Array, uops: UopList, loop: LoopNest): void;
  /** ACC[dst] = 0 for every uop-iteration. */
  gemmReset(acc: Int32Array, uops: UopList, loop: LoopNest): void;
  /** ACC[dst] = op(ACC[dst], use_imm ? imm : ACC[src]) lane by lane, for every uop-iteration. */
  alu(acc: Int32Array, uops: UopList, loop: LoopNest, aluOp: number, useImm: boolean, imm: number): void;
  /** ACC lanes [lane, lane+bytes.length) = sign-extended bytes (ACC_8BIT load row). */
  signExtendRow(acc: Int32Array, lane: number, bytes: Uint8Array): void;
  /** bytes[i] = low 8 bits of ACC lane (lane+i) (STORE row). */
  truncateRow(bytes: Uint8Array, acc: Int32Array, lane: number): void;
}

type GemmFn = SimKernels['gemm'];
type ResetFn = SimKernels['gemmReset'];
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
  const body = `${NEST_OPEN}\n${lines.join('\n')}${NEST_CLOSE}`;
  return new Function('acc', 'inp', 'wgt', 'uops', 'loop', body) as GemmFn;
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
  const body = `${NEST_OPEN}
        const d = (dst[k] + dOff) * ${lanes};
        const s = (src[k] + sOff) * ${lanes};
        for (let l = 0; l < ${lanes}; l++) {
          const A = acc[d + l];
          const B = ${useImm ? 'imm' : 'acc[s + l]'};
          acc[d + l] = ${expr};
        }${NEST_CLOSE}`;
  return new Function('acc', 'uops', 'loop', 'imm', body) as AluFn;
}

/** True for the ALU opcodes the kernels implement (the semantics refuse the others first). */
export function isAluOpcode(op: number): boolean {
  return ALU_EXPR[op] !== undefined;
}

class JsKernels implements SimKernels {
  readonly gemm: GemmFn;
  readonly gemmReset: ResetFn;
  private readonly aluFns: AluFn[] = [];

  constructor(cfg: VtaConfig) {
    this.gemm = genGemm(cfg.batch, cfg.blockIn, cfg.blockOut);
    this.gemmReset = genReset(cfg.lanesPerUop);
    for (const op of Object.keys(ALU_EXPR).map(Number)) {
      this.aluFns[op * 2] = genAlu(cfg.lanesPerUop, op, false);
      this.aluFns[op * 2 + 1] = genAlu(cfg.lanesPerUop, op, true);
    }
  }

  alu(acc: Int32Array, uops: UopList, loop: LoopNest, aluOp: number, useImm: boolean, imm: number): void {
    this.aluFns[aluOp * 2 + (useImm ? 1 : 0)]!(acc, uops, loop, imm);
  }

  signExtendRow(acc: Int32Array, lane: number, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) acc[lane + i] = (bytes[i]! << 24) >> 24;
  }

  truncateRow(bytes: Uint8Array, acc: Int32Array, lane: number): void {
    // A Uint8Array store keeps the low 8 bits: exactly the two's-complement truncation of §3.3.
    for (let i = 0; i < bytes.length; i++) bytes[i] = acc[lane + i]!;
  }
}

const byShape = new Map<string, SimKernels>();

/** The kernels for a config's tile shape (generated once per shape). */
export function kernelsFor(cfg: VtaConfig): SimKernels {
  const key = `${cfg.batch}x${cfg.blockIn}x${cfg.blockOut}`;
  let k = byShape.get(key);
  if (!k) {
    k = new JsKernels(cfg);
    byShape.set(key, k);
  }
  return k;
}

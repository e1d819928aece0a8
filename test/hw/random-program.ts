/**
 * Seeded generator of random valid VTA programs for differential testing (fsim vs tsim): every
 * instruction kind, padding on every load type, ACC_8BIT, all ALU ops (MUL, SHR either way, imm and
 * tensor), GEMM reset, zero-size and zero-loop no-ops, and token-synchronised blocks whose three
 * per-stage streams are merged in a random program order. Every SRAM index read was written first.
 */
import type { VtaConfig } from '../../config/config.ts';
import { ALU_OP, MEM_TYPE, OPCODE, encodeInsn, encodeUop, memElemBytes, NO_DEPS, type Insn, type MemInsn } from '../../isa/index.ts';
import { mulberry32 } from '../../lib/random.ts';

/** Small deterministic PRNG (mulberry32). */
export function rng(seed: number): { int(lo: number, hi: number): number; pick<T>(xs: readonly T[]): T; bit(p?: number): boolean } {
  const next = mulberry32(seed);
  return {
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
    bit: (p = 0.5) => next() < p,
  };
}

export interface RandomProgram {
  /** Physical base of the image (page aligned) and its bytes. */
  base: number;
  image: Uint8Array;
  insnAddr: number;
  insnCount: number;
  /** Where the STOREs write (compared byte for byte). */
  out: { addr: number; bytes: number };
}

/** SRAM indices used: 0..WINDOW-1 in every buffer. */
const WINDOW = 64;
const AREA = 0x8000;

export function randomProgram(cfg: VtaConfig, seed: number): RandomProgram {
  const r = rng(seed);
  const base = 0x10000 * r.int(1, 64);
  // Areas (byte offsets from base), each aligned to its element size.
  const off = { insn: 0, uop: AREA, inp: 2 * AREA, wgt: 4 * AREA, acc: 12 * AREA, acc8: 16 * AREA, out: 17 * AREA };
  const size = 18 * AREA;
  const image = new Uint8Array(size);
  for (let i = off.inp; i < off.out; i++) image[i] = r.int(0, 255);
  // Uop area: valid micro-ops whose indices stay small.
  const uopView = new DataView(image.buffer, off.uop, AREA);
  for (let i = 0; i < AREA / 4; i++) {
    uopView.setUint32(i * 4, encodeUop(cfg, { dst_idx: r.int(0, 31), src_idx: r.int(0, 31), wgt_idx: r.int(0, 31) }), true);
  }
  // Keep accumulators moderate so MUL/SHL do not just saturate to noise: small signed values.
  const accView = new DataView(image.buffer, off.acc, 4 * AREA);
  for (let i = 0; i < AREA; i++) accView.setInt32(i * 4, r.int(-5000, 5000), true);

  const dram = (type: number, area: number, elemOffset: number) => (base + area) / memElemBytes(cfg, type) + elemOffset;
  const mem = (opcode: 0 | 1, type: number, f: Partial<MemInsn>): MemInsn => ({
    ...NO_DEPS, opcode, memory_type: type, sram_base: 0, dram_base: 0, y_size: 1, x_size: 1, x_stride: 1,
    y_pad_0: 0, y_pad_1: 0, x_pad_0: 0, x_pad_1: 0, ...f,
  });
  /** A random padded 2-D load that fits in the SRAM window. */
  const randLoad = (type: number, area: number, noPad = false): MemInsn => {
    for (;;) {
      const x = r.int(1, 4);
      const y = r.int(0, 3);
      const p = () => (noPad || !r.bit(0.4) ? 0 : r.int(1, 2));
      const [yp0, yp1, xp0, xp1] = [p(), p(), p(), p()];
      const total = (x + xp0 + xp1) * (y + yp0 + yp1);
      if (total === 0 || total > WINDOW) continue;
      return mem(OPCODE.LOAD, type, {
        sram_base: r.int(0, WINDOW - total), dram_base: dram(type, area, r.int(0, 63)),
        y_size: y, x_size: x, x_stride: x + r.int(0, 3), y_pad_0: yp0, y_pad_1: yp1, x_pad_0: xp0, x_pad_1: xp1,
      });
    }
  };
  const loops = () => {
    const zero = r.bit(0.05);
    const bgn = r.int(0, WINDOW - 4);
    return {
      reset_reg: 0,
      uop_bgn: bgn, uop_end: zero ? bgn : bgn + r.int(1, 4),
      iter_out: r.int(1, 2), iter_in: r.int(1, 3),
      dst_factor_out: r.int(0, 8), dst_factor_in: r.int(0, 4),
      src_factor_out: r.int(0, 8), src_factor_in: r.int(0, 4),
    };
  };

  const stages: Insn[][] = [[], [], []];
  const blocks = r.int(1, 4);
  // Block 0 first fills the SRAM windows the program reads.
  stages[0]!.push(mem(OPCODE.LOAD, MEM_TYPE.INP, { dram_base: dram(MEM_TYPE.INP, off.inp, 0), x_size: WINDOW, x_stride: WINDOW }));
  stages[0]!.push(mem(OPCODE.LOAD, MEM_TYPE.WGT, { dram_base: dram(MEM_TYPE.WGT, off.wgt, 0), x_size: WINDOW, x_stride: WINDOW }));
  stages[1]!.push(mem(OPCODE.LOAD, MEM_TYPE.UOP, { dram_base: dram(MEM_TYPE.UOP, off.uop, 0), x_size: WINDOW, x_stride: WINDOW }));
  stages[1]!.push(mem(OPCODE.LOAD, MEM_TYPE.ACC, { dram_base: dram(MEM_TYPE.ACC, off.acc, 0), x_size: WINDOW, x_stride: WINDOW }));
  let outRow = 0;
  for (let b = 0; b < blocks; b++) {
    const last = b === blocks - 1;
    // Load stage
    const ld: Insn[] = [];
    for (let n = r.int(0, 3); n > 0; n--) {
      ld.push(r.bit() ? randLoad(MEM_TYPE.INP, off.inp) : randLoad(MEM_TYPE.WGT, off.wgt));
    }
    if (r.bit(0.2)) ld.push(mem(OPCODE.LOAD, MEM_TYPE.INP, { x_size: 0, y_pad_0: r.int(0, 2) }));
    if (ld.length === 0) ld.push(mem(OPCODE.LOAD, MEM_TYPE.INP, { x_size: 0 }));
    if (b > 0) ld[0] = { ...ld[0]!, pop_next: 1 };
    ld[ld.length - 1] = { ...ld[ld.length - 1]!, push_next: 1 };
    stages[0]!.push(...ld);
    // Compute stage
    const co: Insn[] = [];
    for (let n = r.int(1, 6); n > 0; n--) {
      const kind = r.int(0, 9);
      if (kind <= 2) {
        co.push({ ...NO_DEPS, opcode: OPCODE.GEMM, ...loops(), reset_reg: r.bit(0.15) ? 1 : 0, wgt_factor_out: r.int(0, 8), wgt_factor_in: r.int(0, 4) });
      } else if (kind <= 6) {
        const op = r.pick([ALU_OP.MIN, ALU_OP.MAX, ALU_OP.ADD, ALU_OP.SHR, ALU_OP.MUL]);
        const useImm = r.bit() ? 1 : 0;
        const imm = op === ALU_OP.SHR && r.bit(0.7) ? r.int(-12, 12) : op === ALU_OP.MUL ? r.int(-300, 300) : r.int(-32768, 32767);
        co.push({ ...NO_DEPS, opcode: OPCODE.ALU, ...loops(), alu_opcode: op, use_imm: useImm, imm });
      } else if (kind === 7) {
        co.push(randLoad(MEM_TYPE.ACC, off.acc));
      } else if (kind === 8) {
        co.push(randLoad(MEM_TYPE.ACC_8BIT, off.acc8));
      } else {
        // Uops stay valid: pads give zero uops, data come from the valid-uop area (any 4-byte offset).
        co.push(randLoad(MEM_TYPE.UOP, off.uop));
      }
    }
    co[0] = { ...co[0]!, pop_prev: 1, pop_next: b > 0 ? 1 : 0 };
    co[co.length - 1] = { ...co[co.length - 1]!, push_prev: last ? 0 : 1, push_next: 1 };
    stages[1]!.push(...co);
    // Store stage: a few rows into the output area (rows never overlap between stores).
    const st: Insn[] = [];
    for (let n = r.int(1, 2); n > 0; n--) {
      const x = r.int(1, 4);
      const y = r.int(1, 3);
      const stride = x + r.int(0, 2);
      st.push(mem(OPCODE.STORE, MEM_TYPE.OUT, { sram_base: r.int(0, WINDOW - x * y), dram_base: dram(MEM_TYPE.OUT, off.out, outRow), x_size: x, y_size: y, x_stride: stride }));
      outRow += stride * y;
    }
    if (r.bit(0.2)) st.push(mem(OPCODE.STORE, MEM_TYPE.UOP, { x_size: 0 }));
    st[0] = { ...st[0]!, pop_prev: 1 };
    st[st.length - 1] = { ...st[st.length - 1]!, push_prev: 1 };
    stages[2]!.push(...st);
  }
  // Final compute no-op takes the last store's token, then FINISH.
  stages[1]!.push(mem(OPCODE.LOAD, MEM_TYPE.UOP, { x_size: 0, pop_next: 1 }));
  stages[1]!.push({ ...NO_DEPS, opcode: OPCODE.FINISH });

  // Program order: blocked, or a random merge that keeps each stage's own order.
  const order: Insn[] = [];
  const heads = [0, 0, 0];
  const blocked = r.bit(0.3);
  while (heads.some((h, s) => h < stages[s]!.length)) {
    const live = [0, 1, 2].filter((s) => heads[s]! < stages[s]!.length);
    const s = blocked ? live[0]! : r.pick(live);
    order.push(stages[s]![heads[s]!++]!);
  }
  const insnOffset = 16 * r.int(0, 8) + (r.bit(0.3) ? r.int(1, 15) : 0);
  order.forEach((insn, i) => encodeInsn(cfg, insn, image, insnOffset + 16 * i));
  return {
    base,
    image,
    insnAddr: base + insnOffset,
    insnCount: order.length,
    out: { addr: base + off.out, bytes: Math.max(16, outRow * cfg.outElemBytes) },
  };
}

/**
 * Semantics of each opcode on the default config, checked against references written
 * independently in the test (BigInt arithmetic, plain loops), never against the simulator itself.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { ALU_OP, MEM_TYPE, OPCODE, aluInsn, finishInsn, gemmInsn, memInsn, type MemInsn } from '../../isa/index.ts';
import { type Rig, randomBytes, rig } from './harness.ts';

const cfg = defaultVtaConfig();
const LANES = cfg.lanesPerUop; // 16
const DATA = 0x20000;
const UOPS = 0x10000;

const load = (memory_type: number, p: Partial<MemInsn>): MemInsn => memInsn({ opcode: OPCODE.LOAD, memory_type, y_size: 1, ...p });
const i32 = (x: bigint) => Number(BigInt.asIntN(32, x));

let r: Rig;
beforeEach(() => {
  r = rig(cfg);
});

/** Put int32 lanes at DATA and load them into ACC tiles [sram, sram + tiles). */
function accFrom(values: number[], sram: number, phys = DATA) {
  r.put(phys, Int32Array.from(values));
  return load(MEM_TYPE.ACC, { sram_base: sram, dram_base: phys / cfg.accElemBytes, x_size: values.length / LANES, x_stride: values.length / LANES });
}

function tile(index: number): number[] {
  return Array.from(r.machine.acc.subarray(index * LANES, (index + 1) * LANES));
}

/** uop 0 = {dst 0, src 1}, one iteration: the ALU works tile 1 into tile 0. */
function aluOnTiles(op: number, extra: { use_imm?: number; imm?: number } = {}) {
  r.putUops(UOPS, [{ dst_idx: 0, src_idx: 1, wgt_idx: 0 }]);
  return [
    load(MEM_TYPE.UOP, { dram_base: UOPS / 4, x_size: 1, x_stride: 1 }),
    aluInsn({ alu_opcode: op, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: 1, ...extra }),
  ];
}

describe('ALU', () => {
  const A = [0, 1, -1, 7, -7, 0x40000000, -0x80000000, 0x7fffffff, 12345, -12345, 100, -100, 3, -3, 0x1234567, -2];

  it('SHR with tensor operands: count = |B| & 31, negative B shifts left, |B| >= 32 included', () => {
    const B = [-1, -31, -32, -33, 32, 33, 63, -64, 0, 5, -5, 31, 1, -0x80000000, -2, 100];
    r.run([accFrom([...A, ...B], 0), ...aluOnTiles(ALU_OP.SHR), finishInsn()]);
    const expected = A.map((a, l) => {
      const b = B[l]!;
      const n = BigInt(Math.abs(b) % 32);
      return b >= 0 ? i32(BigInt(a) >> n) : i32(BigInt(a) << n);
    });
    expect(tile(0)).toEqual(expected);
    // Hand-checked lanes 1-4: 1 << 31 (B = -31); -1 << 0 (B = -32); 7 << 1 (B = -33); -7 >> 0 (B = 32).
    expect(tile(0).slice(1, 5)).toEqual([-0x80000000, -1, 14, -7]);
    expect(tile(1)).toEqual(B);
  });

  it('SHR with immediates, both signs and |imm| >= 32', () => {
    for (const [imm, a, want] of [
      [-33, 1, 2],
      [33, -8, -4],
      [-1, 0x40000000, -0x80000000],
      [32, -5, -5],
      [-32, 9, 9],
      [31, -1, -1],
      [4, 0x7fffffff, 0x7ffffff],
    ] as const) {
      r = rig(cfg);
      r.run([accFrom(new Array(32).fill(a), 0), ...aluOnTiles(ALU_OP.SHR, { use_imm: 1, imm }), finishInsn()]);
      expect(tile(0), `imm ${imm} on ${a}`).toEqual(new Array(LANES).fill(want));
    }
  });

  it('MUL keeps the low 32 bits (tensor and immediate)', () => {
    const B = [0x10000, 0x7fffffff, -3, 2, 0x10001, 4, 0, 65535, -65536, 7, 0x7fffffff, 0x40000000, 3, -3, 0x33333333, 2];
    r.run([accFrom([...A, ...B], 0), ...aluOnTiles(ALU_OP.MUL), finishInsn()]);
    expect(tile(0)).toEqual(A.map((a, l) => i32(BigInt(a) * BigInt(B[l]!))));
    expect(tile(0)[5]).toBe(0); // 0x40000000 * 4 wraps to 0
    r = rig(cfg);
    r.run([accFrom([...A, ...A], 0), ...aluOnTiles(ALU_OP.MUL, { use_imm: 1, imm: -32768 }), finishInsn()]);
    expect(tile(0)).toEqual(A.map((a) => i32(BigInt(a) * -32768n)));
  });

  it('MIN, MAX are signed; ADD wraps; an immediate is sign-extended from 16 bits', () => {
    const B = A.map((a, l) => (l % 2 ? -a : a ^ 0x55));
    for (const [op, f] of [
      [ALU_OP.MIN, (a: number, b: number) => (a < b ? a : b)],
      [ALU_OP.MAX, (a: number, b: number) => (a > b ? a : b)],
      [ALU_OP.ADD, (a: number, b: number) => i32(BigInt(a) + BigInt(b))],
    ] as const) {
      r = rig(cfg);
      r.run([accFrom([...A, ...B], 0), ...aluOnTiles(op), finishInsn()]);
      expect(tile(0), `op ${op}`).toEqual(A.map((a, l) => f(a, B[l]!)));
    }
    r = rig(cfg);
    r.run([accFrom([...A, ...A], 0), ...aluOnTiles(ALU_OP.ADD, { use_imm: 1, imm: -2 }), finishInsn()]);
    expect(tile(0)).toEqual(A.map((a) => i32(BigInt(a) - 2n)));
  });

  it('walks iter_out x iter_in x uops with dst/src factors, in place', () => {
    // 8 tiles of values t*100 + lane; uops {dst 0, src 4} and {dst 1, src 5}; 2 x 1 iterations, factors 2.
    const vals = Array.from({ length: 8 * LANES }, (_, i) => Math.floor(i / LANES) * 100 + (i % LANES));
    r.putUops(UOPS, [
      { dst_idx: 0, src_idx: 4, wgt_idx: 0 },
      { dst_idx: 1, src_idx: 5, wgt_idx: 0 },
    ]);
    const c = r.run([
      accFrom(vals, 0),
      load(MEM_TYPE.UOP, { dram_base: UOPS / 4, x_size: 2, x_stride: 2 }),
      aluInsn({ alu_opcode: ALU_OP.ADD, uop_bgn: 0, uop_end: 2, iter_out: 2, iter_in: 1, dst_factor_out: 2, src_factor_out: 2 }),
      finishInsn(),
    ]);
    for (let t = 0; t < 4; t++) expect(tile(t)[3], `tile ${t}`).toBe(t * 100 + 3 + (t + 4) * 100 + 3);
    expect(tile(4)[3]).toBe(403);
    expect(c.alu_counter).toBe(4);
  });
});

describe('LOAD', () => {
  it('ACC_8BIT sign-extends each byte into a lane, DRAM address = dram_base x 16, stride in 16-byte rows', () => {
    const bytes = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 200) & 0xff);
    r.put(DATA, bytes);
    const c = r.run([load(MEM_TYPE.ACC_8BIT, { sram_base: 5, dram_base: DATA / 16, y_size: 2, x_size: 1, x_stride: 3 }), finishInsn()]);
    const sext = (b: number) => (b >= 128 ? b - 256 : b);
    expect(tile(5)).toEqual(Array.from(bytes.subarray(0, 16), sext));
    expect(tile(6)).toEqual(Array.from(bytes.subarray(48, 64), sext));
    expect(tile(5)).toContain(-56); // byte 200
    expect(c.acc8_load_nbytes).toBe(32);
    expect(c.acc_load_nbytes).toBe(0);
    expect(c.compute_insns).toBe(2);
  });

  // Every memory type, with all four pads: rows are contiguous in SRAM with pitch xtotal.
  const TYPES = [
    { t: MEM_TYPE.UOP, name: 'UOP', buf: 'uopBytes', sram: 4, dram: 4 },
    { t: MEM_TYPE.WGT, name: 'WGT', buf: 'wgtBytes', sram: 256, dram: 256 },
    { t: MEM_TYPE.INP, name: 'INP', buf: 'inpBytes', sram: 16, dram: 16 },
    { t: MEM_TYPE.ACC, name: 'ACC', buf: 'accBytes', sram: 64, dram: 64 },
    { t: MEM_TYPE.ACC_8BIT, name: 'ACC_8BIT', buf: 'accBytes', sram: 64, dram: 16 },
  ] as const;
  for (const { t, name, buf, sram: E, dram: D } of TYPES) {
    it(`pads ${name} with zeros on all four sides and leaves the rest of SRAM alone`, () => {
      const src = randomBytes(D * 32, t + 1);
      r.put(DATA, src);
      const sramBytes = r.machine[buf];
      sramBytes.fill(0x5a);
      const [base, ySize, xSize, stride, y0, y1, x0, x1] = [3, 2, 2, 5, 1, 2, 1, 3];
      r.run([load(t, { sram_base: base, dram_base: DATA / D + 1, y_size: ySize, x_size: xSize, x_stride: stride, y_pad_0: y0, y_pad_1: y1, x_pad_0: x0, x_pad_1: x1 }), finishInsn()]);
      const xt = x0 + xSize + x1;
      const yt = y0 + ySize + y1;
      const expected = new Uint8Array(sramBytes.length).fill(0x5a);
      for (let row = 0; row < yt; row++) {
        for (let col = 0; col < xt; col++) {
          const at = (base + row * xt + col) * E;
          const y = row - y0;
          const x = col - x0;
          const isData = y >= 0 && y < ySize && x >= 0 && x < xSize;
          const elem = 1 + y * stride + x;
          for (let b = 0; b < E; b++) {
            if (!isData) expected[at + b] = 0;
            else if (t === MEM_TYPE.ACC_8BIT) expected[at + b] = (b & 3) === 0 ? src[elem * D + (b >> 2)]! : src[elem * D + (b >> 2)]! & 0x80 ? 0xff : 0;
            else expected[at + b] = src[elem * D + b]!;
          }
        }
      }
      expect(Buffer.from(sramBytes).equals(Buffer.from(expected))).toBe(true);
    });
  }

  it('y_size = 0 writes only pad rows; x_size = 0 writes nothing even with pads', () => {
    r.machine.inpBytes.fill(0x11);
    r.run([load(MEM_TYPE.INP, { sram_base: 2, dram_base: DATA / 16, y_size: 0, x_size: 2, x_stride: 2, y_pad_0: 1, y_pad_1: 1, x_pad_0: 1 }), finishInsn()]);
    // 2 pad rows of pitch 3 tiles = 6 zero tiles from tile 2.
    expect(r.machine.inpBytes.subarray(0, 32).every((b) => b === 0x11)).toBe(true);
    expect(r.machine.inpBytes.subarray(32, 128).every((b) => b === 0)).toBe(true);
    expect(r.machine.inpBytes[128]).toBe(0x11);
    r.machine.inpBytes.fill(0x11);
    const c = r.run([load(MEM_TYPE.INP, { sram_base: 2, dram_base: 0, y_size: 3, x_size: 0, y_pad_0: 2, x_pad_1: 2 }), finishInsn()]);
    expect(r.machine.inpBytes.every((b) => b === 0x11)).toBe(true);
    expect(c.inp_load_nbytes).toBe(0);
  });
});

describe('GEMM and STORE', () => {
  it('reset_reg zeroes the addressed tiles only, without reading inp or wgt', () => {
    r.machine.acc.fill(-9);
    r.putUops(UOPS, [{ dst_idx: 1, src_idx: 2047, wgt_idx: 1023 }]);
    const c = r.run([
      load(MEM_TYPE.UOP, { dram_base: UOPS / 4, x_size: 1, x_stride: 1 }),
      gemmInsn({ reset_reg: 1, uop_bgn: 0, uop_end: 1, iter_out: 2, iter_in: 2, dst_factor_out: 4, dst_factor_in: 1, src_factor_out: 100, wgt_factor_in: 100 }),
      finishInsn(),
    ]);
    const zeroed = [1, 2, 5, 6];
    for (let t = 0; t < 8; t++) expect(tile(t), `tile ${t}`).toEqual(new Array(LANES).fill(zeroed.includes(t) ? 0 : -9));
    expect(c.gemm_reset_counter).toBe(4);
    expect(c.gemm_counter).toBe(0);
  });

  it('accumulates int8 x int8 dot products with int32 wrap-around', () => {
    r.machine.acc.fill(0x7fffffff);
    r.machine.inp.fill(-128);
    r.machine.wgt.fill(-128);
    r.putUops(UOPS, [{ dst_idx: 0, src_idx: 0, wgt_idx: 0 }]);
    r.run([load(MEM_TYPE.UOP, { dram_base: UOPS / 4, x_size: 1, x_stride: 1 }), gemmInsn({ uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: 3 }), finishInsn()]);
    expect(tile(0)).toEqual(new Array(LANES).fill(i32(0x7fffffffn + 3n * 16n * 16384n)));
  });

  it('zero loop counts and empty uop ranges do nothing, even with indices that would be out of range', () => {
    r.machine.acc.fill(5);
    r.putUops(UOPS, [{ dst_idx: 2047, src_idx: 2047, wgt_idx: 1023 }]);
    const c = r.run([
      load(MEM_TYPE.UOP, { dram_base: UOPS / 4, x_size: 1, x_stride: 1 }),
      gemmInsn({ uop_bgn: 0, uop_end: 1, iter_out: 0, iter_in: 5, dst_factor_in: 100 }),
      gemmInsn({ uop_bgn: 0, uop_end: 1, iter_out: 5, iter_in: 0, dst_factor_in: 100 }),
      gemmInsn({ uop_bgn: 1, uop_end: 1, iter_out: 5, iter_in: 5 }),
      gemmInsn({ uop_bgn: 3, uop_end: 1, iter_out: 5, iter_in: 5 }),
      aluInsn({ alu_opcode: ALU_OP.ADD, uop_bgn: 0, uop_end: 1, iter_out: 0, iter_in: 1, dst_factor_out: 9 }),
      finishInsn(),
    ]);
    expect(r.machine.acc.every((v) => v === 5)).toBe(true);
    expect(c.gemm_counter + c.alu_counter + c.gemm_reset_counter).toBe(0);
    expect(c.compute_insns).toBe(7);
  });

  it('STORE writes the low 8 bits of each ACC lane, rows contiguous in SRAM and strided in DRAM', () => {
    const vals = Array.from({ length: 4 * LANES }, (_, i) => [0x1ff, -1, 128, -129, 0x12345678, i][i % 6]!);
    const OUT = 0x30000;
    r.put(OUT, new Uint8Array(16 * 8).fill(0xee));
    const c = r.run([
      accFrom(vals, 0),
      memInsn({ opcode: OPCODE.STORE, memory_type: MEM_TYPE.OUT, sram_base: 0, dram_base: OUT / 16, y_size: 2, x_size: 2, x_stride: 3 }),
      finishInsn(),
    ].map((insn, i) => (i === 0 ? { ...insn, push_next: 1 } : i === 1 ? { ...insn, pop_prev: 1, push_prev: 1 } : { ...insn, pop_next: 1 })));
    const got = r.get(OUT, 16 * 8);
    const lo8 = (v: number) => ((v % 256) + 256) % 256;
    for (const [dramTile, sramTile] of [[0, 0], [1, 1], [3, 2], [4, 3]] as const) {
      expect(Array.from(got.subarray(dramTile * 16, dramTile * 16 + 16))).toEqual(vals.slice(sramTile * 16, sramTile * 16 + 16).map(lo8));
    }
    expect(got.subarray(32, 48).every((b) => b === 0xee)).toBe(true);
    expect(c.out_store_nbytes).toBe(64);
  });
});

describe('counters', () => {
  it('count instructions per stage, DMA bytes without padding, uop-iterations per kind', () => {
    r.putUops(UOPS, [0, 1, 2, 3].map((i) => ({ dst_idx: i, src_idx: i, wgt_idx: i })));
    const c = r.run([
      load(MEM_TYPE.INP, { dram_base: DATA / 16, y_size: 3, x_size: 2, x_stride: 2, x_pad_0: 1 }),
      load(MEM_TYPE.WGT, { dram_base: DATA / 256, y_size: 1, x_size: 4, x_stride: 4, push_next: 1 }),
      load(MEM_TYPE.UOP, { dram_base: UOPS / 4, y_size: 1, x_size: 4, x_stride: 4, y_pad_1: 1 }),
      gemmInsn({ reset_reg: 1, uop_bgn: 0, uop_end: 2, iter_out: 2, iter_in: 1, dst_factor_out: 2 }),
      gemmInsn({ pop_prev: 1, uop_bgn: 0, uop_end: 4, iter_out: 3, iter_in: 2, dst_factor_out: 4, dst_factor_in: 1 }),
      aluInsn({ alu_opcode: ALU_OP.MAX, use_imm: 1, uop_bgn: 1, uop_end: 2, iter_out: 1, iter_in: 5, dst_factor_in: 1, push_next: 1 }),
      memInsn({ opcode: OPCODE.STORE, memory_type: MEM_TYPE.OUT, dram_base: DATA / 16, y_size: 2, x_size: 4, x_stride: 4, pop_prev: 1, push_prev: 1 }),
      finishInsn({ pop_next: 1 }),
    ]);
    expect(c).toEqual({
      load_insns: 2,
      compute_insns: 5,
      store_insns: 1,
      uop_load_nbytes: 16,
      inp_load_nbytes: 96,
      wgt_load_nbytes: 1024,
      acc_load_nbytes: 0,
      acc8_load_nbytes: 0,
      out_store_nbytes: 128,
      gemm_counter: 24,
      gemm_reset_counter: 4,
      alu_counter: 5,
    });
  });
});

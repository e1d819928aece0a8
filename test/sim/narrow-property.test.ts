/**
 * Property: a GEMM/ALU program on the int4 config computes exactly what the same program computes
 * on the default 8-bit config when every input and weight lies in the 4-bit range. Only the DRAM
 * images differ (packed nibbles against bytes); the accumulators must be identical, with both
 * kernel sets, and the int4 STORE must hold the low nibble of each of those accumulators.
 */
import { describe, expect, it } from 'vitest';
import { type VtaConfig, defaultVtaConfig, loadConfig } from '../../config/config.ts';
import { packSigned, signedRange } from '../../isa/elements.ts';
import { ALU_OP, MEM_TYPE, OPCODE, type Insn, type MemInsn, type Uop, aluInsn, encodeProgram, encodeUop, finishInsn, gemmInsn, memInsn } from '../../isa/index.ts';
import { mulberry32 } from '../../lib/random.ts';
import { DeviceMemory } from '../../sim/memory.ts';
import type { KernelChoice } from '../../sim/kernels.ts';
import { Machine, simulate } from '../../sim/index.ts';

const int4 = loadConfig(new URL('../../config/int4.json', import.meta.url).pathname);
const int8 = defaultVtaConfig();
const INSN = 0x1000;
const UOPS = 0x8000;
const INP = 0x10000;
const WGT = 0x20000;
const OUT = 0x80000;
const INP_TILES = 24;
const WGT_TILES = 8;
const ACC_TILES = 16;

interface Case {
  inp: number[];
  wgt: number[];
  uops: Uop[];
  program: Insn[];
}

function randomCase(seed: number): Case {
  const rand = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const { min, max } = signedRange(4);
  const inp = Array.from({ length: INP_TILES * 16 }, () => int(min, max));
  const wgt = Array.from({ length: WGT_TILES * 256 }, () => int(min, max));
  const nUops = int(1, 4);
  // Uop 0 is all zeros, for the reset of ACC tiles [0, ACC_TILES); the nest uses uops 1..nUops.
  const uops = [{ dst_idx: 0, src_idx: 0, wgt_idx: 0 }, ...Array.from({ length: nUops }, () => ({ dst_idx: int(0, 3), src_idx: int(0, 7), wgt_idx: int(0, 3) }))];
  // Loop factors small enough that every index stays inside the loaded tiles.
  const nest = { iter_out: int(1, 3), iter_in: int(1, 3), dst_factor_out: int(0, 4), dst_factor_in: int(0, 2), src_factor_out: int(0, 5), src_factor_in: int(0, 2), wgt_factor_out: int(0, 1), wgt_factor_in: int(0, 1) };
  const mem = (opcode: MemInsn['opcode'], memory_type: number, dram_base: number, tiles: number, extra: Partial<MemInsn> = {}) =>
    memInsn({ opcode, memory_type, dram_base, y_size: 1, x_size: tiles, x_stride: tiles, ...extra });
  const program: Insn[] = [
    mem(OPCODE.LOAD, MEM_TYPE.INP, 0, INP_TILES),
    mem(OPCODE.LOAD, MEM_TYPE.WGT, 0, WGT_TILES, { push_next: 1 }),
    mem(OPCODE.LOAD, MEM_TYPE.UOP, UOPS / 4, nUops + 1),
    gemmInsn({ reset_reg: 1, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: ACC_TILES, dst_factor_in: 1 }),
    gemmInsn({ pop_prev: 1, uop_bgn: 1, uop_end: nUops + 1, ...nest }),
    // A shift and an immediate add on the sums, as a requantizing epilogue would.
    aluInsn({ alu_opcode: ALU_OP.SHR, use_imm: 1, imm: int(0, 3), uop_bgn: 1, uop_end: nUops + 1, iter_out: 1, iter_in: 1 }),
    aluInsn({ alu_opcode: ALU_OP.ADD, use_imm: 1, imm: int(-20, 20), uop_bgn: 1, uop_end: nUops + 1, iter_out: 1, iter_in: 1, push_next: 1 }),
    mem(OPCODE.STORE, MEM_TYPE.OUT, 0, ACC_TILES, { pop_prev: 1, push_prev: 1 }),
    finishInsn({ pop_next: 1 }),
  ];
  return { inp, wgt, uops, program };
}

/** Run the case on `cfg`: INP/WGT written packed at the config's width, DRAM bases in its tile units. */
function runCase(cfg: VtaConfig, c: Case, kernels: KernelChoice): { acc: Int32Array; out: Uint8Array } {
  const memory = new DeviceMemory();
  memory.allocAt(INSN, 1 << 20);
  memory.write(INP, packSigned(c.inp, cfg.inpWidth));
  memory.write(WGT, packSigned(c.wgt, cfg.wgtWidth));
  memory.write(UOPS, new Uint8Array(Uint32Array.from(c.uops.map((u) => encodeUop(cfg, u))).buffer));
  const bases: Record<number, number> = { [MEM_TYPE.INP]: INP / cfg.inpElemBytes, [MEM_TYPE.WGT]: WGT / cfg.wgtElemBytes, [MEM_TYPE.OUT]: OUT / cfg.outElemBytes };
  const program = c.program.map((i) => (i.opcode === OPCODE.LOAD || i.opcode === OPCODE.STORE) && i.memory_type in bases ? { ...i, dram_base: bases[i.memory_type]! } : i);
  memory.write(INSN, encodeProgram(cfg, program));
  const machine = new Machine(cfg, kernels);
  simulate(cfg, memory, INSN, program.length, { machine });
  return { acc: machine.acc.slice(0, ACC_TILES * 16), out: memory.read(OUT, ACC_TILES * cfg.outElemBytes) };
}

describe('int4 GEMM = 8-bit GEMM on values in the 4-bit range', () => {
  for (let seed = 1; seed <= 12; seed++) {
    it(`random program, seed ${seed}`, () => {
      const c = randomCase(seed);
      const wide = runCase(int8, c, 'auto');
      expect(wide.acc.some((v) => v !== 0)).toBe(true);
      for (const kernels of ['auto', 'js'] as const) {
        const narrow = runCase(int4, c, kernels);
        expect(Array.from(narrow.acc), kernels).toEqual(Array.from(wide.acc));
        // Low nibbles of the 8-bit run's stored bytes, paired two per byte.
        const nibbles = Array.from(wide.out, (b) => b & 15);
        expect(Array.from(narrow.out), kernels).toEqual(Array.from({ length: narrow.out.length }, (_, k) => nibbles[2 * k]! | (nibbles[2 * k + 1]! << 4)));
      }
    });
  }
});

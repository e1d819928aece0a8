/**
 * 2- and 4-bit INP/WGT/OUT on the RTL against expectations computed here, not by a simulator:
 * packed INP rows that start anywhere in a bus beat (at 2 bits an INP tile is half a beat), packed
 * WGT tiles, a GEMM over sign-extended lanes, and a strided STORE that narrows each accumulator to
 * its low bits and packs them (isa/elements.ts), leaving the bytes around its rows untouched
 * (write strobes). fsim runs the same program and must agree.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, type VtaConfig } from '../../config/config.ts';
import type { Driver } from '../../drivers/api.ts';
import fsim from '../../drivers/backends/fsim.ts';
import tsim, { addonPath } from '../../drivers/backends/tsim.ts';
import { packSigned, signedRange } from '../../isa/elements.ts';
import { MEM_TYPE, NO_DEPS, OPCODE, encodeInsn, encodeUop, memElemBytes, type Insn, type MemInsn } from '../../isa/index.ts';
import { rng } from './random-program.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const INP_TILES = 3;
const WGT_TILES = 2;
/** The STORE: two rows of three accumulator tiles, DRAM rows five tiles apart, from tile 1. */
const OUT_ROWS = 2;
const OUT_COLS = 3;
const OUT_STRIDE = 5;
const SENTINEL = 0xa5;
const AREA = 0x1000;
const OFF = { insn: 0, uop: AREA, inp: 2 * AREA, wgt: 3 * AREA, out: 5 * AREA };

const mem = (opcode: 0 | 1, type: number, f: Partial<MemInsn>): MemInsn => ({
  ...NO_DEPS, opcode, memory_type: type, sram_base: 0, dram_base: 0, y_size: 1, x_size: 1, x_stride: 1,
  y_pad_0: 0, y_pad_1: 0, x_pad_0: 0, x_pad_1: 0, ...f,
});

interface Case {
  image: Uint8Array;
  insns: Insn[];
  /** The output area's expected bytes. */
  want: Uint8Array;
}

/** Random narrow operands (the range's ends included), the program and the expected output bytes. */
function buildCase(cfg: VtaConfig, phys: number, seed: number): Case {
  const r = rng(seed);
  const { min, max } = signedRange(cfg.inpWidth);
  const wr = signedRange(cfg.wgtWidth);
  const lanesIn = cfg.batch * cfg.blockIn;
  const inp = Array.from({ length: INP_TILES }, () => Array.from({ length: lanesIn }, (_, k) => (k === 0 ? min : k === 1 ? max : r.int(min, max))));
  const wgt = Array.from({ length: WGT_TILES }, () =>
    Array.from({ length: cfg.blockOut * cfg.blockIn }, (_, k) => (k === 0 ? wr.min : r.int(wr.min, wr.max))),
  );
  const image = new Uint8Array(6 * AREA).fill(SENTINEL, OFF.out);
  // INP tile i at DRAM tile 1 + 3i: rows start at varying offsets within a beat.
  inp.forEach((t, i) => packSigned(t, cfg.inpWidth, image, OFF.inp + (1 + 3 * i) * cfg.inpElemBytes));
  wgt.forEach((t, o) => packSigned(t, cfg.wgtWidth, image, OFF.wgt + o * cfg.wgtElemBytes));
  // Uop (i, o) writes ACC tile i·WGT_TILES + o from INP tile i and WGT tile o.
  const uops = new DataView(image.buffer, OFF.uop, AREA);
  for (let i = 0; i < INP_TILES; i++) {
    for (let o = 0; o < WGT_TILES; o++) {
      const n = i * WGT_TILES + o;
      uops.setUint32(4 * n, encodeUop(cfg, { dst_idx: n, src_idx: i, wgt_idx: o }), true);
    }
  }
  // acc[n][b·BLOCK_OUT + oc] = Σ_c inp[i][b·BLOCK_IN + c] · wgt[o][oc·BLOCK_IN + c]
  const acc: number[][] = [];
  for (let i = 0; i < INP_TILES; i++) {
    for (let o = 0; o < WGT_TILES; o++) {
      const lanes: number[] = [];
      for (let b = 0; b < cfg.batch; b++) {
        for (let oc = 0; oc < cfg.blockOut; oc++) {
          let s = 0;
          for (let c = 0; c < cfg.blockIn; c++) s += inp[i]![b * cfg.blockIn + c]! * wgt[o]![oc * cfg.blockIn + c]!;
          lanes.push(s);
        }
      }
      acc.push(lanes);
    }
  }
  const want = image.slice(OFF.out, 6 * AREA);
  for (let y = 0; y < OUT_ROWS; y++) {
    for (let x = 0; x < OUT_COLS; x++) {
      packSigned(acc[y * OUT_COLS + x]!, cfg.outWidth, want, (1 + y * OUT_STRIDE + x) * cfg.outElemBytes);
    }
  }
  const tile = (type: number, off: number) => (phys + off) / memElemBytes(cfg, type);
  const nUops = INP_TILES * WGT_TILES;
  const gemm = (reset: 0 | 1): Insn => ({
    ...NO_DEPS, opcode: OPCODE.GEMM, reset_reg: reset, uop_bgn: 0, uop_end: nUops, iter_out: 1, iter_in: 1,
    dst_factor_out: 0, dst_factor_in: 0, src_factor_out: 0, src_factor_in: 0, wgt_factor_out: 0, wgt_factor_in: 0,
  });
  const insns: Insn[] = [
    mem(OPCODE.LOAD, MEM_TYPE.INP, { dram_base: tile(MEM_TYPE.INP, OFF.inp) + 1, y_size: INP_TILES, x_size: 1, x_stride: 3 }),
    mem(OPCODE.LOAD, MEM_TYPE.WGT, { dram_base: tile(MEM_TYPE.WGT, OFF.wgt), x_size: WGT_TILES, x_stride: WGT_TILES, push_next: 1 }),
    mem(OPCODE.LOAD, MEM_TYPE.UOP, { dram_base: tile(MEM_TYPE.UOP, OFF.uop), x_size: nUops, x_stride: nUops, pop_prev: 1 }),
    gemm(1),
    { ...gemm(0), push_next: 1 },
    mem(OPCODE.STORE, MEM_TYPE.OUT, {
      dram_base: tile(MEM_TYPE.OUT, OFF.out) + 1, y_size: OUT_ROWS, x_size: OUT_COLS, x_stride: OUT_STRIDE, pop_prev: 1, push_prev: 1,
    }),
    mem(OPCODE.LOAD, MEM_TYPE.UOP, { x_size: 0, pop_next: 1 }),
    { ...NO_DEPS, opcode: OPCODE.FINISH },
  ];
  insns.forEach((insn, k) => encodeInsn(cfg, insn, image, OFF.insn + 16 * k));
  return { image, insns, want };
}

async function runCase(d: Driver, cfg: VtaConfig, seed: number): Promise<{ got: Uint8Array; want: Uint8Array }> {
  const buf = d.memAlloc(6 * AREA);
  try {
    const c = buildCase(cfg, buf.phys, seed);
    d.copyFromHost(buf, c.image);
    await d.run(buf.phys + OFF.insn, c.insns.length);
    const got = new Uint8Array(c.want.length);
    d.copyToHost(got, buf, OFF.out);
    return { got, want: c.want };
  } finally {
    d.memFree(buf);
  }
}

for (const path of ['config/int4.json', 'config/int2.json']) {
  const cfg = loadConfig(join(ROOT, path));
  describe.skipIf(!existsSync(addonPath(cfg)))(`${cfg.inpWidth}-bit tiles on tsim (${cfg.bitstream})`, () => {
    it('LOAD, GEMM and a strided STORE give the packed, narrowed products and keep the bytes around', async () => {
      for (const driver of [tsim, fsim]) {
        const d = await driver.open(cfg);
        try {
          for (const seed of [1, 2, 3]) {
            const { got, want } = await runCase(d, cfg, seed);
            const firstDiff = want.findIndex((v, k) => got[k] !== v);
            expect(firstDiff, `${driver.name} seed ${seed}: output byte ${firstDiff}`).toBe(-1);
          }
        } finally {
          d.close();
        }
      }
    });
  });
}

/**
 * fsim on 4- and 2-bit configs (config/int4.json, config/int2.json): LOAD unpacks packed DRAM
 * tiles, STORE narrows and packs, DRAM bounds use the packed tile size. Expected bytes and values
 * are worked out by hand in the comments, not produced by the packing code under test.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/config.ts';
import { MEM_TYPE, OPCODE, finishInsn, gemmInsn, memInsn, type MemInsn } from '../../isa/index.ts';
import { RaceChecker } from '../../sim/race-checker.ts';
import { rig } from './harness.ts';

const int4 = loadConfig(new URL('../../config/int4.json', import.meta.url).pathname);
const int2 = loadConfig(new URL('../../config/int2.json', import.meta.url).pathname);
const DATA = 0x20000;
const OUT = 0x40000;
const UOPS = 0x10000;

const load = (memory_type: number, p: Partial<MemInsn>): MemInsn => memInsn({ opcode: OPCODE.LOAD, memory_type, y_size: 1, x_size: 1, x_stride: 1, ...p });
const store = (p: Partial<MemInsn>): MemInsn => memInsn({ opcode: OPCODE.STORE, memory_type: MEM_TYPE.OUT, y_size: 1, x_size: 1, x_stride: 1, ...p });

// Bytes 0x21 0x43 ... : value 2k in the low nibble of byte k, value 2k+1 in the high nibble.
const INT4_TILE = [0x21, 0x43, 0x65, 0x87, 0xa9, 0xcb, 0xed, 0x0f];
const INT4_VALUES = [1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1, 0];
// 0xe4 = 0b11_10_01_00: values 0, 1, -2, -1 from the low bits up; 0x1b = 0b00_01_10_11.
const INT2_TILE = [0xe4, 0x1b, 0x00, 0xff];
const INT2_VALUES = [0, 1, -2, -1, -1, -2, 1, 0, 0, 0, 0, 0, -1, -1, -1, -1];
// Accumulator lanes, most outside the 4- and 2-bit ranges.
const LANES = [0, 1, 7, 8, -1, -8, -9, 15, 16, 17, 100, -100, 127, -128, 0x7fffffff, -0x80000000];

describe('fsim LOAD of packed INP/WGT', () => {
  it('int4: unpacks an INP tile of 8 bytes, sign-extending every nibble', () => {
    const r = rig(int4);
    r.put(DATA, Uint8Array.from(INT4_TILE));
    const c = r.run([load(MEM_TYPE.INP, { sram_base: 3, dram_base: DATA / 8 }), finishInsn()]);
    expect(Array.from(r.machine.inp.subarray(3 * 16, 4 * 16))).toEqual(INT4_VALUES);
    expect(c.inp_load_nbytes).toBe(8);
  });

  it('int2: unpacks an INP tile of 4 bytes', () => {
    const r = rig(int2);
    r.put(DATA, Uint8Array.from(INT2_TILE));
    const c = r.run([load(MEM_TYPE.INP, { sram_base: 1, dram_base: DATA / 4 }), finishInsn()]);
    expect(Array.from(r.machine.inp.subarray(16, 32))).toEqual(INT2_VALUES);
    expect(c.inp_load_nbytes).toBe(4);
  });

  it('int4: a WGT tile is 16 rows of 8 bytes, row o of the tile = output channel o', () => {
    const r = rig(int4);
    // Row o: every byte 0xv v with v = o - 8 as a nibble, so all 16 weights of row o are o - 8.
    const tile = new Uint8Array(128);
    for (let o = 0; o < 16; o++) tile.fill(((o - 8) & 15) * 0x11, o * 8, o * 8 + 8);
    r.put(DATA + 128, tile);
    r.run([load(MEM_TYPE.WGT, { sram_base: 2, dram_base: DATA / 128 + 1 }), finishInsn()]);
    for (let o = 0; o < 16; o++) expect(Array.from(r.machine.wgt.subarray(2 * 256 + o * 16, 2 * 256 + o * 16 + 16))).toEqual(new Array(16).fill(o - 8));
  });

  it('int4: strided rows with all four pads; pads are zero, the DRAM stride counts 8-byte tiles', () => {
    const r = rig(int4);
    // Tiles 0..5 in DRAM: tile t has every nibble = t + 1 (bytes 0x11, 0x22, ...).
    for (let t = 0; t < 6; t++) r.put(DATA + t * 8, new Uint8Array(8).fill((t + 1) * 0x11));
    r.machine.inp.fill(99);
    // Two rows of one tile, stride 3: DRAM tiles 0 and 3. SRAM rows of 1 + 1 + 1 tiles, one pad row on top.
    r.run([load(MEM_TYPE.INP, { sram_base: 0, dram_base: DATA / 8, y_size: 2, x_size: 1, x_stride: 3, y_pad_0: 1, x_pad_0: 1, x_pad_1: 1 }), finishInsn()]);
    const tiles = Array.from({ length: 10 }, (_, t) => r.machine.inp[t * 16 + 5]);
    expect(tiles).toEqual([0, 0, 0, 0, 1, 0, 0, 4, 0, 99]);
    expect(Array.from(r.machine.inp.subarray(4 * 16, 5 * 16))).toEqual(new Array(16).fill(1));
  });

  it('int4: a DRAM range is checked with the packed tile size', () => {
    const r = rig(int4); // one allocation [0x1000, 0x101000)
    expect(() => r.run([load(MEM_TYPE.INP, { dram_base: 0x101000 / 8 - 1 }), finishInsn()])).not.toThrow();
    expect(() => r.run([load(MEM_TYPE.INP, { dram_base: 0x101000 / 8 }), finishInsn()])).toThrow(
      'insn #0 (load.inp sram_base=0 dram_base=0x20200 y_size=1 x_size=1 x_stride=1): DRAM range [0x101000, 0x101008) is outside allocated device memory',
    );
  });
});

describe('fsim STORE narrows to the OUT width', () => {
  it('int4: keeps the low 4 bits of every lane and packs two per byte', () => {
    const r = rig(int4);
    r.machine.acc.set(LANES, 16 * 2);
    r.put(OUT, new Uint8Array(16).fill(0xaa));
    const c = r.run([store({ sram_base: 2, dram_base: OUT / 8, push_prev: 1 }), finishInsn({ pop_next: 1 })]);
    // Low nibbles: 0,1 | 7,8 | f,8 | 7,f | 0,1 | 4,c | f,0 | f,0 (-9 = ..f7, 100 = 0x64, -100 = ..9c).
    expect(Array.from(r.get(OUT, 16))).toEqual([0x10, 0x87, 0x8f, 0xf7, 0x10, 0xc4, 0x0f, 0x0f, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
    expect(c.out_store_nbytes).toBe(8);
  });

  it('int2: keeps the low 2 bits of every lane and packs four per byte, strided rows', () => {
    const r = rig(int2);
    r.machine.acc.set(LANES, 0);
    r.machine.acc.set(LANES.map((v) => v + 1), 16);
    r.run([store({ dram_base: OUT / 4, y_size: 2, x_size: 1, x_stride: 2, push_prev: 1 }), finishInsn({ pop_next: 1 })]);
    // Row 0, low 2 bits: 0,1,3,0 | 3,0,3,3 | 0,1,0,0 | 3,0,3,0.
    expect(Array.from(r.get(OUT, 4))).toEqual([0x34, 0xf3, 0x04, 0x33]);
    // Row 1 (lanes + 1) at tile 2 = byte 8: 1,2,0,1 | 0,1,0,0 | 1,2,1,1 | 0,1,0,1.
    expect(Array.from(r.get(OUT + 4, 8))).toEqual([0, 0, 0, 0, 0x49, 0x04, 0x59, 0x44]);
  });
});

describe('fsim GEMM on int4', () => {
  it('multiplies the sign-extended values and accumulates in 32 bits; STORE narrows the sums', () => {
    const r = rig(int4);
    r.put(DATA, Uint8Array.from(INT4_TILE));
    const wgt = new Uint8Array(128);
    for (let o = 0; o < 16; o++) wgt.fill(((o - 8) & 15) * 0x11, o * 8, o * 8 + 8);
    r.put(DATA + 0x1000, wgt);
    r.putUops(UOPS, [{ dst_idx: 0, src_idx: 0, wgt_idx: 0 }]);
    r.machine.acc.fill(1000);
    r.run([
      load(MEM_TYPE.INP, { dram_base: DATA / 8 }),
      load(MEM_TYPE.WGT, { dram_base: (DATA + 0x1000) / 128, push_next: 1 }),
      load(MEM_TYPE.UOP, { dram_base: UOPS / 4 }),
      gemmInsn({ pop_prev: 1, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: 3, push_next: 1 }),
      store({ dram_base: OUT / 8, pop_prev: 1, push_prev: 1 }),
      finishInsn({ pop_next: 1 }),
    ]);
    // The INP values sum to (1+...+7) - (1+...+8) = -8; each of the 3 iterations adds -8·(o-8) to lane o.
    const expected = Array.from({ length: 16 }, (_, o) => 1000 + 3 * -8 * (o - 8));
    expect(Array.from(r.machine.acc.subarray(0, 16))).toEqual(expected);
    expect(expected[0]).toBe(1192);
    // 1000 + 24·(8 - o): low nibble 8 for even o (1192 = 0x4a8), 0 for odd o (1168 = 0x490).
    expect(Array.from(r.get(OUT, 8))).toEqual(new Array(8).fill(0x08));
  });
});

describe('the race checker on int4', () => {
  it('flags a GEMM that reads INP tiles a LOAD writes without a token between them, and not once the token is there', () => {
    const program = (synced: 0 | 1) => [
      load(MEM_TYPE.INP, { dram_base: DATA / 8, x_size: 2, x_stride: 2, push_next: synced }),
      load(MEM_TYPE.UOP, { dram_base: UOPS / 4 }),
      gemmInsn({ pop_prev: synced, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: 1 }),
      finishInsn(),
    ];
    for (const synced of [0, 1] as const) {
      const r = rig(int4);
      r.putUops(UOPS, [{ dst_idx: 0, src_idx: 1, wgt_idx: 0 }]);
      const checker = new RaceChecker(int4);
      r.run(program(synced), { observer: checker });
      if (synced) expect(checker.report()).toEqual([]);
      else expect(checker.report()[0]).toMatch(/^RAW race on inp\[1\]: insn 0 \(load: load\.inp .*\) and insn 2 \(compute: gemm .*\) are not ordered/);
    }
  });
});

/**
 * A non-default config (config/b2x8.json: BATCH 2, BLOCK 8) running a hand-built GEMM with a
 * two-level loop nest and several uops, checked against a plain reference computed here.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/config.ts';
import type { VtaConfig } from '../../config/config.ts';
import { MEM_TYPE, OPCODE, type Uop, finishInsn, gemmInsn, memInsn } from '../../isa/index.ts';
import { randomBytes, rig } from './harness.ts';

const DATA_INP = 0x20000;
const DATA_WGT = 0x40000;
const UOPS = 0x10000;
const OUT = 0x80000;

interface Nest {
  iterOut: number;
  iterIn: number;
  dst: [number, number];
  src: [number, number];
  wgt: [number, number];
}

/** ACC after the GEMM, by the book: int8 products summed in BigInt, wrapped to int32 per uop. */
function reference(cfg: VtaConfig, acc: Int32Array, inp: Int8Array, wgt: Int8Array, uops: Uop[], n: Nest): Int32Array {
  const out = acc.slice();
  const B = cfg.batch;
  const BI = cfg.blockIn;
  const BO = cfg.blockOut;
  for (let i = 0; i < n.iterOut; i++) {
    for (let j = 0; j < n.iterIn; j++) {
      for (const u of uops) {
        const a = u.dst_idx + i * n.dst[0] + j * n.dst[1];
        const x = u.src_idx + i * n.src[0] + j * n.src[1];
        const w = u.wgt_idx + i * n.wgt[0] + j * n.wgt[1];
        for (let b = 0; b < B; b++) {
          for (let o = 0; o < BO; o++) {
            let sum = 0n;
            for (let c = 0; c < BI; c++) sum += BigInt(inp[x * B * BI + b * BI + c]!) * BigInt(wgt[w * BO * BI + o * BI + c]!);
            const at = a * B * BO + b * BO + o;
            out[at] = Number(BigInt.asIntN(32, BigInt(out[at]!) + sum));
          }
        }
      }
    }
  }
  return out;
}

describe('config b2x8 (BATCH 2, BLOCK_IN = BLOCK_OUT = 8)', () => {
  const cfg = loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname);

  it('has the tile sizes the test relies on', () => {
    expect([cfg.batch, cfg.blockIn, cfg.blockOut, cfg.inpElemBytes, cfg.wgtElemBytes, cfg.accElemBytes]).toEqual([2, 8, 8, 16, 64, 64]);
  });

  it('runs a loaded, reset, accumulated and stored GEMM exactly like the reference', () => {
    const r = rig(cfg);
    const inpTiles = 24;
    const wgtTiles = 12;
    r.put(DATA_INP, randomBytes(inpTiles * cfg.inpElemBytes, 7));
    r.put(DATA_WGT, randomBytes(wgtTiles * cfg.wgtElemBytes, 11));
    const uops: Uop[] = [
      { dst_idx: 0, src_idx: 0, wgt_idx: 0 },
      { dst_idx: 1, src_idx: 1, wgt_idx: 3 },
      { dst_idx: 2, src_idx: 5, wgt_idx: 1 },
    ];
    r.putUops(UOPS, uops);
    const nest: Nest = { iterOut: 3, iterIn: 2, dst: [4, 1], src: [6, 2], wgt: [2, 1] };
    const accTiles = 12;
    const load = (memory_type: number, dram: number, elem: number, tiles: number, extra = {}) =>
      memInsn({ opcode: OPCODE.LOAD, memory_type, dram_base: dram / elem, y_size: 1, x_size: tiles, x_stride: tiles, ...extra });
    r.machine.acc.fill(0x1234567); // the reset must clear this
    const counters = r.run([
      load(MEM_TYPE.INP, DATA_INP, cfg.inpElemBytes, inpTiles),
      load(MEM_TYPE.WGT, DATA_WGT, cfg.wgtElemBytes, wgtTiles, { push_next: 1 }),
      load(MEM_TYPE.UOP, UOPS, 4, uops.length),
      // Zero ACC tiles 0..11 through uop 0 (dst 0) and dst_factor_in 1.
      gemmInsn({ reset_reg: 1, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: accTiles, dst_factor_in: 1 }),
      gemmInsn({
        pop_prev: 1,
        uop_bgn: 0,
        uop_end: 3,
        iter_out: nest.iterOut,
        iter_in: nest.iterIn,
        dst_factor_out: nest.dst[0],
        dst_factor_in: nest.dst[1],
        src_factor_out: nest.src[0],
        src_factor_in: nest.src[1],
        wgt_factor_out: nest.wgt[0],
        wgt_factor_in: nest.wgt[1],
        push_next: 1,
      }),
      memInsn({ opcode: OPCODE.STORE, memory_type: MEM_TYPE.OUT, dram_base: OUT / cfg.outElemBytes, y_size: 1, x_size: accTiles, x_stride: accTiles, pop_prev: 1, push_prev: 1 }),
      finishInsn({ pop_next: 1 }),
    ]);
    const expected = reference(cfg, new Int32Array(accTiles * 16), r.machine.inp, r.machine.wgt, uops, nest);
    expect(Array.from(r.machine.acc.subarray(0, accTiles * 16))).toEqual(Array.from(expected));
    // The reference must have done real work: most lanes non-zero, some beyond int8.
    expect(expected.filter((v) => v !== 0).length).toBeGreaterThan(150);
    expect(expected.some((v) => v > 127 || v < -128)).toBe(true);
    const stored = r.get(OUT, accTiles * cfg.outElemBytes);
    expect(Array.from(stored)).toEqual(Array.from(expected, (v) => v & 0xff));
    expect(counters.gemm_counter).toBe(3 * 2 * 3);
    expect(counters.gemm_reset_counter).toBe(accTiles);
    expect(counters.out_store_nbytes).toBe(accTiles * 16);
  });
});

/**
 * Generator of the int4 conformance set (conformance/int4/, config/int4.json): run bundles whose
 * DRAM images hold 4-bit INP/WGT/OUT packed as isa/elements.ts defines, and their expected bytes as
 * this project's fsim computes them. Deterministic: the same seeds give the same files.
 *
 *   npx tsx conformance/generate-int4.ts     (rewrites conformance/int4/*.json)
 *
 * Every program is token-synchronised in rounds (load → compute → store, each round waiting for
 * the previous one), checked race-free by the race checker, so any correct implementation, however
 * its stages overlap, must give the same bytes.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type VtaConfig, loadConfig } from '../config/config.ts';
import { BUNDLE_FORMAT, type Bundle, parseBundle, replayBundle, replayRanges, resultJson } from '../drivers/bundle.ts';
import fsim from '../drivers/backends/fsim.ts';
import { packSigned, signedRange } from '../isa/elements.ts';
import { ALU_OP, type Insn, MEM_TYPE, type MemInsn, OPCODE, type Uop, aluInsn, encodeProgram, encodeUop, finishInsn, gemmInsn, memInsn, stageOfInsn } from '../isa/index.ts';
import { mulberry32, randomBytes } from '../lib/random.ts';
import { Machine, simulate } from '../sim/index.ts';
import { DeviceMemory } from '../sim/memory.ts';
import { RaceChecker } from '../sim/race-checker.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const INT4_CONFIG_PATH = join(HERE, '..', 'config', 'int4.json');
export const INT4_KIT = join(HERE, 'int4');

/** A seeded source of integers. */
interface Rand {
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
}

function rand(seed: number): Rand {
  const next = mulberry32(seed);
  return { int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), pick: (xs) => xs[Math.floor(next() * xs.length)]! };
}

/** The DRAM image under construction: sections placed one after another, each aligned. */
class Image {
  private readonly parts: { at: number; bytes: Uint8Array }[] = [];
  private end = 0;
  constructor(readonly base: number) {}

  /** Place `bytes` at the next multiple of `align` (physical), returning the physical address. */
  place(bytes: Uint8Array, align: number): number {
    const at = Math.ceil((this.base + this.end) / align) * align;
    this.parts.push({ at: at - this.base, bytes });
    this.end = at - this.base + bytes.length;
    return at;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.end);
    for (const p of this.parts) out.set(p.bytes, p.at);
    return out;
  }
}

/** One round: loads, then compute (waiting for them), then stores (waiting for compute). */
interface Round {
  load: Insn[];
  compute: Insn[];
  store: Insn[];
}

/**
 * Set the dependency flags so that each stage's part of a round waits for the part before it and
 * every round waits for the one before: no SRAM access can race, whatever the stages' overlap.
 */
function synchronize(rounds: Round[]): Round[] {
  return rounds.map((r, i) => {
    if (r.compute.length === 0) throw new Error(`round ${i} has no compute instruction`);
    const next = rounds[i + 1];
    const prev = rounds[i - 1];
    const load = r.load.map((x) => ({ ...x }));
    const compute = r.compute.map((x) => ({ ...x }));
    const store = r.store.map((x) => ({ ...x }));
    if (load.length) {
      if (i > 0) load[0]!.pop_next = 1;
      load[load.length - 1]!.push_next = 1;
    }
    compute[0]!.pop_prev = load.length ? 1 : 0;
    compute[0]!.pop_next = prev?.store.length ? 1 : 0;
    compute[compute.length - 1]!.push_prev = next?.load.length ? 1 : 0;
    compute[compute.length - 1]!.push_next = store.length ? 1 : 0;
    if (store.length) {
      store[0]!.pop_prev = 1;
      store[store.length - 1]!.push_prev = 1;
    }
    return { load, compute, store };
  });
}

type Order = 'blocked' | 'any';

/** Program order: round by round ('blocked'), or the three stage streams merged at random ('any'). FINISH last. */
function programOrder(rounds: Round[], order: Order, r: Rand): Insn[] {
  const synced = synchronize(rounds);
  const finish = finishInsn({ pop_next: synced[synced.length - 1]!.store.length ? 1 : 0 });
  if (order === 'blocked') return [...synced.flatMap((x) => [...x.load, ...x.compute, ...x.store]), finish];
  const streams = [synced.flatMap((x) => x.load), synced.flatMap((x) => x.compute), synced.flatMap((x) => x.store)];
  for (const [s, stream] of streams.entries()) {
    if (stream.some((insn) => stageOfInsn(insn) !== s)) throw new Error('an instruction is in the wrong stage of its round');
  }
  const heads = [0, 0, 0];
  const out: Insn[] = [];
  for (;;) {
    const live = [0, 1, 2].filter((s) => heads[s]! < streams[s]!.length);
    if (live.length === 0) break;
    const s = r.pick(live);
    out.push(streams[s]![heads[s]!++]!);
  }
  return [...out, finish];
}

/** The uop whose indices are all 0: loop factors alone then address the tiles. */
const ZERO_UOP: Uop = { dst_idx: 0, src_idx: 0, wgt_idx: 0 };

const load = (memory_type: number, p: Partial<MemInsn>): MemInsn => memInsn({ opcode: OPCODE.LOAD, memory_type, y_size: 1, x_size: 1, x_stride: 1, ...p });
const store = (p: Partial<MemInsn>): MemInsn => memInsn({ opcode: OPCODE.STORE, memory_type: MEM_TYPE.OUT, y_size: 1, x_size: 1, x_stride: 1, ...p });

/** What one case builds: its image, its rounds and the DRAM regions to read back. */
interface CaseBuild {
  rounds: Round[];
  outputs: { name: string; addr: number; bytes: number }[];
}

/** The pieces every case uses, bound to one config and one image. */
class Builder {
  readonly outputs: CaseBuild['outputs'] = [];
  constructor(readonly cfg: VtaConfig, readonly image: Image, readonly r: Rand, readonly seed: number) {}

  /** Random values of `width` bits, packed. */
  randomValues(count: number, width: number): number[] {
    const { min, max } = signedRange(width);
    return Array.from({ length: count }, () => this.r.int(min, max));
  }

  /** Packed INP tiles in DRAM; returns dram_base in INP tiles. */
  inpTiles(values: number[]): number {
    return this.image.place(packSigned(values, this.cfg.inpWidth), 64) / this.cfg.inpElemBytes;
  }

  /** Packed WGT tiles (row o of a tile = output channel o); returns dram_base in WGT tiles. */
  wgtTiles(values: number[]): number {
    return this.image.place(packSigned(values, this.cfg.wgtWidth), this.cfg.wgtElemBytes) / this.cfg.wgtElemBytes;
  }

  /** int32 ACC tiles; returns dram_base in ACC tiles. */
  accTiles(values: number[]): number {
    return this.image.place(new Uint8Array(Int32Array.from(values).buffer), this.cfg.accElemBytes) / this.cfg.accElemBytes;
  }

  /** Uops; returns dram_base in uops. */
  uops(list: Uop[]): number {
    return this.image.place(new Uint8Array(Uint32Array.from(list.map((u) => encodeUop(this.cfg, u))).buffer), 4) / 4;
  }

  /** An OUT region of `tiles` tiles, pre-filled with 0xa5 so a STORE that writes too much shows; returns dram_base in OUT tiles. */
  outRegion(name: string, tiles: number): number {
    const bytes = tiles * this.cfg.outElemBytes;
    const addr = this.image.place(new Uint8Array(bytes).fill(0xa5), 64);
    this.outputs.push({ name, addr, bytes });
    return addr / this.cfg.outElemBytes;
  }

  /**
   * Read ACC tiles [0, tiles) out in full through the 4-bit STORE: plane k holds bits [4k, 4k+4)
   * of every lane (STORE, then an arithmetic SHR by 4, eight times). The plane-0 store joins `last`.
   */
  dumpAcc(last: Round, tiles: number, name = 'acc'): Round[] {
    const planes = Array.from({ length: 8 }, (_, k) => this.outRegion(`${name}${k}`, tiles));
    last.store.push(store({ dram_base: planes[0]!, x_size: tiles, x_stride: tiles }));
    const uop = this.uops([ZERO_UOP]);
    return planes.slice(1).map((plane) => ({
      load: [],
      compute: [
        load(MEM_TYPE.UOP, { dram_base: uop }),
        aluInsn({ alu_opcode: ALU_OP.SHR, use_imm: 1, imm: 4, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: tiles, dst_factor_in: 1, src_factor_in: 1 }),
      ],
      store: [store({ dram_base: plane, x_size: tiles, x_stride: tiles })],
    }));
  }
}

/** GEMM with a random loop nest over random 4-bit tiles; the full accumulators are read back. */
function gemmCase(b: Builder): Round[] {
  const { r } = b;
  const inp = b.inpTiles(b.randomValues(24 * 16, b.cfg.inpWidth));
  const wgt = b.wgtTiles(b.randomValues(8 * 256, b.cfg.wgtWidth));
  const nUops = r.int(1, 4);
  // Uop 0 is the zero uop the reset runs through; the GEMM uses uops 1..nUops.
  const uops = b.uops([ZERO_UOP, ...Array.from({ length: nUops }, () => ({ dst_idx: r.int(0, 3), src_idx: r.int(0, 7), wgt_idx: r.int(0, 3) }))]);
  const nest = { iter_out: r.int(1, 3), iter_in: r.int(1, 3), dst_factor_out: r.int(0, 4), dst_factor_in: r.int(0, 2), src_factor_out: r.int(0, 5), src_factor_in: r.int(0, 2), wgt_factor_out: r.int(0, 1), wgt_factor_in: r.int(0, 1) };
  const round: Round = {
    load: [load(MEM_TYPE.INP, { dram_base: inp, x_size: 24, x_stride: 24 }), load(MEM_TYPE.WGT, { dram_base: wgt, x_size: 8, x_stride: 8 })],
    compute: [
      load(MEM_TYPE.UOP, { dram_base: uops, x_size: nUops + 1, x_stride: nUops + 1 }),
      gemmInsn({ reset_reg: 1, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: 16, dst_factor_in: 1 }),
      gemmInsn({ uop_bgn: 1, uop_end: nUops + 1, ...nest }),
    ],
    store: [],
  };
  return [round, ...b.dumpAcc(round, 16)];
}

/** GEMM tiles [0, n) = unit rows, so ACC tile t = INP tile t through an identity weight. */
function identityWgt(b: Builder): number {
  const values = Array.from({ length: 256 }, (_, k) => (k >> 4 === (k & 15) ? 1 : 0));
  return b.wgtTiles(values);
}

/** LOAD INP with strides and all four pads (random), read back through an identity GEMM and a 4-bit STORE. */
function loadInpCase(b: Builder): Round[] {
  const { r } = b;
  const src = b.inpTiles(b.randomValues(40 * 16, b.cfg.inpWidth));
  const wgt = identityWgt(b);
  const ySize = r.int(0, 3);
  const xSize = r.int(1, 4);
  // With y_size 0 a top pad row keeps the read-back non-empty.
  const pads = { y_pad_0: r.int(ySize === 0 ? 1 : 0, 2), y_pad_1: r.int(0, 2), x_pad_0: r.int(0, 2), x_pad_1: r.int(0, 2) };
  const tiles = (pads.y_pad_0 + ySize + pads.y_pad_1) * (pads.x_pad_0 + xSize + pads.x_pad_1);
  const sramBase = r.int(0, 5);
  const uops = b.uops([{ dst_idx: 0, src_idx: sramBase, wgt_idx: 0 }]);
  const out = b.outRegion('out', tiles);
  return [
    {
      load: [load(MEM_TYPE.INP, { sram_base: sramBase, dram_base: src + r.int(0, 3), y_size: ySize, x_size: xSize, x_stride: xSize + r.int(0, 3), ...pads }), load(MEM_TYPE.WGT, { dram_base: wgt })],
      compute: [
        load(MEM_TYPE.UOP, { dram_base: uops }),
        gemmInsn({ reset_reg: 1, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: tiles, dst_factor_in: 1 }),
        gemmInsn({ uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: tiles, dst_factor_in: 1, src_factor_in: 1 }),
      ],
      store: [store({ dram_base: out, x_size: tiles, x_stride: tiles })],
    },
  ];
}

/**
 * LOAD WGT with strides and pads, read back whole: INP tile c is the unit vector e_c, so GEMM of
 * WGT tile w with it gives column c of that tile (weights are 4-bit, so the 4-bit STORE is exact).
 */
function loadWgtCase(b: Builder): Round[] {
  const { r } = b;
  const src = b.wgtTiles(b.randomValues(12 * 256, b.cfg.wgtWidth));
  const unit = b.inpTiles(Array.from({ length: 256 }, (_, k) => (k >> 4 === (k & 15) ? 1 : 0)));
  const ySize = r.int(1, 2);
  const xSize = r.int(1, 3);
  const pads = { y_pad_0: r.int(0, 1), y_pad_1: r.int(0, 1), x_pad_0: r.int(0, 1), x_pad_1: r.int(0, 1) };
  const tiles = (pads.y_pad_0 + ySize + pads.y_pad_1) * (pads.x_pad_0 + xSize + pads.x_pad_1);
  const uops = b.uops([ZERO_UOP]);
  const out = b.outRegion('out', tiles * 16);
  return [
    {
      load: [load(MEM_TYPE.WGT, { dram_base: src + r.int(0, 2), y_size: ySize, x_size: xSize, x_stride: xSize + r.int(0, 2), ...pads }), load(MEM_TYPE.INP, { dram_base: unit, x_size: 16, x_stride: 16 })],
      compute: [
        load(MEM_TYPE.UOP, { dram_base: uops }),
        gemmInsn({ reset_reg: 1, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: tiles * 16, dst_factor_in: 1 }),
        // ACC tile 16·w + c = WGT tile w times e_c.
        gemmInsn({ uop_bgn: 0, uop_end: 1, iter_out: tiles, iter_in: 16, dst_factor_out: 16, dst_factor_in: 1, src_factor_in: 1, wgt_factor_out: 1 }),
      ],
      store: [store({ dram_base: out, x_size: tiles * 16, x_stride: tiles * 16 })],
    },
  ];
}

/** STORE of int32 accumulators far outside the 4-bit range, strided rows, into a sentinel-filled region. */
function storeCase(b: Builder): Round[] {
  const { r } = b;
  const special = [0, 1, 7, 8, -1, -8, -9, 15, 16, 127, -128, 255, 0x7fffffff, -0x80000000, 0x12345678, -0x12345678];
  const values = Array.from({ length: 16 * 16 }, (_, k) => (k < 16 ? special[k]! : r.int(-(2 ** 31), 2 ** 31 - 1)));
  const acc = b.accTiles(values);
  const ySize = r.int(1, 4);
  const xSize = r.int(1, 4);
  const stride = xSize + r.int(0, 3);
  const out = b.outRegion('out', (ySize - 1) * stride + xSize + 2);
  return [
    {
      load: [],
      compute: [load(MEM_TYPE.ACC, { dram_base: acc, x_size: 16, x_stride: 16 })],
      store: [store({ sram_base: r.int(0, 16 - ySize * xSize), dram_base: out + 1, y_size: ySize, x_size: xSize, x_stride: stride })],
    },
  ];
}

/** ALU on accumulators: every opcode, immediate and tensor operands, then the full ACC read back. */
function aluCase(b: Builder): Round[] {
  const { r } = b;
  const acc = b.accTiles(Array.from({ length: 16 * 16 }, () => (r.int(0, 3) === 0 ? r.int(-(2 ** 31), 2 ** 31 - 1) : r.int(-300, 300))));
  const acc8 = b.image.place(new Uint8Array(Array.from({ length: 4 * 16 }, () => r.int(0, 255))), 16) / 16;
  const uops = b.uops(Array.from({ length: 4 }, () => ({ dst_idx: r.int(0, 7), src_idx: r.int(0, 11), wgt_idx: 0 })));
  const compute: Insn[] = [load(MEM_TYPE.ACC, { dram_base: acc, x_size: 16, x_stride: 16 }), load(MEM_TYPE.ACC_8BIT, { sram_base: 12, dram_base: acc8, x_size: 4, x_stride: 4 }), load(MEM_TYPE.UOP, { dram_base: uops, x_size: 4, x_stride: 4 })];
  for (let k = 0; k < 6; k++) {
    const op = r.pick([ALU_OP.MIN, ALU_OP.MAX, ALU_OP.ADD, ALU_OP.SHR, ALU_OP.MUL]);
    const useImm = r.int(0, 1);
    const imm = op === ALU_OP.SHR ? r.int(-12, 12) : r.int(-40, 40);
    compute.push(aluInsn({ alu_opcode: op, use_imm: useImm, imm: useImm ? imm : 0, uop_bgn: r.int(0, 1), uop_end: r.int(2, 4), iter_out: r.int(1, 2), iter_in: r.int(1, 2), dst_factor_out: r.int(0, 3), dst_factor_in: r.int(0, 1), src_factor_out: r.int(0, 3), src_factor_in: r.int(0, 1) }));
  }
  const round: Round = { load: [], compute, store: [] };
  return [round, ...b.dumpAcc(round, 16)];
}

/**
 * A 3x3 convolution, 16 → 16 channels, on a 4x4 image padded by LOAD to 6x6, requantized on the
 * ALU (SHR, clip to [-8, 7]) and stored as 4-bit: the shape of a compiled conv layer.
 */
function convCase(b: Builder): Round[] {
  const { r } = b;
  const img = b.inpTiles(b.randomValues(16 * 16, b.cfg.inpWidth));
  const wgt = b.wgtTiles(b.randomValues(9 * 256, b.cfg.wgtWidth));
  const taps = Array.from({ length: 9 }, (_, t) => ({ dst_idx: 0, src_idx: Math.floor(t / 3) * 6 + (t % 3), wgt_idx: t }));
  const uops = b.uops([...taps, ZERO_UOP]);
  const out = b.outRegion('out', 16);
  const alu = (alu_opcode: number, imm: number) => aluInsn({ alu_opcode, use_imm: 1, imm, uop_bgn: 9, uop_end: 10, iter_out: 1, iter_in: 16, dst_factor_in: 1, src_factor_in: 1 });
  return [
    {
      load: [load(MEM_TYPE.INP, { dram_base: img, y_size: 4, x_size: 4, x_stride: 4, y_pad_0: 1, y_pad_1: 1, x_pad_0: 1, x_pad_1: 1 }), load(MEM_TYPE.WGT, { dram_base: wgt, x_size: 9, x_stride: 9 })],
      compute: [
        load(MEM_TYPE.UOP, { dram_base: uops, x_size: 10, x_stride: 10 }),
        gemmInsn({ reset_reg: 1, uop_bgn: 9, uop_end: 10, iter_out: 1, iter_in: 16, dst_factor_in: 1 }),
        // Output pixel (y, x) = ACC tile 4y + x reads input tiles 6(y + kh) + x + kw.
        gemmInsn({ uop_bgn: 0, uop_end: 9, iter_out: 4, iter_in: 4, dst_factor_out: 4, dst_factor_in: 1, src_factor_out: 6, src_factor_in: 1 }),
        alu(ALU_OP.SHR, r.int(6, 7)),
        alu(ALU_OP.MAX, -8),
        alu(ALU_OP.MIN, 7),
      ],
      store: [store({ dram_base: out, x_size: 16, x_stride: 16 })],
    },
  ];
}

/** A random token-synchronised program: rounds of random loads (pads, strides), GEMMs, ALU ops and stores. */
function mixedCase(b: Builder): Round[] {
  const { r } = b;
  const WINDOW = 32;
  const inp = b.inpTiles(b.randomValues(64 * 16, b.cfg.inpWidth));
  const wgt = b.wgtTiles(b.randomValues(32 * 256, b.cfg.wgtWidth));
  const out = b.outRegion('out', 64);
  // Uop 0 is the zero uop of the first round's reset; later rounds pick from all nine.
  const uops = b.uops([ZERO_UOP, ...Array.from({ length: 8 }, () => ({ dst_idx: r.int(0, 15), src_idx: r.int(0, 15), wgt_idx: r.int(0, 15) }))]);
  const randomLoad = (type: number, src: number, depthWindow: number): MemInsn => {
    const pads = { y_pad_0: r.int(0, 1), y_pad_1: r.int(0, 1), x_pad_0: r.int(0, 1), x_pad_1: r.int(0, 1) };
    const ySize = r.int(0, 2);
    const xSize = r.int(1, 3);
    const tiles = (pads.y_pad_0 + ySize + pads.y_pad_1) * (pads.x_pad_0 + xSize + pads.x_pad_1);
    return load(type, { sram_base: r.int(0, depthWindow - tiles), dram_base: src + r.int(0, 20), y_size: ySize, x_size: xSize, x_stride: xSize + r.int(0, 2), ...pads });
  };
  const rounds: Round[] = [
    // Every SRAM tile a program may read is written first.
    {
      load: [load(MEM_TYPE.INP, { dram_base: inp, x_size: WINDOW, x_stride: WINDOW }), load(MEM_TYPE.WGT, { dram_base: wgt, x_size: WINDOW, x_stride: WINDOW })],
      compute: [load(MEM_TYPE.UOP, { dram_base: uops, x_size: 9, x_stride: 9 }), gemmInsn({ reset_reg: 1, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: WINDOW, dst_factor_in: 1 })],
      store: [],
    },
  ];
  for (let k = r.int(3, 5); k > 0; k--) {
    const loads = Array.from({ length: r.int(0, 2) }, () => (r.int(0, 1) ? randomLoad(MEM_TYPE.INP, inp, WINDOW) : randomLoad(MEM_TYPE.WGT, wgt, WINDOW)));
    const compute: Insn[] = [];
    for (let c = r.int(1, 3); c > 0; c--) {
      const bgn = r.int(0, 7);
      const loop = { uop_bgn: bgn, uop_end: r.int(bgn + 1, 9), iter_out: r.int(1, 2), iter_in: r.int(1, 3), dst_factor_out: r.int(0, 4), dst_factor_in: r.int(0, 2), src_factor_out: r.int(0, 4), src_factor_in: r.int(0, 2) };
      if (r.int(0, 2) > 0) compute.push(gemmInsn({ ...loop, reset_reg: r.int(0, 5) === 0 ? 1 : 0, wgt_factor_out: r.int(0, 3), wgt_factor_in: r.int(0, 2) }));
      else compute.push(aluInsn({ ...loop, alu_opcode: r.pick([ALU_OP.MIN, ALU_OP.MAX, ALU_OP.ADD, ALU_OP.SHR, ALU_OP.MUL]), use_imm: r.int(0, 1), imm: r.int(-6, 6) }));
    }
    const stores = Array.from({ length: r.int(0, 2) }, () => {
      const xSize = r.int(1, 4);
      return store({ sram_base: r.int(0, WINDOW - 2 * xSize), dram_base: out + r.int(0, 50), y_size: r.int(1, 2), x_size: xSize, x_stride: xSize + r.int(0, 2) });
    });
    rounds.push({ load: loads, compute, store: stores });
  }
  rounds[rounds.length - 1]!.store.push(store({ dram_base: out + 60, x_size: 4, x_stride: 4 }));
  return rounds;
}

const CASES: Record<string, { build: (b: Builder) => Round[]; seeds: number[] }> = {
  gemm: { build: gemmCase, seeds: [0, 1, 2, 3] },
  // Even seeds load INP, odd seeds WGT.
  load: { build: (b) => (b.seed % 2 === 0 ? loadInpCase(b) : loadWgtCase(b)), seeds: [0, 1, 2, 3, 4, 5] },
  store: { build: storeCase, seeds: [0, 1, 2] },
  alu: { build: aluCase, seeds: [0, 1, 2] },
  conv: { build: convCase, seeds: [0, 1] },
  mixed: { build: mixedCase, seeds: [0, 1, 2, 3, 4, 5] },
};
const BASES = [0x1000, 0x40000, 0x123000, 0x10000000];

export interface GeneratedBundle {
  name: string;
  bundle: Record<string, unknown>;
}

/** The int4 kit's bundles (without expected bytes), in name order. */
export function int4Bundles(): GeneratedBundle[] {
  const cfg = loadConfig(INT4_CONFIG_PATH);
  const out: GeneratedBundle[] = [];
  for (const [kind, { build, seeds }] of Object.entries(CASES)) {
    for (const seed of seeds) {
      const r = rand(1000 * kind.length + seed * 7919 + kind.charCodeAt(0));
      const base = BASES[seed % BASES.length]!;
      const order: Order = kind === 'mixed' && seed % 2 === 1 ? 'any' : 'blocked';
      const image = new Image(base);
      const b = new Builder(cfg, image, r, seed);
      const insns = programOrder(build(b), order, r);
      const insnAddr = image.place(encodeProgram(cfg, insns), 16);
      out.push({
        name: `${kind}-s${seed}-${order}-b${base.toString(16)}`,
        bundle: {
          format: BUNDLE_FORMAT,
          config: { ...cfg.json },
          memory: { base, data: Buffer.from(image.bytes()).toString('base64') },
          insn: { addr: insnAddr, count: insns.length },
          outputs: b.outputs,
        },
      });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Replay on fsim with the race checker attached; a race or a fault is a generator bug. */
async function expectedOutputs(bundle: Bundle): Promise<Record<string, string>> {
  const driver = await fsim.open(bundle.config);
  try {
    const checker = new RaceChecker(bundle.config);
    const result = await replayBundle(driver, bundle, { observer: checker });
    const races = checker.report();
    if (races.length) throw new Error(`${bundle.source}: ${races[0]}`);
    return resultJson(result).outputs;
  } finally {
    driver.close();
  }
}

/**
 * The outputs when every SRAM starts full of garbage. They must equal the outputs of a clean run:
 * otherwise the program reads SRAM it never wrote, and other implementations may differ.
 */
function outputsOverDirtySram(bundle: Bundle): Record<string, string> {
  const memory = new DeviceMemory();
  for (const r of replayRanges(bundle)) memory.allocAt(r.start, r.end - r.start);
  memory.write(bundle.memory.base, bundle.memory.data);
  const machine = new Machine(bundle.config);
  for (const sram of [machine.uopBytes, machine.inpBytes, machine.wgtBytes, machine.accBytes]) sram.set(randomBytes(sram.length, 99));
  simulate(bundle.config, memory, bundle.insn.addr, bundle.insn.count, { machine });
  return Object.fromEntries(bundle.outputs.map((o) => [o.name, Buffer.from(memory.read(o.addr, o.bytes)).toString('base64')]));
}

async function main(): Promise<void> {
  mkdirSync(INT4_KIT, { recursive: true });
  for (const f of readdirSync(INT4_KIT)) if (f.endsWith('.json')) rmSync(join(INT4_KIT, f));
  for (const { name, bundle } of int4Bundles()) {
    const parsed = parseBundle(bundle, name);
    const outputs = await expectedOutputs(parsed);
    if (JSON.stringify(outputsOverDirtySram(parsed)) !== JSON.stringify(outputs)) throw new Error(`${name}: reads SRAM it never wrote`);
    writeFileSync(join(INT4_KIT, `${name}.bundle.json`), JSON.stringify(bundle, null, 2) + '\n');
    writeFileSync(join(INT4_KIT, `${name}.expected.json`), JSON.stringify({ outputs }, null, 2) + '\n');
  }
  console.log(`${readdirSync(INT4_KIT).filter((f) => f.endsWith('.bundle.json')).length} bundles in ${INT4_KIT}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

/**
 * TVM's vta/tests/python/unittest/test_vta_insn.py (spec §6.1) rewritten as strict tests on the
 * runtime and the fsim driver. Inputs come from a seeded PRNG; every expected output is computed
 * here in plain TypeScript from those inputs, independently of the simulator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VtaConfig, defaultVtaConfig, loadConfig } from '../../config/config.ts';
import type { DeviceBuffer, Driver } from '../../drivers/api.ts';
import { ALU_OP, MEM_TYPE, OPCODE } from '../../isa/index.ts';
import { CommandQueue, STAGE_ID, bufferAlloc, bufferCopy, bufferFree, bytesOf } from '../../runtime/index.ts';
import type { Counters } from '../../sim/api.ts';
import { RaceChecker } from '../../sim/race-checker.ts';
import { TVM_SEED, downloadInt8, firstDifference, openFsim, randomInt32, randomInt8, seededRandom, toInt8, upload } from './fixtures.ts';

const { LOAD, COMPUTE, STORE } = STAGE_ID;
const cfg = defaultVtaConfig();
const b2x8 = loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname);

/** Every stream these tests build runs with the race checker: a missing token fails the test. */
async function synchronizeChecked(cmd: CommandQueue, driver: Driver): Promise<Counters> {
  const races = new RaceChecker(driver.config);
  const counters = await cmd.synchronize(driver, { observer: races });
  expect(races.report()).toEqual([]);
  return counters;
}

/** SHR with a signed amount (spec Decision 4): count = |b| & 31, negative shifts left. */
const shr = (a: number, b: number) => (b >= 0 ? a >> (Math.abs(b) & 31) : (a << (Math.abs(b) & 31)) | 0);
const clip = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

interface AccProgram {
  /** Each input is loaded into ACC as `rows` x `cols` tiles, input i from tile i*rows*cols. */
  inputs: Int32Array[];
  rows: number;
  cols: number;
  /** Emits the compute instructions; the result must be in ACC tiles [0, rows*cols). */
  compute: (cmd: CommandQueue) => void;
}

/**
 * Load int32 tensors into ACC, run `compute`, store ACC tiles [0, rows*cols) as int8. ACC loads
 * and the ALU both run in the compute stage, so the only token is compute -> store.
 */
async function runAccProgram(driver: Driver, p: AccProgram): Promise<{ out: Int8Array; counters: Counters; insns: number }> {
  const c = driver.config;
  const cmd = new CommandQueue(c);
  const tiles = p.rows * p.cols;
  const inBufs = p.inputs.map((x) => upload(driver, x));
  inBufs.forEach((buf, i) => cmd.loadBuffer2D(buf, 0, p.cols, p.rows, p.cols, 0, 0, 0, 0, i * tiles, MEM_TYPE.ACC));
  p.compute(cmd);
  cmd.depPush(COMPUTE, STORE);
  cmd.depPop(COMPUTE, STORE);
  const outBuf = bufferAlloc(driver, tiles * c.outElemBytes);
  cmd.storeBuffer2D(0, MEM_TYPE.OUT, outBuf, 0, p.cols, p.rows, p.cols);
  const insns = cmd.pending().length;
  const counters = await synchronizeChecked(cmd, driver);
  const out = downloadInt8(driver, outBuf, tiles * c.outElemBytes);
  for (const b of [...inBufs, outBuf]) bufferFree(driver, b);
  return { out, counters, insns };
}

/** An ALU kernel over rows x cols tiles as two loops (outer rows, inner cols), reading ACC `src`. */
function tileKernel(cmd: CommandQueue, key: string, rows: number, cols: number, src: number) {
  return cmd.uopKernel(key, (b) => {
    b.uopLoopBegin(rows, cols, cols);
    b.uopLoopBegin(cols, 1, 1);
    b.uopPush(0, src);
    b.uopLoopEnd();
    b.uopLoopEnd();
  });
}

describe('test_vta_insn on fsim (default 1x16x16)', () => {
  let driver: Driver;
  beforeAll(async () => {
    driver = await openFsim(cfg);
  });
  afterAll(() => driver.close());
  const lanes = cfg.batch * cfg.blockOut;

  it('save/load out: int32 (6,6,1,16) into ACC, SHR 0, stored as int8', async () => {
    const rng = seededRandom(TVM_SEED);
    const x = randomInt32(rng, 6 * 6 * lanes, 1, 10);
    const { out, counters } = await runAccProgram(driver, {
      inputs: [x],
      rows: 6,
      cols: 6,
      compute: (cmd) => cmd.pushAlu(tileKernel(cmd, 'copy', 6, 6, 0), ALU_OP.SHR, true, 0),
    });
    expect(out).toEqual(Int8Array.from(x, toInt8));
    expect(counters.acc_load_nbytes).toBe(36 * cfg.accElemBytes);
    expect(counters.out_store_nbytes).toBe(36 * cfg.outElemBytes);
    expect(counters.alu_counter).toBe(36);
  });

  // [y_pad_before, x_pad_before], [y_pad_after, x_pad_after] as in TVM's test.
  const PAD_CASES: [string, [number, number], [number, number]][] = [
    ['Y0', [2, 0], [0, 0]],
    ['Y1', [0, 0], [2, 0]],
    ['X0', [0, 2], [0, 0]],
    ['X1', [0, 0], [0, 2]],
    ['all', [1, 1], [1, 1]],
  ];
  for (const [name, [yBefore, xBefore], [yAfter, xAfter]] of PAD_CASES) {
    it(`padded load ${name}: int32 (3,5,1,16) into ACC with zero padding`, async () => {
      const rng = seededRandom(TVM_SEED + name.length * 7 + yBefore + 3 * xAfter);
      const [n, m] = [3, 5];
      const x = randomInt32(rng, n * m * lanes, 0, 10);
      const rows = n + yBefore + yAfter;
      const cols = m + xBefore + xAfter;
      const cmd = new CommandQueue(cfg);
      const xBuf = upload(driver, x);
      const yBuf = bufferAlloc(driver, rows * cols * cfg.outElemBytes);
      // Put junk in the ACC tiles first, so that pads that are not written show up.
      const junk = upload(driver, new Int32Array(rows * cols * lanes).fill(0x55));
      cmd.loadBuffer2D(junk, 0, rows * cols, 1, rows * cols, 0, 0, 0, 0, 0, MEM_TYPE.ACC);
      cmd.loadBuffer2D(xBuf, 0, m, n, m, xBefore, yBefore, xAfter, yAfter, 0, MEM_TYPE.ACC);
      cmd.pushAlu(tileKernel(cmd, 'copy', rows, cols, 0), ALU_OP.SHR, true, 0);
      cmd.depPush(COMPUTE, STORE);
      cmd.depPop(COMPUTE, STORE);
      cmd.storeBuffer2D(0, MEM_TYPE.OUT, yBuf, 0, cols, rows, cols);
      const counters = await synchronizeChecked(cmd, driver);
      const out = downloadInt8(driver, yBuf, rows * cols * lanes);
      const expected = new Int8Array(rows * cols * lanes);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < m; j++)
          for (let l = 0; l < lanes; l++) expected[((i + yBefore) * cols + j + xBefore) * lanes + l] = toInt8(x[(i * m + j) * lanes + l]!);
      expect(out).toEqual(expected);
      // Padding is not counted as loaded bytes.
      expect(counters.acc_load_nbytes).toBe((rows * cols + n * m) * cfg.accElemBytes);
      for (const b of [xBuf, yBuf, junk]) bufferFree(driver, b);
    });
  }

  const ALU_CASES: { name: string; op: number; tensor: boolean; imm?: (r: number) => number; ref: (a: number, b: number) => number }[] = [
    { name: 'SHL imm (SHR -imm)', op: ALU_OP.SHR, tensor: false, imm: (r) => -r, ref: shr },
    { name: 'MAX imm', op: ALU_OP.MAX, tensor: false, imm: (r) => r, ref: Math.max },
    { name: 'MAX tensor', op: ALU_OP.MAX, tensor: true, ref: Math.max },
    { name: 'ADD imm', op: ALU_OP.ADD, tensor: false, imm: (r) => r, ref: (a, b) => (a + b) | 0 },
    { name: 'ADD tensor', op: ALU_OP.ADD, tensor: true, ref: (a, b) => (a + b) | 0 },
    { name: 'SHR imm', op: ALU_OP.SHR, tensor: false, imm: (r) => r, ref: shr },
    { name: 'MIN imm', op: ALU_OP.MIN, tensor: false, imm: (r) => r, ref: Math.min },
    { name: 'MIN tensor', op: ALU_OP.MIN, tensor: true, ref: Math.min },
    { name: 'MUL imm', op: ALU_OP.MUL, tensor: false, imm: (r) => r, ref: Math.imul },
    { name: 'MUL tensor', op: ALU_OP.MUL, tensor: true, ref: Math.imul },
    // Not in TVM's list; a tensor shift amount's sign picks the direction (Decision 4).
    { name: 'SHR tensor (negative lanes shift left)', op: ALU_OP.SHR, tensor: true, ref: shr },
  ];
  ALU_CASES.forEach((c, caseIndex) => {
    it(`ALU ${c.name}: int32 (8,8,1,16), stored as int8`, async () => {
      const rng = seededRandom(TVM_SEED + 101 * (caseIndex + 1));
      const tiles = 64;
      const a = randomInt32(rng, tiles * lanes, -16, 16);
      const b = randomInt32(rng, tiles * lanes, -16, 16);
      const imm = c.imm ? c.imm(rng.int(1, 5)) : 0;
      const { out, counters } = await runAccProgram(driver, {
        inputs: c.tensor ? [a, b] : [a],
        rows: 8,
        cols: 8,
        compute: (cmd) => cmd.pushAlu(tileKernel(cmd, c.tensor ? 'tensor' : 'imm', 8, 8, c.tensor ? tiles : 0), c.op, !c.tensor, imm),
      });
      const expected = Int8Array.from(a, (v, i) => toInt8(c.ref(v, c.tensor ? b[i]! : imm)));
      expect(out).toEqual(expected);
      expect(counters.alu_counter).toBe(tiles);
    });
  });

  it('relu: int32 (8,10,1,16) in [-256,256), MAX 0 then MIN 127 (one-loop ALU kernel)', async () => {
    const rng = seededRandom(TVM_SEED + 5);
    const tiles = 80;
    const a = randomInt32(rng, tiles * lanes, -256, 256);
    const { out, counters } = await runAccProgram(driver, {
      inputs: [a],
      rows: 8,
      cols: 10,
      compute: (cmd) => {
        const k = cmd.uopKernel('flat', (b) => {
          b.uopLoopBegin(tiles, 1, 1);
          b.uopPush(0, 0);
          b.uopLoopEnd();
        });
        cmd.pushAlu(k, ALU_OP.MAX, true, 0);
        cmd.pushAlu(k, ALU_OP.MIN, true, 127);
      },
    });
    expect(out).toEqual(Int8Array.from(a, (v) => clip(v, 0, 127)));
    expect(counters.alu_counter).toBe(2 * tiles);
    // The same kernel twice: its uops were loaded once.
    expect(counters.uop_load_nbytes).toBe(cfg.uopElemBytes);
  });

  it('shift and scale: (a + s) >> k on int32 (2,8,1,16)', async () => {
    const rng = seededRandom(TVM_SEED + 6);
    const a = randomInt32(rng, 16 * lanes, -10, 10);
    const s = rng.int(0, 8);
    const k = rng.int(1, 5);
    const { out } = await runAccProgram(driver, {
      inputs: [a],
      rows: 2,
      cols: 8,
      compute: (cmd) => {
        const kernel = tileKernel(cmd, 'tiles', 2, 8, 0);
        cmd.pushAlu(kernel, ALU_OP.ADD, true, s);
        cmd.pushAlu(kernel, ALU_OP.SHR, true, k);
      },
    });
    expect(out).toEqual(Int8Array.from(a, (v) => toInt8((v + s) >> k)));
  });

  // Not in TVM's list: an int8 tensor loaded into ACC is sign-extended per lane (ACC_8BIT, 16-byte elements).
  it('int8 (2,2,1,16) into ACC with ACC_8BIT, ADD 100, stored as int8', async () => {
    const rng = seededRandom(TVM_SEED + 8);
    const x = randomInt8(rng, 4 * lanes, -128, 128);
    const cmd = new CommandQueue(cfg);
    const xBuf = upload(driver, x);
    const yBuf = bufferAlloc(driver, 4 * cfg.outElemBytes);
    cmd.loadBuffer2D(xBuf, 0, 2, 2, 2, 0, 0, 0, 0, 0, MEM_TYPE.ACC_8BIT);
    cmd.pushAlu(tileKernel(cmd, 'tiles2x2', 2, 2, 0), ALU_OP.ADD, true, 100);
    cmd.depPush(COMPUTE, STORE);
    cmd.depPop(COMPUTE, STORE);
    cmd.storeBuffer2D(0, MEM_TYPE.OUT, yBuf, 0, 2, 2, 2);
    const counters = await synchronizeChecked(cmd, driver);
    expect(downloadInt8(driver, yBuf, 4 * lanes)).toEqual(Int8Array.from(x, (v) => toInt8(v + 100)));
    expect(counters.acc8_load_nbytes).toBe(4 * lanes);
    bufferFree(driver, xBuf);
    bufferFree(driver, yBuf);
  });

  it('runtime array: int8 (100,100,1,16) through device memory and back', () => {
    const rng = seededRandom(TVM_SEED + 7);
    const x = randomInt8(rng, 100 * 100 * 16, -128, 128);
    const first = bufferAlloc(driver, x.byteLength);
    const second = bufferAlloc(driver, x.byteLength);
    bufferCopy(driver, bytesOf(x), 0, first, 0, x.byteLength);
    bufferCopy(driver, first, 0, second, 0, x.byteLength);
    const back = new Int8Array(x.length);
    bufferCopy(driver, second, 0, bytesOf(back), 0, x.byteLength);
    expect(firstDifference(back, x)).toBeUndefined();
    // Partial copies honour both offsets.
    const part = new Int8Array(100);
    bufferCopy(driver, second, 12345, bytesOf(part), 0, 100);
    expect(part).toEqual(x.subarray(12345, 12445));
    expect(() => bufferCopy(driver, second, x.byteLength - 10, bytesOf(part), 0, 100)).toThrow(/outside the device buffer/);
    bufferFree(driver, first);
    bufferFree(driver, second);
  });
});

interface GemmShape {
  /** Batch tiles (rows of x), reduction tiles, output-channel tiles. */
  o: number;
  n: number;
  m: number;
}

/** y = clip((x · wᵀ) >> 8, 0, 127) as int8, computed directly from the packed tensors. */
function gemmReference(c: VtaConfig, { o, n, m }: GemmShape, x: Int8Array, w: Int8Array): Int8Array {
  const [B, BI, BO] = [c.batch, c.blockIn, c.blockOut];
  const y = new Int8Array(o * m * B * BO);
  for (let bo = 0; bo < o; bo++)
    for (let co = 0; co < m; co++)
      for (let b = 0; b < B; b++)
        for (let oo = 0; oo < BO; oo++) {
          let sum = 0;
          for (let k = 0; k < n; k++)
            for (let ci = 0; ci < BI; ci++) sum += x[((bo * n + k) * B + b) * BI + ci]! * w[((co * n + k) * BO + oo) * BI + ci]!;
          y[((bo * m + co) * B + b) * BO + oo] = clip(sum >> 8, 0, 127);
        }
  return y;
}

/** The GEMM + requantisation (SHR 8, MAX 0, MIN 127) kernels on a region of SRAM. */
function emitGemmTile(cmd: CommandQueue, tag: string, rows: number, cols: number, n: number, acc: number, inp: number, wgt: number): void {
  const reset = cmd.uopKernel(`reset-${tag}`, (b) => {
    b.uopLoopBegin(rows, cols, 0, 0);
    b.uopLoopBegin(cols, 1, 0, 0);
    b.uopPush(acc, 0, 0);
    b.uopLoopEnd();
    b.uopLoopEnd();
  }, { reset: true });
  cmd.pushGemm(reset);
  // One GEMM per reduction tile: a kernel with one uop per k would write the same dst back to back.
  for (let k = 0; k < n; k++) {
    const gemm = cmd.uopKernel(`gemm-${tag}-${k}`, (b) => {
      b.uopLoopBegin(rows, cols, n, 0);
      b.uopLoopBegin(cols, 1, 0, n);
      b.uopPush(acc, inp + k, wgt + k);
      b.uopLoopEnd();
      b.uopLoopEnd();
    });
    cmd.pushGemm(gemm);
  }
  const alu = cmd.uopKernel(`alu-${tag}`, (b) => {
    b.uopLoopBegin(rows * cols, 1, 1);
    b.uopPush(acc, acc);
    b.uopLoopEnd();
  });
  cmd.pushAlu(alu, ALU_OP.SHR, true, 8);
  cmd.pushAlu(alu, ALU_OP.MAX, true, 0);
  cmd.pushAlu(alu, ALU_OP.MIN, true, 127);
}

/**
 * `padRows` (default schedule only) loads x with that many zero rows of INP tiles before and after,
 * as a padded convolution input would be: the output gets those rows too, all zero.
 */
async function gemmCase(c: VtaConfig, shape: GemmShape, schedule: 'default' | 'smt', padRows = 0): Promise<void> {
  const { o, n, m } = shape;
  const driver = await openFsim(c);
  try {
    const rng = seededRandom(TVM_SEED + o * 1000 + n * 100 + m + (schedule === 'smt' ? 7 : 0) + padRows);
    const x = randomInt8(rng, o * n * c.batch * c.blockIn, -128, 128);
    const w = randomInt8(rng, m * n * c.blockOut * c.blockIn, -128, 128);
    const rowsOut = o + 2 * padRows;
    const xBuf = upload(driver, x);
    const wBuf = upload(driver, w);
    const yBuf = bufferAlloc(driver, rowsOut * m * c.outElemBytes);
    const cmd = new CommandQueue(c);
    if (schedule === 'default') {
      cmd.loadBuffer2D(xBuf, 0, n, o, n, 0, padRows, 0, padRows, 0, MEM_TYPE.INP);
      cmd.loadBuffer2D(wBuf, 0, n, m, n, 0, 0, 0, 0, 0, MEM_TYPE.WGT);
      cmd.depPush(LOAD, COMPUTE);
      cmd.depPop(LOAD, COMPUTE);
      emitGemmTile(cmd, 'all', rowsOut, m, n, 0, 0, 0);
      cmd.depPush(COMPUTE, STORE);
      cmd.depPop(COMPUTE, STORE);
      cmd.storeBuffer2D(0, MEM_TYPE.OUT, yBuf, 0, m, rowsOut, m);
    } else {
      emitSmtSchedule(cmd, shape, xBuf, wBuf, yBuf);
    }
    const counters = await synchronizeChecked(cmd, driver);
    const xPadded = new Int8Array(rowsOut * n * c.batch * c.blockIn);
    xPadded.set(x, padRows * n * c.batch * c.blockIn);
    expect(downloadInt8(driver, yBuf, rowsOut * m * c.outElemBytes)).toEqual(gemmReference(c, { o: rowsOut, n, m }, xPadded, w));
    expect(counters.gemm_counter).toBe(rowsOut * m * n);
    expect(counters.gemm_reset_counter).toBe(rowsOut * m);
  } finally {
    driver.close();
  }
}

/**
 * The "smt" schedule: two virtual threads, each owning half of the batch rows and its own INP, WGT
 * and ACC regions, interleaved per stage as TVM's InjectVirtualThread emits them, over K = 2
 * iterations of output-channel chunks. RAW tokens (load->compute->store) order each chain; WAR
 * tokens (compute->load, store->compute) keep iteration k+1 of a thread off the buffers that
 * iteration k of the same thread still uses. The last iteration pushes no WAR token, so every
 * queue ends empty.
 */
function emitSmtSchedule(cmd: CommandQueue, { o, n, m }: GemmShape, xBuf: DeviceBuffer, wBuf: DeviceBuffer, yBuf: DeviceBuffer): void {
  const THREADS = 2;
  const K = 2;
  const rows = o / THREADS;
  const chunk = m / K;
  const region = (t: number) => ({ inp: t * rows * n, wgt: t * chunk * n, acc: t * rows * chunk });
  for (let k = 0; k < K; k++) {
    for (let t = 0; t < THREADS; t++) {
      if (k > 0) cmd.depPop(COMPUTE, LOAD);
      cmd.loadBuffer2D(xBuf, t * rows * n, n, rows, n, 0, 0, 0, 0, region(t).inp, MEM_TYPE.INP);
      cmd.loadBuffer2D(wBuf, k * chunk * n, n, chunk, n, 0, 0, 0, 0, region(t).wgt, MEM_TYPE.WGT);
      cmd.depPush(LOAD, COMPUTE);
    }
    for (let t = 0; t < THREADS; t++) {
      cmd.depPop(LOAD, COMPUTE);
      if (k > 0) cmd.depPop(STORE, COMPUTE);
      const r = region(t);
      emitGemmTile(cmd, `t${t}`, rows, chunk, n, r.acc, r.inp, r.wgt);
      if (k < K - 1) cmd.depPush(COMPUTE, LOAD);
      cmd.depPush(COMPUTE, STORE);
    }
    for (let t = 0; t < THREADS; t++) {
      cmd.depPop(COMPUTE, STORE);
      cmd.storeBuffer2D(region(t).acc, MEM_TYPE.OUT, yBuf, t * rows * m + k * chunk, chunk, rows, m);
      if (k < K - 1) cmd.depPush(STORE, COMPUTE);
    }
  }
  // Every thread's kernels were loaded in iteration 0 only and reused in iteration 1.
  const uopLoads = cmd.pending().filter((i) => i.opcode === OPCODE.LOAD && i.memory_type === MEM_TYPE.UOP && i.x_size > 0);
  expect(uopLoads).toHaveLength(THREADS * (n + 2));
}

describe('test_gemm on fsim', () => {
  it('default schedule, x (4,1,1,16) w (4,1,16,16), 1x16x16', () => gemmCase(cfg, { o: 4, n: 1, m: 4 }, 'default'));
  it('default schedule with a 2-tile reduction', () => gemmCase(cfg, { o: 4, n: 2, m: 4 }, 'default'));
  it('smt schedule: two virtual threads with their own tokens, 1x16x16', () => gemmCase(cfg, { o: 4, n: 1, m: 8 }, 'smt'));
  it('smt schedule with a 2-tile reduction', () => gemmCase(cfg, { o: 4, n: 2, m: 8 }, 'smt'));
  it('default schedule on zero-padded INP rows (conv-style padding)', () => gemmCase(cfg, { o: 3, n: 2, m: 4 }, 'default', 1));
  it('default schedule on config/b2x8.json (BATCH 2, BLOCK 8)', () => gemmCase(b2x8, { o: 4, n: 2, m: 4 }, 'default'));
  it('smt schedule on config/b2x8.json (BATCH 2, BLOCK 8)', () => gemmCase(b2x8, { o: 4, n: 2, m: 8 }, 'smt'));
});

/**
 * synchronize on a real driver (fsim): what it allocates is freed whether the run succeeds or
 * fails, the queue starts afresh, options reach the driver, and the uop cache's loads and
 * evictions give the right bytes when executed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig, makeConfig } from '../../config/config.ts';
import type { DeviceBuffer, Driver } from '../../drivers/api.ts';
import { ALU_OP, MEM_TYPE, OPCODE } from '../../isa/index.ts';
import { CommandQueue, RUNTIME_ERROR, STAGE_ID, bufferAlloc, bufferFree } from '../../runtime/index.ts';
import { TVM_SEED, downloadInt8, openFsim, randomInt32, seededRandom, toInt8, upload } from './fixtures.ts';

const { LOAD, COMPUTE, STORE } = STAGE_ID;
const cfg = defaultVtaConfig();
const lanes = cfg.batch * cfg.blockOut;

/** A driver that forwards to fsim and keeps track of the buffers that are alive. */
function countingDriver(inner: Driver): Driver & { live: Set<number> } {
  const live = new Set<number>();
  return {
    name: inner.name,
    config: inner.config,
    live,
    memAlloc(bytes: number): DeviceBuffer {
      const b = inner.memAlloc(bytes);
      live.add(b.phys);
      return b;
    },
    memAllocAt: (phys, bytes) => inner.memAllocAt(phys, bytes),
    memFree(buf: DeviceBuffer): void {
      inner.memFree(buf);
      live.delete(buf.phys);
    },
    physAddr: (buf, offset) => inner.physAddr(buf, offset),
    copyFromHost: (dst, src, offset) => inner.copyFromHost(dst, src, offset),
    copyToHost: (dst, src, offset) => inner.copyToHost(dst, src, offset),
    run: (phys, count, options) => inner.run(phys, count, options),
    close: () => inner.close(),
  };
}

describe('synchronize', () => {
  let fsim: Driver;
  let driver: ReturnType<typeof countingDriver>;
  beforeAll(async () => {
    fsim = await openFsim(cfg);
    driver = countingDriver(fsim);
  });
  afterAll(() => fsim.close());

  it('frees the instruction and uop buffers it allocated and leaves an empty queue', async () => {
    const data = upload(driver, new Int32Array(4 * lanes).fill(3));
    const out = bufferAlloc(driver, 4 * cfg.outElemBytes);
    const before = new Set(driver.live);
    const cmd = new CommandQueue(cfg);
    cmd.loadBuffer2D(data, 0, 4, 1, 4, 0, 0, 0, 0, 0, MEM_TYPE.ACC);
    cmd.pushAlu(cmd.uopKernel('k', (b) => { b.uopLoopBegin(4, 1, 1); b.uopPush(0, 0); b.uopLoopEnd(); }), ALU_OP.ADD, true, 2);
    cmd.depPush(COMPUTE, STORE);
    cmd.depPop(COMPUTE, STORE);
    cmd.storeBuffer2D(0, MEM_TYPE.OUT, out, 0, 4, 1, 4);
    let dump: string[] = [];
    const counters = await cmd.synchronize(driver, { onDump: (lines) => (dump = lines) });
    expect(driver.live).toEqual(before);
    expect(cmd.pending()).toEqual([]);
    expect(downloadInt8(driver, out, 4 * lanes)).toEqual(new Int8Array(4 * lanes).fill(5));
    // The dump shows the placed stream: the LOAD UOP now points into device memory.
    expect(dump).toHaveLength(counters.load_insns + counters.compute_insns + counters.store_insns + 1);
    expect(dump.find((l) => l.includes('load.uop'))).toMatch(/dram_base=0x[0-9a-f]{3,}/);
    expect(dump.at(-1)).toBe(`${dump.length - 1} instructions; every token queue ends empty`);
    // Every instruction emitted ran. The epilogue's store token went on the STORE itself; the load
    // stage had no instruction, so its token needed a NOP.
    expect(counters.load_insns).toBe(1);
    expect(counters.store_insns).toBe(1);
    expect(counters.compute_insns).toBe(5);
    bufferFree(driver, data);
    bufferFree(driver, out);
  });

  it('an empty stream still runs (the epilogue and FINISH only)', async () => {
    const counters = await new CommandQueue(cfg).synchronize(driver);
    expect(counters.compute_insns).toBe(2);
  });

  it('a failing run reports the driver\'s error, frees its buffers and resets the queue', async () => {
    const before = new Set(driver.live);
    const cmd = new CommandQueue(cfg);
    // Compute waits for a load token that is never pushed: fsim reports a deadlock.
    cmd.depPop(LOAD, COMPUTE);
    cmd.pushAlu(cmd.uopKernel('k', (b) => b.uopPush(0, 0)), ALU_OP.ADD, true, 1);
    await expect(cmd.synchronize(driver)).rejects.toMatchObject({ code: 'E_SIM_DEADLOCK' });
    expect(driver.live).toEqual(before);
    expect(cmd.pending()).toEqual([]);
    // The queue is usable again, and its kernel cache survived.
    cmd.pushAlu(cmd.uopKernel('k', () => { throw new Error('not rebuilt'); }), ALU_OP.ADD, true, 1);
    await cmd.synchronize(driver);
  });

  it('passes the budget to the driver', async () => {
    const cmd = new CommandQueue(cfg);
    cmd.pushAlu(cmd.uopKernel('big', (b) => { b.uopLoopBegin(1000, 0, 0); b.uopPush(0, 0); b.uopLoopEnd(); }), ALU_OP.ADD, true, 0);
    await expect(cmd.synchronize(driver, { budget: 100 })).rejects.toMatchObject({ code: 'E_SIM_BUDGET' });
    cmd.pushAlu(cmd.uopKernel('big', () => {}), ALU_OP.ADD, true, 0);
    expect((await cmd.synchronize(driver, { budget: 2000 })).alu_counter).toBe(1000);
  });

  it('refuses a driver for another configuration', async () => {
    const b2x8 = loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname);
    const cmd = new CommandQueue(b2x8);
    cmd.depPush(LOAD, COMPUTE);
    await expect(cmd.synchronize(driver)).rejects.toMatchObject({ code: RUNTIME_ERROR.DRIVER });
    expect(cmd.pending()).toEqual([]);
  });
});

describe('uop cache on fsim', () => {
  it('a kernel pushed twice loads its uops once and runs twice', async () => {
    const driver = await openFsim(cfg);
    try {
      const rng = seededRandom(TVM_SEED + 11);
      const a = randomInt32(rng, 8 * lanes, -100, 100);
      const aBuf = upload(driver, a);
      const out = bufferAlloc(driver, 8 * cfg.outElemBytes);
      const cmd = new CommandQueue(cfg);
      cmd.loadBuffer2D(aBuf, 0, 8, 1, 8, 0, 0, 0, 0, 0, MEM_TYPE.ACC);
      const k = cmd.uopKernel('eight', (b) => { for (let i = 0; i < 8; i++) b.uopPush(i, i); });
      cmd.pushAlu(k, ALU_OP.ADD, true, 3);
      cmd.pushAlu(k, ALU_OP.MUL, true, 5);
      expect(cmd.pending().filter((i) => i.opcode === OPCODE.LOAD && i.memory_type === MEM_TYPE.UOP)).toHaveLength(1);
      cmd.depPush(COMPUTE, STORE);
      cmd.depPop(COMPUTE, STORE);
      cmd.storeBuffer2D(0, MEM_TYPE.OUT, out, 0, 8, 1, 8);
      const counters = await cmd.synchronize(driver);
      expect(counters.uop_load_nbytes).toBe(8 * cfg.uopElemBytes);
      expect(counters.alu_counter).toBe(16);
      expect(downloadInt8(driver, out, 8 * lanes)).toEqual(Int8Array.from(a, (v) => toInt8((v + 3) * 5)));
    } finally {
      driver.close();
    }
  });

  it('evicted kernels are reloaded from the right place in the uop image (256-entry uop buffer)', async () => {
    const small = makeConfig({ ...cfg.json, LOG_UOP_BUFF_SIZE: 10 });
    const driver = await openFsim(small);
    try {
      const tiles = 300;
      const rng = seededRandom(TVM_SEED + 12);
      const a = randomInt32(rng, tiles * lanes, -1000, 1000);
      const aBuf = upload(driver, a);
      const out = bufferAlloc(driver, tiles * small.outElemBytes);
      const cmd = new CommandQueue(small);
      cmd.loadBuffer2D(aBuf, 0, tiles, 1, tiles, 0, 0, 0, 0, 0, MEM_TYPE.ACC);
      // Three 100-uop kernels over tiles [0,100), [100,200), [200,300) with different immediates:
      // a → [0,100), b → [100,200), c wraps to [0,100) and evicts a, a comes back at [100,200).
      const kernels = [0, 1, 2].map((j) =>
        cmd.uopKernel(`k${j}`, (b) => { for (let i = 0; i < 100; i++) b.uopPush(100 * j + i, 100 * j + i); }),
      );
      const pushes: [number, number][] = [[0, 1], [1, 2], [2, 3], [1, 4], [0, 5], [2, 6]];
      for (const [j, imm] of pushes) cmd.pushAlu(kernels[j]!, ALU_OP.ADD, true, imm);
      expect(cmd.pending().filter((i) => i.opcode === OPCODE.LOAD && i.memory_type === MEM_TYPE.UOP)).toHaveLength(4);
      cmd.depPush(COMPUTE, STORE);
      cmd.depPop(COMPUTE, STORE);
      cmd.storeBuffer2D(0, MEM_TYPE.OUT, out, 0, tiles, 1, tiles);
      const counters = await cmd.synchronize(driver);
      expect(counters.uop_load_nbytes).toBe(400 * small.uopElemBytes);
      const added = [0, 1, 2].map((j) => pushes.filter(([k]) => k === j).reduce((s, [, imm]) => s + imm, 0));
      expect(downloadInt8(driver, out, tiles * lanes)).toEqual(Int8Array.from(a, (v, i) => toInt8(v + added[Math.floor(i / lanes / 100)]!)));
    } finally {
      driver.close();
    }
  });
});

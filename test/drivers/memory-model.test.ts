/**
 * The DRAM model presets and their overrides, the LOG_BUS_WIDTH config key, and the refusal of a
 * memory model by drivers that have none (no RTL needed).
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, makeConfig, sameHardware } from '../../config/config.ts';
import { memoryFromArgs } from '../../cli/options.ts';
import { IDEAL_MEMORY, MEMORY_PRESETS, configForMemory, describeMemory, memoryModel, memoryOpenOptions } from '../../drivers/memory-model.ts';
import { getDriver } from '../../drivers/registry.ts';

const DEFAULT_JSON = defaultVtaConfig().json;

describe('LOG_BUS_WIDTH', () => {
  it('defaults to a 64-bit bus and keeps TVM bitstream names; 7 is a 128-bit bus with its own build name', () => {
    const cfg = defaultVtaConfig();
    expect(cfg.busWidth).toBe(64);
    expect(cfg.bitstream).toBe('1x16_i8w8a32_15_15_18_17');
    const wide = makeConfig({ ...DEFAULT_JSON, LOG_BUS_WIDTH: 7 }, 'wide.json');
    expect(wide.busWidth).toBe(128);
    expect(wide.bitstream).toBe('1x16_i8w8a32_15_15_18_17_bus128');
    expect(sameHardware(cfg, wide)).toBe(false);
    expect(sameHardware(cfg, makeConfig({ ...DEFAULT_JSON, LOG_BUS_WIDTH: 6 }))).toBe(true);
  });

  it('a TARGET names no bus: an ultra96 target without the key is 64-bit', () => {
    expect(makeConfig({ ...DEFAULT_JSON, TARGET: 'ultra96' }).busWidth).toBe(64);
  });

  it.each([5, 8, 6.5, '7'])('refuses LOG_BUS_WIDTH %j naming the key and the range', (v) => {
    expect(() => makeConfig({ ...DEFAULT_JSON, LOG_BUS_WIDTH: v }, 'x.json')).toThrow(
      expect.objectContaining({ code: 'E_CONFIG', message: `x.json: LOG_BUS_WIDTH is ${JSON.stringify(v)}; allowed range 6..7 (64- or 128-bit bus)` }),
    );
  });
});

describe('memory presets', () => {
  it('ideal is the memory tsim always had: next-cycle answers, no limit, 64-bit', () => {
    expect(memoryModel()).toEqual({ name: 'ideal', readLatency: 1, outstanding: 0, busBytes: 8, writeLatency: 1 });
    expect(MEMORY_PRESETS.get('ideal')).toBe(IDEAL_MEMORY);
  });

  it('board presets: PYNQ has a 64-bit bus, the ZynqMP boards 128-bit; all slower than ideal', () => {
    expect(memoryModel('pynq').busBytes).toBe(8);
    expect(memoryModel('ultra96').busBytes).toBe(16);
    expect(memoryModel('zcu104').busBytes).toBe(16);
    for (const name of ['pynq', 'ultra96', 'zcu104']) {
      const m = memoryModel(name);
      expect(m.name).toBe(name);
      expect(m.readLatency).toBeGreaterThan(IDEAL_MEMORY.readLatency);
      expect(m.outstanding).toBeGreaterThan(0);
    }
  });

  it('an override that changes a figure makes the model custom; one that repeats it keeps the name', () => {
    expect(memoryModel('pynq', { readLatency: 64 })).toEqual({ ...memoryModel('pynq'), name: 'custom', readLatency: 64 });
    expect(memoryModel('pynq', { readLatency: 40 }).name).toBe('pynq');
    expect(memoryModel('ideal', { busBits: 128 })).toMatchObject({ name: 'custom', busBytes: 16 });
    expect(describeMemory(memoryModel('pynq'))).toBe('pynq (read latency 40, 8 outstanding, 64-bit bus, write latency 20)');
  });

  it('refuses unknown presets and bad figures with one-line usage errors', () => {
    expect(() => memoryModel('zedboard')).toThrow(/^--memory zedboard is not a memory preset \(known: ideal, pynq, ultra96, zcu104\)$/);
    expect(() => memoryModel('ideal', { readLatency: 0 })).toThrow(/--memory-latency 0 is invalid/);
    expect(() => memoryModel('ideal', { outstanding: -1 })).toThrow(/--memory-outstanding -1 is invalid/);
    expect(() => memoryModel('ideal', { busBits: 96 })).toThrow(/--memory-bus 96 is not a built bus width \(allowed: 64, 128\)/);
  });

  it('the CLI flags: none gives no model (the driver default), overrides alone start from ideal', () => {
    expect(memoryFromArgs({})).toBeUndefined();
    expect(memoryFromArgs({ memory: 'zcu104' })).toEqual(memoryModel('zcu104'));
    expect(memoryFromArgs({ memoryLatency: 32, memoryOutstanding: 4 })).toEqual({ ...IDEAL_MEMORY, name: 'custom', readLatency: 32, outstanding: 4 });
  });

  it('the build for a memory: same core, the bus of the memory', () => {
    const cfg = defaultVtaConfig();
    expect(configForMemory(cfg, IDEAL_MEMORY)).toBe(cfg);
    const wide = configForMemory(cfg, memoryModel('ultra96'));
    expect(wide.bitstream).toBe('1x16_i8w8a32_15_15_18_17_bus128');
    expect(wide.json.LOG_BLOCK).toBe(cfg.json.LOG_BLOCK);
  });

  it('fsim models no DRAM timing: a memory model is refused, none is fine', async () => {
    const fsim = await getDriver('fsim');
    expect(memoryOpenOptions(fsim, undefined)).toEqual({});
    expect(() => memoryOpenOptions(fsim, memoryModel('pynq'))).toThrow(
      expect.objectContaining({ code: 'E_USAGE', message: expect.stringMatching(/^--memory and --memory-\*: the fsim driver models no DRAM timing/) }),
    );
  });
});

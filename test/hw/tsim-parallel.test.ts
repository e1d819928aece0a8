/**
 * tsim runs a network's kernels on several devices at once (compiler/execute-parallel.ts, each
 * device's model clocked on its own thread by the bridge's runAsync): outputs, every kernel's
 * counters and every timeline span must be those of the in-order run on one device. Two models
 * clocked at once keep their assertion failures apart, and a model clocking on a worker thread
 * refuses every other call.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { loadSession } from '../../api/session.ts';
import tsim, { RTL_ASSERT_CODE, addonPath } from '../../drivers/backends/tsim.ts';
import { MEM_TYPE, NO_DEPS, OPCODE, encodeProgram, type Insn, type MemInsn } from '../../isa/index.ts';
import type { Graph, Tensor } from '../../graph/ir.ts';
import { compile, im2colNet, randomTensor, residualNet, rng } from '../compiler/helpers.ts';

const cfg = defaultVtaConfig();
const bytesOf = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

describe.skipIf(!existsSync(addonPath(cfg)))('tsim: kernels on several devices at once', () => {
  for (const [label, graph] of [['residual network', residualNet(5)], ['im2col first convolution', im2colNet()]] as [string, Graph][]) {
    it(`${label}: outputs, counters and timeline equal the in-order run's`, async () => {
      const model = compile(graph);
      const i = graph.inputs[0]!;
      const inputs = { [i.name]: randomTensor(rng(21), i.shape, 'int8') };
      const one = await loadSession(model, 'tsim');
      const two = await loadSession(model, 'tsim', undefined, 2);
      try {
        expect([one.devices, two.devices]).toEqual([1, 2]);
        const a = await one.run(inputs, { timeline: true });
        const b = await two.run(inputs, { timeline: true });
        expect(a.parallel).toBeUndefined();
        expect(b.parallel).toEqual({ devices: 2, kernels: model.kernels.length });
        for (const [name, t] of Object.entries(a.outputs)) expect(bytesOf(b.outputs[name]!).equals(bytesOf(t)), name).toBe(true);
        expect(b.counters).toEqual(a.counters);
        expect(Object.values(a.counters).every((c) => (c.cycles ?? 0) > 0)).toBe(true);
        expect([...b.spans!]).toEqual([...a.spans!]);
      } finally {
        one.close();
        two.close();
      }
    });
  }
});

const FINISH: Insn = { ...NO_DEPS, opcode: OPCODE.FINISH };
const mem = (opcode: 0 | 1, type: number, f: Partial<MemInsn>): MemInsn => ({
  ...NO_DEPS, opcode, memory_type: type, sram_base: 0, dram_base: 0, y_size: 1, x_size: 1, x_stride: 1,
  y_pad_0: 0, y_pad_1: 0, x_pad_0: 0, x_pad_1: 0, ...f,
});

describe.skipIf(!existsSync(addonPath(cfg)))('tsim: models clocked at once', () => {
  it('an assertion failing in one model while another runs is reported by that model alone', async () => {
    const good = await tsim.open(cfg);
    const bad = await tsim.open(cfg);
    try {
      // A sound GEMM program of ~260 k cycles on one device ...
      const gemm: Insn = { ...NO_DEPS, opcode: OPCODE.GEMM, reset_reg: 1, uop_bgn: 0, uop_end: 1, iter_out: 64, iter_in: 64,
        dst_factor_out: 0, dst_factor_in: 0, src_factor_out: 0, src_factor_in: 0, wgt_factor_out: 0, wgt_factor_in: 0 };
      const long = [mem(OPCODE.LOAD, MEM_TYPE.UOP, { dram_base: 0x400, x_size: 1, x_stride: 1 }), ...Array.from({ length: 64 }, () => gemm), FINISH];
      const gb = good.memAlloc(0x10000);
      good.copyFromHost(gb, encodeProgram(cfg, long));
      // ... and at the same time, on the other, tsim.test.ts's failing assertion: 2^16 STOREs
      // posting s2g tokens that nothing takes overflow the semaphore (NoTokenOverflow).
      const posts = [...Array.from({ length: 1 << 16 }, () => mem(OPCODE.STORE, MEM_TYPE.OUT, { x_size: 0, push_prev: 1 })), FINISH];
      const image = encodeProgram(cfg, posts);
      const bb = bad.memAlloc(image.length);
      bad.copyFromHost(bb, image);
      const [g, b] = await Promise.allSettled([good.run(gb.phys, long.length), bad.run(bb.phys, posts.length)]);
      expect(g.status).toBe('fulfilled');
      expect(b.status === 'rejected' && b.reason.code).toBe(RTL_ASSERT_CODE);
      expect(b.status === 'rejected' && b.reason.message).toMatch(/^RTL assertion NoTokenOverflow failed in vta_top\.u_s2g/);
    } finally {
      good.close();
      bad.close();
    }
  });

  it('a model clocking on a worker thread refuses every other call until it resolves', async () => {
    const addon = createRequire(import.meta.url)(addonPath(cfg)) as { Tsim: new () => { runAsync(n: number): Promise<{ stop: string; cycles: number }>; regRead(a: number): number; reset(): void; close(): void } };
    const model = new addon.Tsim();
    try {
      const running = model.runAsync(1000);
      expect(() => model.regRead(0)).toThrow(/tsim model is busy/);
      expect(() => model.reset()).toThrow(/tsim model is busy/);
      expect(await running).toMatchObject({ stop: 'budget', cycles: 1000 });
      expect(() => model.regRead(0)).not.toThrow();
    } finally {
      model.close();
    }
  });
});

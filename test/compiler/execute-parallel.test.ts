/**
 * A network's kernels spread over several devices (compiler/execute-parallel.ts), here fsim
 * devices so that it runs everywhere (tsim's own case: test/hw/tsim-parallel.test.ts): the outcome
 * must be the in-order run's, tensor for tensor and counter for counter; a device that leaves DRAM
 * other than the reference did, throws, or writes the constants makes the network run again in
 * order on one device, and the outcome is that run's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { execute, loadModel, type LoadedModel } from '../../compiler/execute.ts';
import { executeParallel } from '../../compiler/execute-parallel.ts';
import type { CompiledModel } from '../../compiler/model.ts';
import type { Driver } from '../../drivers/api.ts';
import fsim from '../../drivers/backends/fsim.ts';
import type { Graph, Tensor } from '../../graph/ir.ts';
import { compile, im2colNet, randomTensor, residualNet, rng } from './helpers.ts';

const cfg = defaultVtaConfig();

const opened: Driver[] = [];
afterEach(() => opened.splice(0).forEach((d) => d.close()));

async function load(model: CompiledModel, wrap?: (d: Driver) => Driver): Promise<LoadedModel> {
  const d = await fsim.open(cfg);
  opened.push(d);
  return loadModel(model, wrap ? wrap(d) : d);
}

/** `d` with its run replaced (every other call goes to `d`). */
function withRun(d: Driver, run: (inner: Driver, ...args: Parameters<Driver['run']>) => ReturnType<Driver['run']>): Driver {
  return {
    name: d.name,
    config: d.config,
    memAlloc: (bytes) => d.memAlloc(bytes),
    memAllocAt: (phys, bytes) => d.memAllocAt(phys, bytes),
    memFree: (buf) => d.memFree(buf),
    physAddr: (buf, offset) => d.physAddr(buf, offset),
    copyFromHost: (dst, src, offset) => d.copyFromHost(dst, src, offset),
    copyToHost: (dst, src, offset) => d.copyToHost(dst, src, offset),
    run: (...args) => run(d, ...args),
    close: () => d.close(),
  };
}

function inputsOf(g: Graph, seed: number): Record<string, Tensor> {
  const i = g.inputs[0]!;
  return { [i.name]: randomTensor(rng(seed), i.shape, 'int8') };
}

const bytesOf = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/** Outcomes must agree on every tensor (by bytes) and every kernel's counters. */
function expectSameOutcome(a: Awaited<ReturnType<typeof execute>>, b: Awaited<ReturnType<typeof execute>>): void {
  expect(Object.keys(a.tensors).sort()).toEqual(Object.keys(b.tensors).sort());
  for (const [name, t] of Object.entries(b.tensors)) expect(bytesOf(a.tensors[name]!).equals(bytesOf(t)), name).toBe(true);
  for (const [name, t] of Object.entries(b.outputs)) expect(bytesOf(a.outputs[name]!).equals(bytesOf(t)), name).toBe(true);
  expect(a.counters).toEqual(b.counters);
}

describe('kernels spread over several devices', () => {
  for (const [label, graph] of [['residual network', residualNet(5)], ['im2col first convolution', im2colNet()]] as const) {
    it(`${label}: the outcome is the in-order run's, on 2 and 3 devices`, async () => {
      const model = compile(graph);
      const inputs = inputsOf(graph, 11);
      const inOrder = await execute(model, cfg, await load(model), inputs, { keepAll: true }, false);
      for (const n of [2, 3]) {
        const devices = await Promise.all(Array.from({ length: n }, () => load(model)));
        const steps: string[] = [];
        const out = await executeParallel(model, cfg, await load(model), devices, inputs, { keepAll: true, onStep: (_d, _t, l) => steps.push(l) }, false);
        expect(out.parallel).toEqual({ devices: n, kernels: model.kernels.length });
        expectSameOutcome(out, inOrder);
        expect(steps.sort()).toEqual(model.kernels.map((k) => `vta ${k.name}`).sort());
        // Run again on the same devices: what the first run left in DRAM changes nothing.
        expectSameOutcome(await executeParallel(model, cfg, await load(model), devices, inputs, { keepAll: true }, false), inOrder);
      }
    });
  }

  it("a reference run that fails: the network runs in order on the devices and the outcome is that run's", async () => {
    const graph = residualNet(5);
    const model = compile(graph);
    const inputs = inputsOf(graph, 13);
    const inOrder = await execute(model, cfg, await load(model), inputs, { keepAll: true }, false);
    const reference = await load(model, (d) => withRun(d, async () => Promise.reject(new Error('reference lost'))));
    const out = await executeParallel(model, cfg, reference, [await load(model), await load(model)], inputs, { keepAll: true }, false);
    expect(out.parallel.fallback).toMatch(/^the fsim reference run failed: reference lost$/);
    expectSameOutcome(out, inOrder);
  });

  it("a device that throws outside its runs (writing an input): the in-order run's outcome, nothing left unhandled", async () => {
    const graph = residualNet(5);
    const model = compile(graph);
    const inputs = inputsOf(graph, 14);
    const inOrder = await execute(model, cfg, await load(model), inputs, { keepAll: true }, false);
    let armed = false;
    const broken = await load(model, (d) => ({
      ...withRun(d, (inner, ...args) => inner.run(...args)),
      copyFromHost: (dst, src, offset) => {
        if (armed) throw new Error('bus error');
        d.copyFromHost(dst, src, offset);
      },
    }));
    armed = true;
    const out = await executeParallel(model, cfg, await load(model), [await load(model), broken], inputs, { keepAll: true }, false);
    expect(out.parallel.fallback).toBe('a device failed: bus error');
    expectSameOutcome(out, inOrder);
  });

  const faults: [string, (model: CompiledModel) => (d: Driver) => Driver, RegExp][] = [
    [
      'leaves a wrong byte in its output',
      (model) => (d) =>
        withRun(d, async (inner, phys, count, options) => {
          const r = await inner.run(phys, count, options);
          // The output buffer of the kernel that ran: flip its first byte.
          const k = model.kernels.find((k) => phys === inner.physAddr(loadedCode.get(inner)!, k.insnStart * cfg.insnBytes))!;
          const b = model.buffers[model.activations[k.output]!]!;
          const one = new Uint8Array(1);
          inner.copyToHost(one, loadedAct.get(inner)!, b.offset);
          inner.copyFromHost(loadedAct.get(inner)!, Uint8Array.of(one[0]! ^ 1), b.offset);
          return r;
        }),
      /left DRAM other than the fsim reference did/,
    ],
    ['throws', () => (d) => withRun(d, async () => Promise.reject(new Error('device lost'))), /failed: device lost/],
    [
      'writes a constant',
      () => (d) =>
        withRun(d, async (inner, ...args) => {
          const r = await inner.run(...args);
          inner.copyFromHost(loadedConst.get(inner)!, Uint8Array.of(0x5a), 0);
          return r;
        }),
      /wrote to the code or constant segment/,
    ],
  ];
  // The segments of each faulty device's load, for the faults to find their buffers.
  const loadedCode = new Map<Driver, LoadedModel['segments']['code']>();
  const loadedAct = new Map<Driver, LoadedModel['segments']['act']>();
  const loadedConst = new Map<Driver, LoadedModel['segments']['const']>();

  for (const [what, fault, why] of faults) {
    it(`a device that ${what}: the network runs again in order and the outcome is that run's`, async () => {
      const graph = residualNet(5);
      const model = compile(graph);
      const inputs = inputsOf(graph, 12);
      const inOrder = await execute(model, cfg, await load(model), inputs, { keepAll: true }, false);
      const faulty = await load(model, fault(model));
      const inner = opened.at(-1)!;
      loadedCode.set(inner, faulty.segments.code);
      loadedAct.set(inner, faulty.segments.act);
      loadedConst.set(inner, faulty.segments.const);
      // The faulty device second: the in-order run again goes to the first, a sound one.
      const out = await executeParallel(model, cfg, await load(model), [await load(model), faulty], inputs, { keepAll: true }, false);
      expect(out.parallel.fallback).toMatch(why);
      expectSameOutcome(out, inOrder);
    });
  }
});

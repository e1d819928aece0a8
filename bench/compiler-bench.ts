/**
 * Compiler figures for `make bench`: CPU time to import and compile the ResNet-18-shaped ONNX
 * model (goal: 1 s), compile time of the ten ResNet-18 layers of TVM's
 * test_benchmark_topi_conv2d (goal: under 1 s together), instructions and uops per layer, DRAM
 * bytes moved against the minimum (each input, weight, bias and output moved once), and the
 * fsim run time of each layer (checked bit-exact against the reference on the way), and, when
 * the tsim (RTL) driver is available, cycles per layer and GEMM utilisation (GEMM uop-iterations
 * per cycle: 1.0 means the GEMM core never waits for loads or stores).
 * The same figures for MobileNet's grouped layers D1-D9 (test_benchmark_topi_group_conv2d), plus
 * their GEMM work against the grouped conv's own MACs / (BATCH·BLOCK_IN·BLOCK_OUT).
 */
import { pathToFileURL } from 'node:url';
import { medianCpuSeconds, medianSeconds } from './measure.ts';
import { figure, formatTable, type Figures } from './table.ts';
import { writePackage } from '../compiler/package.ts';
import { RESNET18_ONNX } from './resnet18.ts';
import { importOnnx } from '../frontend/onnx/import.ts';
import { defaultVtaConfig } from '../config/config.ts';
import { compileGraph, type CompiledModel } from '../compiler/compile.ts';
import { runCompiled } from '../compiler/execute.ts';
import type { ConstTensor, Graph, Tensor } from '../graph/ir.ts';
import { runReference } from '../graph/reference.ts';
import { listDrivers } from '../drivers/registry.ts';
import { VtaError } from '../lib/errors.ts';

/** (name, H=W, Cin, Cout, kernel, pad, stride), spec §6.2. */
const LAYERS: [string, number, number, number, number, number, number][] = [
  ['C2', 56, 64, 64, 3, 1, 1],
  ['C3', 56, 64, 128, 3, 1, 2],
  ['C4', 56, 64, 128, 1, 0, 2],
  ['C5', 28, 128, 128, 3, 1, 1],
  ['C6', 28, 128, 256, 3, 1, 2],
  ['C7', 28, 128, 256, 1, 0, 2],
  ['C8', 14, 256, 256, 3, 1, 1],
  ['C9', 14, 256, 512, 3, 1, 2],
  ['C10', 14, 256, 512, 1, 0, 2],
  ['C11', 7, 512, 512, 3, 1, 1],
];

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function values(n: number, lo: number, hi: number, r: () => number): number[] {
  return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

/** MobileNet grouped layers (name, H=W, Cin, Cout, groups, stride; 3x3, pad 1), spec §6.2. */
const GROUP_LAYERS: [string, number, number, number, number, number][] = [
  ['D1', 112, 32, 32, 2, 1],
  ['D2', 112, 64, 64, 4, 2],
  ['D3', 56, 128, 128, 8, 1],
  ['D4', 56, 128, 128, 8, 2],
  ['D5', 28, 256, 256, 16, 1],
  ['D6', 28, 256, 256, 16, 2],
  ['D7', 14, 512, 512, 32, 1],
  ['D8', 14, 512, 512, 32, 2],
  ['D9', 7, 1024, 1024, 64, 1],
];

/** conv2d -> >>8 -> + bias -> clip(0,127) -> cast, as in TVM's benchmark. */
function layerGraph(name: string, hw: number, ci: number, co: number, k: number, pad: number, stride: number, groups = 1): Graph {
  const r = lcg(hw * co + k);
  const w: ConstTensor = { shape: [co, ci / groups, k, k], dtype: 'int8', data: values((co * ci * k * k) / groups, -128, 127, r) };
  const b: ConstTensor = { shape: [co], dtype: 'int32', data: values(co, -(1 << 14), 1 << 14, r) };
  return {
    format: 'vta-graph/1',
    name,
    inputs: [{ name: 'x', shape: [1, ci, hw, hw], dtype: 'int8' }],
    outputs: ['y'],
    tensors: { w, b },
    nodes: [
      { name: 'conv', op: 'conv2d', inputs: ['x', 'w'], output: 'c', attrs: { stride: [stride, stride], pad: [pad, pad, pad, pad], groups } },
      { name: 'shift', op: 'requantize', inputs: ['c'], output: 's', attrs: { shift: 8 } },
      { name: 'bias', op: 'bias_add', inputs: ['s', 'b'], output: 'sb' },
      { name: 'clip', op: 'clip', inputs: ['sb'], output: 'cl', attrs: { min: 0, max: 127 } },
      { name: 'cast', op: 'cast', inputs: ['cl'], output: 'y', attrs: { dtype: 'int8' } },
    ],
  };
}

export async function runCompilerBench(): Promise<Figures> {
  const cfg = defaultVtaConfig();
  const figures: Figures = {};
  const graphs = LAYERS.map((l) => layerGraph(...l));
  const models: CompiledModel[] = graphs.map((g) => compileGraph(g, { config: cfg }));
  figures['resnet18 C2-C11 compile ms (total, median)'] =
    (await medianSeconds(() => graphs.map((g) => compileGraph(g, { config: cfg })), { samples: 5, minSampleSeconds: 0 })) * 1e3;
  // The whole ResNet-18-shaped ONNX model: import (weights read, quantization chosen) and compile.
  const imported = importOnnx(RESNET18_ONNX);
  const importSeconds = await medianCpuSeconds(() => importOnnx(RESNET18_ONNX));
  const compileSeconds = await medianCpuSeconds(() => compileGraph(imported.graph, { config: cfg }));
  const packageSeconds = await medianCpuSeconds(() => writePackage(compileGraph(imported.graph, { config: cfg }))) - compileSeconds;
  figures['resnet18 onnx import, in-process'] = figure(importSeconds, 'CPU s');
  figures['resnet18 compile, in-process'] = figure(compileSeconds, 'CPU s');
  figures['resnet18 .vtapkg write, in-process'] = figure(packageSeconds, 'CPU s');
  figures['resnet18 import + compile + write, in-process (sum of medians)'] = figure(importSeconds + compileSeconds + packageSeconds, 'CPU s', undefined, '≤ 1 s');
  let moved = 0;
  let minimum = 0;
  let runMs = 0;
  for (let i = 0; i < LAYERS.length; i++) {
    const [name, hw, ci] = LAYERS[i]!;
    const m = models[i]!;
    const k = m.kernels[0]!;
    const r = lcg(7 + i);
    const x: Tensor = { shape: [1, ci, hw, hw], dtype: 'int8', data: Int8Array.from(values(ci * hw * hw, -128, 127, r)) };
    const out = await runCompiled(m, { x });
    const ms = (await medianSeconds(() => runCompiled(m, { x }), { samples: 5, minSampleSeconds: 0 })) * 1e3;
    runMs += ms;
    const want = runReference(m.graph, { x }).y!.data;
    const got = out.outputs.y!.data;
    const bad = want.findIndex((v, j) => v !== got[j]);
    if (bad >= 0) throw new VtaError('E_MISMATCH', `bench layer ${name}: element ${bad} is ${got[bad]}, reference ${want[bad]}`);
    const c = out.counters[k.name]!;
    const bytes = c.inp_load_nbytes + c.wgt_load_nbytes + c.acc_load_nbytes + c.acc8_load_nbytes + c.out_store_nbytes;
    moved += bytes;
    minimum += k.minDramBytes;
    const t = k.tiling!;
    figures[`${name} insns`] = k.insnCount;
    figures[`${name} uops`] = k.uopCount;
    figures[`${name} tile (oc,ic,h,w,slots)`] = `${t.tOC},${t.tIC},${t.tOH},${t.tOW},${t.slots}`;
    figures[`${name} DRAM bytes / minimum`] = bytes / k.minDramBytes;
    figures[`${name} GEMM uop-iterations`] = c.gemm_counter;
    figures[`${name} fsim ms (median)`] = ms;
  }
  const tsim = (await listDrivers()).find((d) => d.name === 'tsim');
  const why = tsim ? tsim.unavailable?.() : 'no tsim driver';
  if (tsim && !why) {
    let cycles = 0;
    let gemm = 0;
    for (let i = 0; i < LAYERS.length; i++) {
      const [name, hw, ci] = LAYERS[i]!;
      const m = models[i]!;
      const r = lcg(7 + i);
      const x: Tensor = { shape: [1, ci, hw, hw], dtype: 'int8', data: Int8Array.from(values(ci * hw * hw, -128, 127, r)) };
      const out = await runCompiled(m, { x }, { driver: 'tsim' });
      const want = runReference(m.graph, { x }).y!.data;
      const bad = want.findIndex((v, j) => v !== out.outputs.y!.data[j]);
      if (bad >= 0) throw new VtaError('E_MISMATCH', `bench layer ${name} on tsim: element ${bad} differs from the reference`);
      const c = out.counters[m.kernels[0]!.name]!;
      cycles += c.cycles ?? 0;
      gemm += c.gemm_counter;
      figures[`${name} tsim cycles`] = c.cycles ?? 0;
      figures[`${name} GEMM utilisation`] = c.gemm_counter / (c.cycles ?? 1);
    }
    figures['all layers tsim cycles'] = cycles;
    figures['all layers GEMM utilisation'] = gemm / cycles;
    figures['all layers ms at 100 MHz'] = cycles / 1e5;
  } else figures['tsim'] = `skipped: ${why}`;
  figures['all layers DRAM MB moved'] = moved / 1e6;
  figures['all layers DRAM bytes / minimum'] = moved / minimum;
  figures['all layers fsim ms (sum of medians)'] = runMs;
  await groupConvFigures(figures, tsim && !why ? 'tsim' : undefined);
  return figures;
}

/** MobileNet D1-D9: GEMM work vs own MACs, DRAM traffic, fsim ms, tsim cycles; each checked bit-exact. */
export async function groupConvFigures(figures: Figures, tsim: string | undefined): Promise<void> {
  const cfg = defaultVtaConfig();
  const tileMacs = cfg.batch * cfg.blockIn * cfg.blockOut;
  let work = 0;
  let own = 0;
  let cycles = 0;
  let runMs = 0;
  const t0 = performance.now();
  const models = GROUP_LAYERS.map(([name, hw, ci, co, g, s]) => compileGraph(layerGraph(name, hw, ci, co, 3, 1, s, g), { config: cfg }));
  figures['mobilenet D1-D9 compile ms (total)'] = performance.now() - t0;
  for (let i = 0; i < GROUP_LAYERS.length; i++) {
    const [name, hw, ci, co, groups, stride] = GROUP_LAYERS[i]!;
    const m = models[i]!;
    const k = m.kernels[0]!;
    const oh = Math.floor((hw + 2 - 3) / stride) + 1;
    const ownTiles = (co * oh * oh * (ci / groups) * 9) / tileMacs;
    const x: Tensor = { shape: [1, ci, hw, hw], dtype: 'int8', data: Int8Array.from(values(ci * hw * hw, -128, 127, lcg(11 + i))) };
    const check = async (driver?: string) => {
      const out = await runCompiled(m, { x }, driver ? { driver } : {});
      const want = runReference(m.graph, { x }).y!.data;
      const bad = want.findIndex((v, j) => v !== out.outputs.y!.data[j]);
      if (bad >= 0) throw new VtaError('E_MISMATCH', `bench layer ${name}${driver ? ` on ${driver}` : ''}: element ${bad} differs from the reference`);
      return out.counters[k.name]!;
    };
    const c = await check();
    const ms = (await medianSeconds(() => runCompiled(m, { x }), { samples: 3, minSampleSeconds: 0 })) * 1e3;
    runMs += ms;
    work += c.gemm_counter;
    own += ownTiles;
    figures[`${name} insns`] = k.insnCount;
    figures[`${name} GEMM uop-iterations / own MACs`] = c.gemm_counter / ownTiles;
    figures[`${name} DRAM bytes / minimum`] = (c.inp_load_nbytes + c.wgt_load_nbytes + c.acc_load_nbytes + c.out_store_nbytes) / k.minDramBytes;
    figures[`${name} fsim ms (median)`] = ms;
    if (tsim) {
      const ct = await check(tsim);
      cycles += ct.cycles ?? 0;
      figures[`${name} tsim cycles`] = ct.cycles ?? 0;
      figures[`${name} GEMM utilisation (useful MACs / peak)`] = ownTiles / (ct.cycles ?? 1);
    }
  }
  figures['mobilenet D1-D9 GEMM uop-iterations / own MACs'] = work / own;
  figures['mobilenet D1-D9 fsim ms (sum of medians)'] = runMs;
  if (tsim) {
    figures['mobilenet D1-D9 tsim cycles'] = cycles;
    figures['mobilenet D1-D9 ms at 100 MHz'] = cycles / 1e5;
    figures['mobilenet D1-D9 GEMM utilisation (useful MACs / peak)'] = own / cycles;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(formatTable('compiler', await runCompilerBench()));

/**
 * One kernel of a model compiled and run on its own, for timing a tiling without the rest of the
 * network: the passes up to choose-tilings run once for the whole model (`tiledState`), then each
 * candidate tiling of one kernel goes through tensorize, sync, emit and link alone, with only its
 * own buffers (placed with the alignment they have in the whole model, so its DMAs, and with them
 * its cycles, are those it has inside the network), and runs on a driver against its own weights
 * and an input of zeros (VTA's cycle counts do not depend on the values).
 */
import type { VtaConfig } from '../config/config.ts';
import type { Driver } from '../drivers/api.ts';
import { decodeInsn, type Insn } from '../isa/index.ts';
import type { Counters } from '../sim/api.ts';
import { uopBuffer } from './passes/emit.ts';
import { byName } from '../lib/named.ts';
import { createSource, runPasses } from './compile.ts';
import { loadModel } from './execute.ts';
import type { CompiledModel } from './model.ts';
import { DEFAULT_PASSES } from './passes/index.ts';
import type { Tiled } from './passes/choose-tilings.ts';
import type { Linked } from './passes/link.ts';
import type { CompileOptions } from './passes/pass.ts';
import { MemoryPlan, SEGMENTS } from './memplan.ts';
import { placementOrder } from './lower/buffers.ts';
import type { Graph } from '../graph/ir.ts';
import type { TilingOf, KernelKind } from './lower/table.ts';

const THROUGH = 'choose-tilings';

/** The whole model's state after choose-tilings (every kernel with the cost model's tiling). */
export function tiledState(graph: Graph, options: CompileOptions): Tiled {
  const upTo = DEFAULT_PASSES.findIndex((p) => p.name === THROUGH) + 1;
  return runPasses(createSource(graph, options), DEFAULT_PASSES.slice(0, upTo)) as Tiled;
}

/**
 * Kernel `index` of `state` on its own: only its buffers, placed as the whole model places buffers
 * (each 4 KiB aligned, so every DMA has the alignment, and the cycles, it has in the whole model),
 * and only its constants. Built once per kernel; each candidate tiling then compiles from it.
 */
export function kernelAlone(state: Tiled, index: number): Tiled {
  const kernel = state.kernels[index]!;
  const plan = new MemoryPlan();
  for (const name of placementOrder(kernel.buffers)) {
    const b = state.plan.get(name);
    plan.place(name, b.segment, b.bytes);
  }
  const constants = new Map([...state.constants].filter(([name]) => plan.buffers.has(name)));
  return { ...state, plan, constants, kernels: [kernel] };
}

/** The kernel of `alone` (kernelAlone) compiled with `tiling`: a model of one kernel. */
export function compileKernelAlone<K extends KernelKind>(alone: Tiled, tiling: TilingOf<K>): CompiledModel {
  let s: unknown = { ...alone, kernels: [{ ...alone.kernels[0]!, tiling }] };
  for (const pass of DEFAULT_PASSES.slice(DEFAULT_PASSES.findIndex((p) => p.name === THROUGH) + 1)) s = pass.run(s);
  return (s as Linked).model;
}

/**
 * What identifies a kernel's timing: its instruction stream and uops with the DRAM addresses and
 * ALU immediates left out (neither changes a cycle count). Two kernels with equal fingerprints
 * (ResNet's repeated blocks) are tuned once.
 */
export function timingFingerprint(model: CompiledModel, cfg: VtaConfig): string {
  const k = model.kernels[0]!;
  const insns: string[] = [];
  for (let i = 0; i < k.insnCount; i++) {
    const { dram_base: _address, imm: _imm, ...rest } = decodeInsn(cfg, model.code, (k.insnStart + i) * cfg.insnBytes) as Insn & { dram_base?: number; imm?: number };
    insns.push(JSON.stringify(rest));
  }
  const uops = byName(model.buffers, uopBuffer(k.name))!;
  const uopBytes = Buffer.from(model.code.subarray(uops.offset, uops.offset + k.uopCount * cfg.uopElemBytes)).toString('hex');
  return `${insns.join('')}/${uopBytes}`;
}

/** Run the single kernel of `model` on an open driver and return its counters; the device memory is freed after. */
export async function runKernelAlone(model: CompiledModel, driver: Driver, budget?: number): Promise<Counters> {
  const loaded = loadModel(model, driver);
  try {
    const k = model.kernels[0]!;
    const insnPhys = driver.physAddr(loaded.segments.code, k.insnStart * driver.config.insnBytes);
    const r = await driver.run(insnPhys, k.insnCount, { budget: budget ?? 16 * (k.work + k.dramBytes) + 100_000 });
    return r.counters;
  } finally {
    for (const seg of SEGMENTS) driver.memFree(loaded.segments[seg]);
  }
}

/**
 * runCompiled: load a compiled model onto a driver (allocate its three segments anywhere, apply
 * relocations) and run it: host steps on the CPU, VTA kernels as instruction streams. Tensors
 * stay packed in device memory between kernels and are unpacked only when the host needs them.
 */
import { makeConfig, sameHardware, type VtaConfig } from '../config/config.ts';
import type { DeviceBuffer, Driver, StageSpan } from '../drivers/api.ts';
import { getDriver } from '../drivers/registry.ts';
import { byName, nameRecord, setName } from '../lib/named.ts';
import { sameBytes } from '../lib/bytes.ts';
import { OPCODE, decodeInsn, encodeInsn, getBits, layouts, memElemBytes, setBits } from '../isa/index.ts';
import type { Counters, SimObserver } from '../sim/api.ts';
import type { CompiledModel, KernelInfo } from './model.ts';
import { compileError } from './errors.ts';
import type { Tensor } from '../graph/ir.ts';
import { evaluateNode } from '../graph/reference.ts';
import { SEGMENTS, type SegmentName } from './memplan.ts';
import { constData, gridTiles, im2colPackedBytes, packActivation, packIm2col, tileGrid, unpackActivation } from './pack.ts';
import { packedBytes, runPacked, runsPacked } from './packed-host-ops.ts';

export interface RunOptions {
  /** A driver name from the registry (default fsim) or an open driver with the model's config. */
  driver?: string | Driver;
  /** Per-kernel observer (e.g. a race checker), created before each kernel runs. */
  observe?: (kernel: number, insnBase: number) => SimObserver | undefined;
  /** Work bound per kernel run (see drivers/api.ts); default: twice the kernel's exact work. */
  budget?: number;
  /** Keep every intermediate tensor in the result (for --check); default: outputs only. */
  keepAll?: boolean;
  /** Called before each step (a VTA kernel or a host op) runs: for progress display. */
  onStep?: (done: number, total: number, label: string) => void;
  /** Record each kernel's timeline (drivers that record one: see DriverInfo.timeline). */
  timeline?: boolean;
  /**
   * Called as each kernel is launched (its inputs in DRAM) and once it has run, with the loaded
   * model: the reference pass of execute-parallel.ts records DRAM through it.
   */
  onKernel?: (kernel: number, phase: 'launch' | 'done', lm: LoadedModel) => void;
}

export interface RunOutcome {
  outputs: Record<string, Tensor>;
  /** Every tensor computed (when keepAll), by name. */
  tensors: Record<string, Tensor>;
  /** Counters of each kernel run, by kernel name. */
  counters: Record<string, Counters>;
  /** With `timeline`: each kernel's stage spans, by kernel name. */
  spans?: Map<string, StageSpan[]>;
}

/** A model loaded on a device: segment buffers and relocated code. */
export interface LoadedModel {
  driver: Driver;
  segments: Record<SegmentName, DeviceBuffer>;
  codeImage: Uint8Array;
  /**
   * Host buffers reused by every run of this load, by purpose and tensor: packed images read from
   * the device or made on the host, which never leave execute (allocating them on each inference
   * made the garbage collector a large share of a run).
   */
  scratch?: Map<string, Uint8Array>;
}

/**
 * The last relocated image of each model, with what it was made from: a model run again on a fresh
 * device gets the same bases, so its code is not decoded and re-encoded on every load.
 */
const relocated = new WeakMap<CompiledModel, { from: Uint8Array; relocs: CompiledModel['relocs']; key: string; image: Uint8Array }>();

/** Relocate the code image for segments placed at `bases` (physical byte addresses). */
export function relocate(model: CompiledModel, cfg: VtaConfig, bases: Record<SegmentName, number>): Uint8Array {
  const key = `${cfg.bitstream}:${SEGMENTS.map((s) => bases[s]).join(':')}`;
  const last = relocated.get(model);
  // Reused only for the same bases, relocation list and code bytes (compared, not trusted).
  if (last && last.key === key && last.relocs === model.relocs && sameBytes(last.from, model.code)) return new Uint8Array(last.image);
  const image = relocateImage(model, cfg, bases);
  relocated.set(model, { from: new Uint8Array(model.code), relocs: model.relocs, key, image });
  return new Uint8Array(image);
}

function relocateImage(model: CompiledModel, cfg: VtaConfig, bases: Record<SegmentName, number>): Uint8Array {
  // A copy (a Buffer's slice() would be a view): the model's own image is never relocated.
  const code = new Uint8Array(model.code);
  const words = new Uint32Array(code.buffer, code.byteOffset, code.length >> 2);
  const { byName } = layouts(cfg).mem;
  const base = byName.dram_base!;
  const type = byName.memory_type!;
  for (const [i, seg] of model.relocs) {
    const opcode = code[i * 16]! & 7;
    // A LOAD or STORE whose new dram_base fits is patched in place; anything else goes through the
    // ISA's encoder, which refuses it with its own error.
    const memType = opcode === OPCODE.LOAD || opcode === OPCODE.STORE ? getBits(words, i * 128 + type.offset, type.width) : -1;
    const moved = memType < 0 ? -1 : getBits(words, i * 128 + base.offset, base.width) + bases[seg] / memElemBytes(cfg, memType);
    if (Number.isInteger(moved) && moved >= 0 && moved < 2 ** base.width) {
      setBits(words, i * 128 + base.offset, base.width, moved);
      continue;
    }
    const insn = decodeInsn(cfg, code, i * 16) as { dram_base: number; memory_type: number };
    insn.dram_base += bases[seg] / memElemBytes(cfg, insn.memory_type);
    encodeInsn(cfg, insn as never, code, i * 16);
  }
  return code;
}

export function loadModel(model: CompiledModel, driver: Driver): LoadedModel {
  const cfg = driver.config;
  const segments = {} as Record<SegmentName, DeviceBuffer>;
  for (const s of SEGMENTS) segments[s] = driver.memAlloc(Math.max(model.segments[s], 1));
  const bases = Object.fromEntries(SEGMENTS.map((s) => [s, driver.physAddr(segments[s])])) as Record<SegmentName, number>;
  const codeImage = relocate(model, cfg, bases);
  driver.copyFromHost(segments.code, codeImage);
  if (model.constImage.length) driver.copyFromHost(segments.const, model.constImage);
  return { driver, segments, codeImage };
}

/**
 * An int32 tensor VTA stored as four 8-bit planes of the packed layout, low byte first (the top
 * plane is signed: the kernel shifted arithmetically).
 */
export function unpackInt32Planes(bytes: Uint8Array, shape: number[], cfg: VtaConfig): Tensor {
  const planeBytes = gridTiles(tileGrid(shape, cfg)) * cfg.outElemBytes;
  const planes = [0, 1, 2, 3].map((p) => unpackActivation(bytes.subarray(p * planeBytes, (p + 1) * planeBytes), shape, cfg).data);
  const out = new Int32Array(planes[0]!.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = (planes[0]![i]! & 0xff) | ((planes[1]![i]! & 0xff) << 8) | ((planes[2]![i]! & 0xff) << 16) | (planes[3]![i]! << 24);
  }
  return { shape: [...shape], dtype: 'int32', data: out };
}

export async function runCompiled(model: CompiledModel, inputs: Record<string, Tensor>, options: RunOptions = {}): Promise<RunOutcome> {
  const cfg = makeConfig(model.config, 'compiled model');
  let driver: Driver;
  let owned = false;
  // Unknown for a driver handed in: then its own default budget applies.
  let clocked: boolean | undefined;
  if (typeof options.driver === 'object') {
    driver = options.driver;
    if (!sameHardware(driver.config, cfg)) throw compileError('E_PACKAGE', undefined, `model was compiled for ${cfg.bitstream}, driver runs ${driver.config.bitstream}`);
  } else {
    const info = await getDriver(options.driver ?? 'fsim', cfg);
    driver = await info.open(cfg);
    owned = true;
    clocked = info.clocked;
  }
  let loaded: LoadedModel | undefined;
  try {
    loaded = loadModel(model, driver);
    return await execute(model, cfg, loaded, inputs, options, clocked);
  } finally {
    if (owned) driver.close();
    else if (loaded) for (const s of SEGMENTS) driver.memFree(loaded.segments[s]);
  }
}

/** Physical address of a kernel's first instruction on a loaded model. */
export function kernelAddress(lm: LoadedModel, k: KernelInfo, cfg: VtaConfig): number {
  return lm.driver.physAddr(lm.segments.code, k.insnStart * cfg.insnBytes);
}

/**
 * The work bound of one kernel's run: the one asked for, else for fsim, which counts work known
 * exactly, twice that (bounds any run of a correct program); for clocked drivers, which count
 * cycles, generously more for DMA at a few bytes per cycle; else the driver's own default.
 */
export function kernelBudget(k: KernelInfo, options: Pick<RunOptions, 'budget'>, clocked: boolean | undefined): number | undefined {
  return options.budget ?? (clocked === false ? 2 * k.work + 1000 : clocked ? 16 * (k.work + k.dramBytes) + 100_000 : undefined);
}

/**
 * Run a model already loaded by loadModel: callable many times on one load (api/ runs k batches
 * through one program this way). `clocked` chooses the default per-kernel budget (see below).
 */
export async function execute(
  model: CompiledModel,
  cfg: VtaConfig,
  lm: LoadedModel,
  inputs: Record<string, Tensor>,
  options: RunOptions,
  clocked: boolean | undefined,
): Promise<RunOutcome> {
  const g = model.graph;
  const { types } = model;
  const host = new Map<string, Tensor>();
  const onDevice = new Set<string>();
  // Results of host steps run on packed tiles (packed-host-ops.ts), as the images a kernel loads.
  const packed = new Map<string, Uint8Array>();
  const all = nameRecord<Tensor>();
  const counters = nameRecord<Counters>();
  const spans = options.timeline ? new Map<string, StageSpan[]>() : undefined;
  const { driver } = lm;
  const scratch = (lm.scratch ??= new Map());
  /** The reusable buffer `key` of `bytes` bytes (a fresh one when the size differs). */
  const scratchBytes = (key: string, bytes: number): Uint8Array => {
    let b = scratch.get(key);
    if (!b || b.length !== bytes) scratch.set(key, (b = new Uint8Array(bytes)));
    return b;
  };

  for (const i of g.inputs) {
    const t = byName(inputs, i.name);
    if (!t) throw compileError('E_INPUT', undefined, `graph input ${i.name} is missing`);
    if (t.dtype !== i.dtype || t.shape.join(',') !== i.shape.join(',')) {
      throw compileError('E_INPUT', undefined, `input ${i.name} is ${t.dtype}[${t.shape.join(',')}], the model expects ${i.dtype}[${i.shape.join(',')}]`);
    }
    host.set(i.name, t);
  }
  for (const [name, c] of Object.entries(g.tensors)) host.set(name, { shape: c.shape, dtype: c.dtype, data: constData(name, c) });

  const buf = (tensor: string) => {
    const b = byName(model.buffers, byName(model.activations, tensor)!)!;
    return { seg: lm.segments[b.segment], offset: b.offset, bytes: b.bytes };
  };
  const fetch = (name: string): Tensor => {
    const have = host.get(name);
    if (have) return have;
    const image = packed.get(name);
    if (image) {
      const t = unpackActivation(image, types.get(name)!.shape, cfg);
      host.set(name, t);
      return t;
    }
    if (!onDevice.has(name)) throw compileError('E_INTERNAL', undefined, `tensor ${name} was never computed`);
    const b = buf(name);
    const bytes = new Uint8Array(b.bytes);
    driver.copyToHost(bytes, b.seg, b.offset);
    const type = types.get(name)!;
    const t = type.dtype === 'int32' ? unpackInt32Planes(bytes, type.shape, cfg) : unpackActivation(bytes, type.shape, cfg);
    host.set(name, t);
    return t;
  };
  /** The packed image of a tensor that packs exactly (packed-host-ops.ts): read as it lies when it can be. */
  const packedImage = (name: string): Uint8Array => {
    const image = packed.get(name);
    if (image) return image;
    if (host.has(name) || !onDevice.has(name)) return packActivation(fetch(name), cfg);
    const b = buf(name);
    const bytes = scratchBytes(`device:${name}`, b.bytes);
    driver.copyToHost(bytes, b.seg, b.offset);
    return bytes;
  };

  // By name, once: finding each host step's node by a scan made a long chain of host ops quadratic.
  const nodes = new Map(g.nodes.map((n) => [n.name, n]));
  for (const [index, step] of model.steps.entries()) {
    options.onStep?.(index, model.steps.length, step.kind === 'host' ? `host ${step.node}` : `vta ${model.kernels[step.kernel]!.name}`);
    if (step.kind === 'host') {
      const node = nodes.get(step.node)!;
      const [x] = node.inputs;
      if (node.inputs.length === 1 && runsPacked(node, types.get(x!)!, types.get(node.output)!, cfg)) {
        const image = { shape: types.get(x!)!.shape, bytes: packedImage(x!) };
        const outType = types.get(node.output)!;
        const into = scratchBytes(`host:${node.output}`, packedBytes(outType.shape, cfg));
        packed.set(node.output, runPacked(node, image, outType, cfg, into).bytes);
        continue;
      }
      const out = evaluateNode(node, node.inputs.map(fetch), types.get(node.output)!);
      host.set(node.output, out);
      continue;
    }
    const k = model.kernels[step.kernel]!;
    if (k.im2col) {
      // Rearranged on every run: its buffer holds this kernel's image of the input, nothing else.
      const b = model.buffers[k.im2col.buffer]!;
      const x = fetch(k.inputs[0]!);
      driver.copyFromHost(lm.segments[b.segment], packIm2col(x, k.im2col.window, cfg, scratchBytes(`im2col:${k.name}`, im2colPackedBytes(x.shape, k.im2col.window, cfg))), b.offset);
    }
    for (const t of k.inputs) {
      if (onDevice.has(t) || (k.im2col && t === k.inputs[0])) continue;
      const b = buf(t);
      driver.copyFromHost(b.seg, packed.get(t) ?? packActivation(fetch(t), cfg), b.offset);
      onDevice.add(t);
    }
    const insnPhys = kernelAddress(lm, k, cfg);
    const observer = options.observe?.(step.kernel, k.insnStart);
    const budget = kernelBudget(k, options, clocked);
    options.onKernel?.(step.kernel, 'launch', lm);
    const r = await driver.run(insnPhys, k.insnCount, {
      ...(budget !== undefined ? { budget } : {}),
      ...(observer ? { observer } : {}),
      ...(spans ? { timeline: true } : {}),
    });
    options.onKernel?.(step.kernel, 'done', lm);
    setName(counters, k.name, r.counters);
    if (spans && r.spans) spans.set(k.name, r.spans);
    onDevice.add(k.output);
    host.delete(k.output);
  }

  const outputs = nameRecord(g.outputs.map((o) => [o, fetch(o)] as const));
  if (options.keepAll) {
    for (const n of g.nodes) {
      if (host.has(n.output) || onDevice.has(n.output) || packed.has(n.output)) setName(all, n.output, fetch(n.output));
    }
  }
  return { outputs, tensors: all, counters, ...(spans ? { spans } : {}) };
}

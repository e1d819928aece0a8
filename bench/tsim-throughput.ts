/**
 * tsim figures for `make bench`: simulated cycles per second of the Verilated RTL on a large GEMM
 * in-process (1 M cycles, per wall second and per CPU second), and as a user runs it: `vta replay`
 * of a bundle of 128 large GEMMs (~17 M cycles, 4.3 G MACs) on tsim as a whole process, beside
 * `node -e 1`; GEMM utilisation (cycles against MACs / (BATCH * BLOCK_IN * BLOCK_OUT), the number
 * of cycles at one uop-iteration per cycle), and one ResNet-18-shaped inference on tsim as a whole
 * `vta run`, beside its anchor: TVM's Chisel tsim took 227.73 s for ResNet-18; and that network's
 * tsim cycles under both quantizations (bench/resnet18.ts) beside the Chisel VTA's. The whole
 * processes run bin/vta.mjs, which runs the built bundle (dist/) when it is current: build it
 * first (`make deps`), or the figures include compiling TypeScript at start-up.
 * Figures are medians of 5 samples, 3 for the whole processes of ~10 s (2 shared, noisy cores:
 * CPU figures are steadier than wall).
 *
 * As measured on that machine (2026-11-30; medians; hw/README.md "Speed" has the method and the
 * steps: -Os -> -O3 -> -march=native -> falling edges skipped -> immediate assertions -> per-unit
 * clock gating and less idle logic per cycle -> less input logic per evaluation; the ResNet run
 * spreads its kernels over the cores since 23 h, compiler/execute-parallel.ts):
 *   figure                                       17 h (load 4-13)   21:35 (load ~1)        23:07 (load ~1.3)        goal
 *   large GEMM in-process, M cycles/CPU-s        1.28-1.47          2.09                   2.69
 *   vta replay, 16.8 M-cycle GEMM bundle, CPU s  10.58 (1.59 M/s)   8.21 (2.05 M/s)        6.55 (2.57 M/s)          2.5 M cycles/CPU-s: met
 *   ResNet-18 `vta run --driver tsim -q`         9.28 s CPU         6.13 s wall, 6.29 CPU  3.58 s wall, 5.96 CPU    5 s: met (2 cores)
 *   the same with --jobs 1 (in order)                                                      5.65 s wall, 5.84 CPU
 *   anchor: TVM's Chisel tsim, ResNet-18         227.73 s
 * At a noisier moment (load 1.4-1.7, same build) the same run gave 2.22 M/CPU-s for the replay and
 * 4.43 s for ResNet-18: read the figures as +-15%.
 * Run directly for the table: npx tsx bench/tsim-throughput.ts
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../lib/median.ts';
import { medianSeconds, medianWholeProcess, nodeStartupCpuSeconds } from './measure.ts';
import { figure, formatTable, type Figures } from './table.ts';
import { defaultVtaConfig, type VtaConfig } from '../config/config.ts';
import type { Driver } from '../drivers/api.ts';
import tsim from '../drivers/backends/tsim.ts';
import { MEM_TYPE, NO_DEPS, OPCODE, encodeProgram, encodeUop, finishInsn, gemmInsn, memInsn, type Insn, type MemInsn } from '../isa/index.ts';
import { BUNDLE_FORMAT } from '../drivers/bundle.ts';
import { PAGE_BYTES } from '../sim/memory.ts';
import { randomBytes } from '../lib/random.ts';
import { VtaError } from '../lib/errors.ts';
import { parseNpy, writeNpy } from '../lib/npy.ts';
import { CHISEL_TSIM_RESNET18_CYCLES, IDEAL_RESNET18_CYCLES, type ResnetQuantization, resnet18TsimCycles } from './resnet18.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLES = 5;
/** TVM's Chisel tsim on ResNet-18 (seconds, one inference): the anchor of the whole-network figure. */
const CHISEL_TSIM_RESNET18_SECONDS = 227.73;
const RESNET = join(ROOT, 'models', 'real', 'ort-resnet18-u8-pc.onnx');
const RESNET_INPUT = join(ROOT, 'models', 'real', 'ort-resnet18-u8-pc.input.npy');
/** GEMM instructions per in-process run: each is 16 uops x 128 x 64 iterations, ~131 k cycles. */
const GEMMS = 8;
/** GEMM instructions of the whole-process bundle (writeGemmBundle): ~17 M cycles. */
const BUNDLE_GEMMS = 128;
/** Samples of the whole-process runs of ~10 s each. */
const HEAVY_SAMPLES = 3;

const mem = (type: number, f: Partial<MemInsn>): MemInsn => ({
  ...NO_DEPS, opcode: OPCODE.LOAD, memory_type: type, sram_base: 0, dram_base: 0, y_size: 1, x_size: 1, x_stride: 1,
  y_pad_0: 0, y_pad_1: 0, x_pad_0: 0, x_pad_1: 0, ...f,
});

interface GemmRun {
  iterations: number;
  run: () => Promise<number>;
}

/** Loads a program of GEMMS large GEMMs into the device; `run` returns the cycles of one run. */
function largeGemm(cfg: VtaConfig, d: Driver): GemmRun {
  const UOPS = 16;
  const ITER_OUT = 128;
  const ITER_IN = 64;
  const buf = d.memAlloc(0x40000);
  const uopBase = buf.phys + 0x1000;
  const uops = new Uint8Array(UOPS * 4);
  const view = new DataView(uops.buffer);
  for (let k = 0; k < UOPS; k++) view.setUint32(4 * k, encodeUop(cfg, { dst_idx: k, src_idx: k, wgt_idx: k }), true);
  const gemm: Insn = { ...NO_DEPS, opcode: OPCODE.GEMM, reset_reg: 0, uop_bgn: 0, uop_end: UOPS, iter_out: ITER_OUT, iter_in: ITER_IN,
    dst_factor_out: 16, dst_factor_in: 0, src_factor_out: 0, src_factor_in: 16, wgt_factor_out: 0, wgt_factor_in: 0 };
  const prog: Insn[] = [
    mem(MEM_TYPE.UOP, { dram_base: uopBase / 4, x_size: UOPS, x_stride: UOPS }),
    ...Array.from({ length: GEMMS }, () => gemm),
    { ...NO_DEPS, opcode: OPCODE.FINISH },
  ];
  d.copyFromHost(buf, encodeProgram(cfg, prog));
  d.copyFromHost(buf, uops, 0x1000);
  return {
    iterations: GEMMS * UOPS * ITER_OUT * ITER_IN,
    run: async () => (await d.run(buf.phys, prog.length)).counters.cycles ?? 0,
  };
}

/** Median CPU seconds (user + system) of one call of `work`, over SAMPLES calls. */
async function medianCpuSeconds(work: () => Promise<unknown>): Promise<number> {
  const per: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = process.cpuUsage();
    await work();
    const t = process.cpuUsage(t0);
    per.push((t.user + t.system) / 1e6);
  }
  return median(per);
}

/** `args` as a whole process, SAMPLES times: median wall and CPU seconds. */
const wholeProcess = (args: string[], samples = SAMPLES) => medianWholeProcess(args, { cwd: ROOT, samples });

/** The first sample of the ResNet input, as a one-sample .npy in a temporary directory. */
function oneSampleInput(dir: string): string {
  const all = parseNpy(readFileSync(RESNET_INPUT), RESNET_INPUT);
  const per = all.data.length / all.shape[0]!;
  const one = { ...all, shape: [1, ...all.shape.slice(1)], data: all.data.slice(0, per) };
  const path = join(dir, 'one.npy');
  writeFileSync(path, writeNpy(one as typeof all));
  return path;
}

async function inProcessGemm(cfg: VtaConfig): Promise<Record<string, number>> {
  const d = await tsim.open(cfg);
  try {
    const g = largeGemm(cfg, d);
    const cycles = await g.run();
    const wall = await medianSeconds(g.run, { samples: SAMPLES, minSampleSeconds: 0 });
    const cpu = await medianCpuSeconds(g.run);
    return {
      gemm_iterations: g.iterations,
      gemm_macs: g.iterations * cfg.macsPerUop,
      gemm_cycles: cycles,
      gemm_cycles_per_iteration: cycles / g.iterations,
      gemm_utilisation: g.iterations / cycles,
      simulated_cycles_per_second: cycles / wall,
      simulated_cycles_per_cpu_second: cycles / cpu,
    };
  } finally {
    d.close();
  }
}

export async function runTsimBench(): Promise<Figures> {
  const cfg = defaultVtaConfig();
  const why = tsim.unavailable?.();
  if (why) throw new VtaError('E_DRIVER', `tsim bench: ${why}`);
  const gemm = await inProcessGemm(cfg);
  const figures: Figures = { ...gemm };
  figures.simulated_cycles_per_cpu_second = figure(gemm.simulated_cycles_per_cpu_second!, 'cycles/CPU-s', undefined, '≥ 2.5 M whole process');
  // Whole process, as a user runs it: `vta replay` of a bundle of BUNDLE_GEMMS large GEMMs
  // (bin/vta.mjs runs the built bundle, dist/, when it is current: build it first, `make deps`).
  const node = nodeStartupCpuSeconds(SAMPLES);
  const dir = mkdtempSync(join(tmpdir(), 'vta-tsim-bench-'));
  try {
    Object.assign(figures, wholeProcessReplay(cfg, dir, node));
    if (existsSync(RESNET) && existsSync(RESNET_INPUT)) {
      const input = oneSampleInput(dir);
      // As a user runs it: the kernels spread over the machine's cores (compiler/execute-parallel.ts),
      // and with --jobs 1, in order on one device (the CPU the simulation itself takes).
      const vtaRun = (...extra: string[]) =>
        wholeProcess([process.execPath, join(ROOT, 'bin', 'vta.mjs'), 'run', RESNET, '--driver', 'tsim', '--input', input, '-q', ...extra], HEAVY_SAMPLES);
      const run = vtaRun();
      const inOrder = vtaRun('--jobs', '1');
      const chisel = { name: "TVM's Chisel tsim, ResNet-18", value: CHISEL_TSIM_RESNET18_SECONDS };
      figures.resnet18_inference_seconds = figure(run.wall, 's', chisel, `≤ 5 s whole process (${availableParallelism()} cores)`);
      figures.resnet18_inference_cpu_seconds = figure(run.cpu, 'CPU s', chisel);
      figures.resnet18_inference_in_order_seconds = figure(inOrder.wall, 's', chisel);
      figures.resnet18_inference_in_order_cpu_seconds = figure(inOrder.cpu, 'CPU s', chisel);
      Object.assign(figures, await resnet18CycleFigures(dir));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

/**
 * The ResNet-18-shaped network's tsim cycles (one inference; deterministic, so one sample) for
 * each quantization, beside the Chisel VTA's cycles, with the ideal in the goal column.
 */
async function resnet18CycleFigures(dir: string): Promise<Figures> {
  const chisel = { name: 'Chisel VTA tsim, ResNet-18 (conv1 on CPU)', value: CHISEL_TSIM_RESNET18_CYCLES };
  const goal = `< ${CHISEL_TSIM_RESNET18_CYCLES.toLocaleString('en-US')} (ideal ${(IDEAL_RESNET18_CYCLES / 1e6).toFixed(2)} M)`;
  const figures: Figures = {};
  const names: [ResnetQuantization, string][] = [['onnx', 'resnet18_cycles_onnx_per_channel'], ['tvm', 'resnet18_cycles_tvm_pow2']];
  for (const [quantization, name] of names) {
    const { cycles } = await resnet18TsimCycles(quantization, dir);
    figures[name] = figure(cycles, 'cycles', chisel, goal);
    figures[`${name}_vs_ideal`] = cycles / IDEAL_RESNET18_CYCLES;
  }
  return figures;
}

/**
 * A bundle of BUNDLE_GEMMS large GEMMs on random INP/WGT tiles, their last OUT tiles stored: the
 * whole-process figure's program, BUNDLE_GEMMS * 131,072 uop-iterations (128 GEMMs: 4.3 G MACs,
 * about 17 M cycles on the default config).
 */
export function writeGemmBundle(cfg: VtaConfig, path: string): void {
  const UOPS = 16;
  const STORED = 16;
  const base = PAGE_BYTES;
  const at = { insn: 0, uop: 0x4000, out: 0x5000, inp: 0x10000 };
  const inpBytes = cfg.inpDepth * cfg.inpElemBytes;
  const wgtBytes = cfg.wgtDepth * cfg.wgtElemBytes;
  const wgtAt = at.inp + inpBytes;
  const image = new Uint8Array(wgtAt + wgtBytes);
  image.set(randomBytes(inpBytes, 1), at.inp);
  image.set(randomBytes(wgtBytes, 2), wgtAt);
  const uops = Uint32Array.from({ length: UOPS }, (_, k) => encodeUop(cfg, { dst_idx: k, src_idx: 0, wgt_idx: k }));
  image.set(new Uint8Array(uops.buffer), at.uop);
  const load = (memory_type: number, dram: number, elemBytes: number, x_size: number, flags: Partial<MemInsn> = {}) =>
    memInsn({ opcode: OPCODE.LOAD, memory_type, dram_base: (base + dram) / elemBytes, y_size: 1, x_size, x_stride: x_size, ...flags });
  const gemm = (last: boolean) => gemmInsn({ uop_bgn: 0, uop_end: UOPS, iter_out: 128, iter_in: 64, dst_factor_out: 16, src_factor_out: 1,
    src_factor_in: 16, wgt_factor_in: 16, push_next: last ? 1 : 0 });
  const prog: Insn[] = [
    load(MEM_TYPE.INP, at.inp, cfg.inpElemBytes, cfg.inpDepth),
    load(MEM_TYPE.WGT, wgtAt, cfg.wgtElemBytes, cfg.wgtDepth, { push_next: 1 }),
    load(MEM_TYPE.UOP, at.uop, 4, UOPS, { pop_prev: 1 }),
    ...Array.from({ length: BUNDLE_GEMMS }, (_, i) => gemm(i === BUNDLE_GEMMS - 1)),
    memInsn({ opcode: OPCODE.STORE, memory_type: MEM_TYPE.OUT, dram_base: (base + at.out) / cfg.outElemBytes, y_size: 1, x_size: STORED,
      x_stride: STORED, pop_prev: 1, push_prev: 1 }),
    finishInsn({ pop_next: 1 }),
  ];
  image.set(encodeProgram(cfg, prog), at.insn);
  writeFileSync(path, JSON.stringify({
    format: BUNDLE_FORMAT,
    config: { ...cfg.json },
    memory: { base, data: Buffer.from(image).toString('base64') },
    insn: { addr: base + at.insn, count: prog.length },
    outputs: [{ name: 'out', addr: base + at.out, bytes: STORED * cfg.outElemBytes }],
  }));
}

/**
 * `vta replay` of the GEMM bundle on tsim as whole processes: wall and CPU seconds, and simulated
 * cycles (from the replay's own result) per second of the whole process.
 */
function wholeProcessReplay(cfg: VtaConfig, dir: string, node: number): Figures {
  const bundle = join(dir, 'gemm.bundle.json');
  const result = join(dir, 'gemm.result.json');
  writeGemmBundle(cfg, bundle);
  const run = wholeProcess([process.execPath, join(ROOT, 'bin', 'vta.mjs'), 'replay', bundle, '--driver', 'tsim', '-o', result], HEAVY_SAMPLES);
  const cycles = (JSON.parse(readFileSync(result, 'utf8')) as { counters: { cycles: number } }).counters.cycles;
  return {
    whole_process_gemm_cycles: cycles,
    whole_process_gemm_seconds: figure(run.wall, 's'),
    whole_process_gemm_cpu_seconds: figure(run.cpu, 'CPU s', { name: 'node -e 1', value: node }),
    whole_process_cycles_per_second: figure(cycles / run.wall, 'cycles/s'),
    whole_process_cycles_per_cpu_second: figure(cycles / run.cpu, 'cycles/CPU-s', undefined, '≥ 2.5 M'),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(formatTable('tsim', await runTsimBench()));

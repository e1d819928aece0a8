/**
 * tsim figures for `make bench`: simulated cycles per second of the Verilated RTL on a large GEMM
 * (in-process, per wall second and per CPU second, and whole process: a fresh `node` that opens
 * tsim and runs it), GEMM utilisation (cycles against MACs / (BATCH * BLOCK_IN * BLOCK_OUT), the
 * number of cycles at one uop-iteration per cycle), and one ResNet-18-shaped inference on tsim as
 * a whole `vta run`, beside its anchor: TVM's Chisel tsim took 227.73 s for ResNet-18; and that
 * network's tsim cycles under both quantizations (bench/resnet18.ts) beside the Chisel VTA's.
 * Every figure is a median of 5 samples (2 shared, noisy cores: CPU figures are steadier than wall).
 *
 * As measured on that machine (load 5-9, then 6-20 for the last column; medians; hw/README.md has the method):
 *   figure                                   -Os (before)   -O3          -O3 -march=native + skipped   goal
 *                                                                        falling edges (now)
 *   large GEMM in-process, M cycles/CPU-s    0.79-0.90      0.86-1.23    1.52-1.65                     2.5: not reached
 *   large GEMM whole process, CPU s          -              2.14 s       1.43 s (0.73 M/CPU-s)         2.5 M/CPU-s: not reached
 *     (of 1.43 s, ~0.75 s is node + tsx + loading the driver: the GEMM child no longer loads api/)
 *   ResNet-18 one inference, simulation      -              11.35 s CPU  9.4 s CPU (same 12,380,377 cycles)
 *   ResNet-18 one inference, whole process   25.5 s CPU     19.4 s CPU   13.5 s CPU                    5 s: not reached
 *     (`vta run`, one run each at load ~15: 15.9 s CPU with the -O3 build in the same minutes)
 *   anchor: TVM's Chisel tsim, ResNet-18     227.73 s
 * This area's own run after the change (npx tsx bench/run.ts tsim, load falling from ~7 to ~1):
 * in-process 1.45 M cycles/CPU-s (1.16 before), whole process 0.72 M cycles/CPU-s (0.60 before),
 * ResNet-18 `vta run` 13.7 s wall, 11.9 s CPU (15.8 s, 17.2 s before), 12,380,377 cycles as before.
 * Run directly for the table: npx tsx bench/tsim-throughput.ts  (`--gemm-child` is the child run).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../lib/median.ts';
import { medianSeconds, medianWholeProcess, nodeStartupCpuSeconds } from './measure.ts';
import { figure, formatTable, type Figures } from './table.ts';
import { defaultVtaConfig, type VtaConfig } from '../config/config.ts';
import type { Driver } from '../drivers/api.ts';
import tsim from '../drivers/backends/tsim.ts';
import { MEM_TYPE, NO_DEPS, OPCODE, encodeProgram, encodeUop, type Insn, type MemInsn } from '../isa/index.ts';
import { VtaError } from '../lib/errors.ts';
import { parseNpy, writeNpy } from '../lib/npy.ts';
import type { ResnetQuantization } from './resnet18.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLES = 5;
/** TVM's Chisel tsim on ResNet-18 (seconds, one inference): the anchor of the whole-network figure. */
const CHISEL_TSIM_RESNET18_SECONDS = 227.73;
const RESNET = join(ROOT, 'models', 'real', 'ort-resnet18-u8-pc.onnx');
const RESNET_INPUT = join(ROOT, 'models', 'real', 'ort-resnet18-u8-pc.input.npy');
/** GEMM instructions per run: each is 16 uops x 128 x 64 iterations, ~131 k cycles. */
const GEMMS = 8;

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
const wholeProcess = (args: string[]) => medianWholeProcess(args, { cwd: ROOT, samples: SAMPLES });

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
  // Whole process: node start-up, tsx, opening the addon and one run of the same GEMM.
  const node = nodeStartupCpuSeconds(SAMPLES);
  const child = wholeProcess([process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), '--gemm-child']);
  figures.whole_process_gemm_seconds = figure(child.wall, 's');
  figures.whole_process_gemm_cpu_seconds = figure(child.cpu, 'CPU s', { name: 'node -e 1', value: node });
  figures.whole_process_cycles_per_second = figure(gemm.gemm_cycles! / child.wall, 'cycles/s');
  figures.whole_process_cycles_per_cpu_second = figure(gemm.gemm_cycles! / child.cpu, 'cycles/CPU-s', undefined, '≥ 2.5 M');
  if (existsSync(RESNET) && existsSync(RESNET_INPUT)) {
    const dir = mkdtempSync(join(tmpdir(), 'vta-tsim-bench-'));
    try {
      const input = oneSampleInput(dir);
      const run = wholeProcess([process.execPath, join(ROOT, 'bin', 'vta.mjs'), 'run', RESNET, '--driver', 'tsim', '--input', input, '-q']);
      const chisel = { name: "TVM's Chisel tsim, ResNet-18", value: CHISEL_TSIM_RESNET18_SECONDS };
      figures.resnet18_inference_seconds = figure(run.wall, 's', chisel, '≤ 5 s whole process');
      figures.resnet18_inference_cpu_seconds = figure(run.cpu, 'CPU s', chisel);
      Object.assign(figures, await resnet18CycleFigures(dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return figures;
}

/**
 * The ResNet-18-shaped network's tsim cycles (one inference; deterministic, so one sample) for
 * each quantization, beside the Chisel VTA's cycles, with the ideal in the goal column.
 */
async function resnet18CycleFigures(dir: string): Promise<Figures> {
  // Imported here, not at the top: it loads the whole toolchain (api/), which the whole-process
  // GEMM child (this file's --gemm-child) would otherwise load too and count as tsim's start-up.
  const { CHISEL_TSIM_RESNET18_CYCLES, IDEAL_RESNET18_CYCLES, resnet18TsimCycles } = await import('./resnet18.ts');
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

/** The child of the whole-process figure: one run of the large GEMM. */
async function gemmChild(): Promise<void> {
  const cfg = defaultVtaConfig();
  const d = await tsim.open(cfg);
  try {
    await largeGemm(cfg, d).run();
  } finally {
    d.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--gemm-child')) await gemmChild();
  else console.log(formatTable('tsim', await runTsimBench()));
}

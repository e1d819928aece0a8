/**
 * The `timing` driver against tsim on the ResNet-18-shaped network (bench/resnet18.ts): total
 * cycles and the worst kernel's cycles, each as an error against tsim, under every memory preset
 * whose tsim build is there (ultra96 and zcu104 need the 128-bit one: config/bus128.json); and the
 * speed of one inference, whole process (`vta run` of the ONNX model, compile included, and of the
 * compiled package), timing against tsim. `make bench` runs it as area `timing`; run directly for
 * the per-kernel table: npx tsx bench/timing-bench.ts
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openModel, runModel, type Model } from '../api/index.ts';
import { defaultVtaConfig } from '../config/config.ts';
import { addonPath } from '../drivers/backends/tsim.ts';
import { MEMORY_PRESETS, configForMemory, type MemoryModel } from '../drivers/memory-model.ts';
import { VtaError } from '../lib/errors.ts';
import { medianWholeProcess } from './measure.ts';
import { RESNET18_ONNX, resnet18Input, writeResnet18Input } from './resnet18.ts';
import { figure, type Figures } from './table.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const VTA = join(ROOT, 'bin', 'vta.mjs');
/** Whole-process samples: tsim takes tens of seconds per inference. */
const SAMPLES = 3;

/** Cycles per kernel of one inference of the first sample. */
async function kernelCycles(model: Model, driver: string, memory: MemoryModel): Promise<Map<string, number>> {
  const report = await runModel(model, new Map([[model.graph.inputs[0]!.name, resnet18Input()]]), { driver, memory });
  return new Map(report.kernels.map((k) => [k.name, k.counters?.cycles ?? 0]));
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
const relative = (got: number, want: number) => (got - want) / want;

export interface KernelError {
  preset: string;
  kernel: string;
  tsim: number;
  timing: number;
  error: number;
}

/** Per preset: tsim and timing cycles of every kernel and of the whole network. */
export async function resnet18TimingErrors(log: (line: string) => void = () => {}): Promise<{ figures: Figures; kernels: KernelError[] }> {
  const cfg = defaultVtaConfig();
  const model = openModel(RESNET18_ONNX);
  const figures: Figures = {};
  const kernels: KernelError[] = [];
  for (const memory of MEMORY_PRESETS.values()) {
    if (!existsSync(addonPath(configForMemory(cfg, memory)))) {
      log(`${memory.name}: skipped (no ${memory.busBytes * 8}-bit tsim build)`);
      continue;
    }
    const want = await kernelCycles(model, 'tsim', memory);
    const got = await kernelCycles(model, 'timing', memory);
    let worst = 0;
    for (const [kernel, tsim] of want) {
      const timing = got.get(kernel) ?? 0;
      const error = relative(timing, tsim);
      kernels.push({ preset: memory.name, kernel, tsim, timing, error });
      if (Math.abs(error) > Math.abs(worst)) worst = error;
    }
    const total = relative(sum(got), sum(want));
    figures[`resnet18_${memory.name}_tsim_cycles`] = figure(sum(want), 'cycles');
    figures[`resnet18_${memory.name}_timing_cycles`] = figure(sum(got), 'cycles');
    figures[`resnet18_${memory.name}_error`] = figure(total, 'fraction', undefined, '|error| ≤ 0.02');
    figures[`resnet18_${memory.name}_worst_kernel_error`] = figure(worst, 'fraction', undefined, '|error| ≤ 0.05');
    log(`${memory.name}: tsim ${sum(want)} timing ${sum(got)} cycles, error ${(total * 100).toFixed(3)}%, worst kernel ${(worst * 100).toFixed(3)}%`);
  }
  return { figures, kernels };
}

/** Whole-process seconds of one inference per driver: of the ONNX model (compile included) and of its package. */
function wholeProcessFigures(): Figures {
  const dir = mkdtempSync(join(tmpdir(), 'vta-timing-bench-'));
  try {
    const input = writeResnet18Input(dir);
    const pkg = join(dir, 'resnet18.vtapkg');
    medianWholeProcess([process.execPath, VTA, 'compile', RESNET18_ONNX, '-o', pkg], { cwd: ROOT, samples: 1 });
    const figures: Figures = {};
    for (const [what, source] of [['onnx', RESNET18_ONNX], ['package', pkg]] as const) {
      const seconds = (driver: string) => medianWholeProcess([process.execPath, VTA, 'run', source, '--driver', driver, '--input', input, '-q'], { cwd: ROOT, samples: SAMPLES }).cpu;
      const tsim = seconds('tsim');
      const timing = seconds('timing');
      const anchor = { name: `tsim, the same run (${tsim.toFixed(2)} CPU s)`, value: tsim };
      figures[`resnet18_${what}_timing_cpu_seconds`] = figure(timing, 'CPU s', anchor);
      figures[`resnet18_${what}_speedup`] = figure(tsim / timing, '× tsim', undefined, '≥ 20× whole process');
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runTimingBench(log: (line: string) => void = () => {}): Promise<Figures> {
  if (!existsSync(addonPath(defaultVtaConfig()))) throw new VtaError('E_DRIVER', 'tsim is not built: make -C hw rtl');
  const { figures } = await resnet18TimingErrors(log);
  return { ...figures, ...wholeProcessFigures() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { kernels } = await resnet18TimingErrors((line) => console.log(line));
  console.log('\n| preset | kernel | tsim cycles | timing cycles | error |\n|---|---|---|---|---|');
  for (const k of kernels) console.log(`| ${k.preset} | ${k.kernel} | ${k.tsim} | ${k.timing} | ${(k.error * 100).toFixed(3)}% |`);
  if (process.argv.includes('--speed')) console.log(wholeProcessFigures());
}

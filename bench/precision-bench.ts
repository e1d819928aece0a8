/**
 * What precision buys, on the MNIST CNN (models/float/mnist-cnn.onnx quantized with 200 TRAIN
 * digits, mse ranges, per-channel real-valued scales): top-1 on all 1,996 held-out digits at 8, 4
 * and 2 bits (float, onnxruntime and VTA on fsim with the matching config: vta_config.json,
 * int4.json, int2.json), and DRAM bytes moved per digit by the kernels and by the layers VTA runs
 * at every width (the three before the logits: at 4 and 2 bits the logits layer, whose output
 * stays 8-bit, runs on the host). tsim cycles per digit when a tsim build of the config is present.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel, runModel, topOneAccuracy, type Model, type RunReport } from '../api/index.ts';
import { runCompiled } from '../compiler/execute.ts';
import { loadConfig } from '../config/config.ts';
import tsim, { addonPath } from '../drivers/backends/tsim.ts';
import { evaluateQuantized } from '../frontend/quantize/evaluate.ts';
import { quantizeModel } from '../frontend/quantize/quantize.ts';
import { digitsNpy, loadMnist } from '../models/mnist.ts';

const ROOT = join(import.meta.dirname, '..');
const CONFIGS = new Map([[8, 'vta_config.json'], [4, 'int4.json'], [2, 'int2.json']]);
const FIRST = '/features/features.0/features.0.0/Conv';
const LAST = '/features/features.9/Gemm';
/** The layers every width runs on VTA, by anchor node. */
const SHARED = [FIRST, '/features/features.3/features.3.0/Conv', '/features/features.7/Gemm'];
const TSIM_DIGITS = 8;

const loaded = (k: RunReport['kernels'][number]) => (k.counters ? ['uop', 'inp', 'wgt', 'acc', 'acc8'].reduce((s, m) => s + (k.counters![`${m}_load_nbytes`] ?? 0), 0) + (k.counters.out_store_nbytes ?? 0) : 0);

/** Cycles per digit of each kernel on tsim, by kernel name, the driver opened on the model's own config (one digit per run). */
async function tsimCycles(model: Model, images: Float32Array): Promise<Map<string, number>> {
  const driver = await tsim.open(model.config);
  const cycles = new Map<string, number>();
  try {
    for (let d = 0; d < TSIM_DIGITS; d++) {
      const input = { input: { dtype: 'float32' as const, shape: [1, 1, 28, 28], data: images.slice(d * 784, (d + 1) * 784) } };
      const r = await runCompiled(model.compiled, input, { driver });
      for (const [k, c] of Object.entries(r.counters)) cycles.set(k, (cycles.get(k) ?? 0) + (c.cycles ?? 0) / TSIM_DIGITS);
    }
  } finally {
    driver.close();
  }
  return cycles;
}

const isShared = (kernel: string) => SHARED.some((a) => kernel.endsWith(`_${a}`));
const sum = (xs: Iterable<number>) => [...xs].reduce((s, x) => s + x, 0);

export async function runPrecisionBench(): Promise<Record<string, number>> {
  const bytes = readFileSync(join(ROOT, 'models', 'float', 'mnist-cnn.onnx'));
  const { train, heldout } = loadMnist();
  const calibration = new Map([['input', digitsNpy(train, 0, 200).x]]);
  const test = digitsNpy(heldout, 0, heldout.count);
  const figures: Record<string, number> = {};
  const dir = mkdtempSync(join(tmpdir(), 'vta-precision-'));
  const variants: { label: string; bits: number; keep: string[] }[] = [
    { label: '8-bit', bits: 8, keep: [] },
    { label: '4-bit', bits: 4, keep: [] },
    { label: '2-bit', bits: 2, keep: [] },
    { label: '2-bit, first and last layers kept at 8 bits', bits: 2, keep: [FIRST, LAST] },
  ];
  try {
    for (const { label, bits, keep } of variants) {
      const q = await quantizeModel(bytes, 'mnist-cnn', calibration, { method: 'mse', perChannel: true, scales: 'float', biasCorrection: false, bits, keep8bit: keep });
      const e = await evaluateQuantized(bytes, q.bytes, 'mnist-cnn', new Map([['input', test.x]]), { labels: test.y });
      if (bits === 8) figures['mnist-cnn float top-1 (%)'] = 100 * e.floatTop1!;
      figures[`mnist-cnn ${label}: onnxruntime top-1 (%)`] = 100 * e.quantTop1!;
      const path = join(dir, `${bits}-${keep.length}.onnx`);
      writeFileSync(path, q.bytes);
      const config = join(ROOT, 'config', CONFIGS.get(bits)!);
      const model = openModel(path, { config });
      const input = new Map([['input', { dtype: 'float32' as const, shape: test.x.shape, data: test.x.data }]]);
      const report = await runModel(model, input, {});
      const top = topOneAccuracy(report.outputs.get(model.graph.outputs[0]!)!, test.y, { output: 'logits', labels: 'held-out labels' });
      figures[`mnist-cnn ${label}: VTA (fsim) top-1 (%)`] = (100 * top.correct) / top.total;
      figures[`mnist-cnn ${label}: kernels on VTA`] = report.kernels.length;
      figures[`mnist-cnn ${label}: DRAM bytes per digit, all kernels`] = report.kernels.reduce((s, k) => s + loaded(k), 0) / heldout.count;
      const shared = report.kernels.filter((k) => isShared(k.name));
      if (shared.length === SHARED.length) figures[`mnist-cnn ${label}: DRAM bytes per digit, the 3 layers before the logits`] = shared.reduce((s, k) => s + loaded(k), 0) / heldout.count;
      if (keep.length === 0 && existsSync(addonPath(loadConfig(config)))) {
        const cycles = await tsimCycles(model, test.x.data as Float32Array);
        figures[`mnist-cnn ${label}: tsim cycles per digit, all kernels`] = sum(cycles.values());
        figures[`mnist-cnn ${label}: tsim cycles per digit, the 3 layers before the logits`] = sum([...cycles].filter(([k]) => isShared(k)).map(([, c]) => c));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

/**
 * `make bench` area `tune`: vta tune on the ResNet-18-shaped model on the timing driver: the
 * network's cycles run whole with the cost model's tilings and with the tuned ones (each within
 * 0.01 % of its kernels' sum timed alone), and what tuning took (goal: under a minute).
 * Run directly for the per-kernel table: npx tsx bench/tune-bench.ts
 */
import { fileURLToPath } from 'node:url';
import { readModel, runModel } from '../api/index.ts';
import { compileModel, type OpenOptions } from '../api/open.ts';
import { tuneGraph } from '../api/tune.ts';
import { loadConfig } from '../config/config.ts';
import { VtaError } from '../lib/errors.ts';
import { RESNET18_ONNX, resnet18Input } from './resnet18.ts';
import { figure, type Figures } from './table.ts';

export async function runTuneBench(log: (line: string) => void = () => {}): Promise<Figures> {
  const config = loadConfig();
  const source = readModel(RESNET18_ONNX);
  const r = await tuneGraph(source.graph, {
    config,
    driver: 'timing',
    onKernel: (k) => log(`${k.name}: ${k.defaultTiling} ${k.defaultCycles} -> ${k.tunedTiling} ${k.tunedCycles}${k.sameAs ? ` (same as ${k.sameAs})` : ''}`),
  });
  const whole = async (options: OpenOptions) => {
    const model = compileModel(source, { config, ...options });
    const report = await runModel(model, new Map([[model.graph.inputs[0]!.name, resnet18Input()]]), { driver: 'timing' });
    return report.kernels.reduce((n, k) => n + (k.counters?.cycles ?? 0), 0);
  };
  const before = await whole({});
  const after = await whole({ tuning: { file: r.tuning, path: 'tuning' } });
  // Run whole, a kernel may differ from its run alone by a few cycles (its instructions sit at
  // another address, so fetch bursts split differently); more than that would be a bug.
  for (const [what, net, alone] of [['default', before, r.totals.defaultCycles], ['tuned', after, r.totals.tunedCycles]] as const) {
    if (Math.abs(net - alone) > alone * 1e-4) throw new VtaError('E_MISMATCH', `the ${what} ResNet-18 takes ${net} cycles run whole, ${alone} kernel by kernel`);
  }
  return {
    resnet18_default_cycles_timing: figure(before, 'cycles'),
    resnet18_tuned_cycles_timing: figure(after, 'cycles', { name: "the cost model's tilings", value: before }, 'never above the default'),
    resnet18_kernels_improved: r.kernels.filter((k) => k.tunedCycles < k.defaultCycles).length,
    tune_candidates_timed: r.timings.candidates,
    tune_wall: figure(r.timings.wallMs / 1000, 's', undefined, '< 60 s'),
    tune_cpu: figure(r.timings.cpuMs / 1000, 's'),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = await runTuneBench(console.log);
  for (const [name, v] of Object.entries(figures)) console.log(`${name}: ${typeof v === 'object' ? v.value : v}`);
}

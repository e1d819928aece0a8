/**
 * `vta tune MODEL -o TUNING.json`: choose each kernel's tiling by the cycles a clocked driver
 * measures (default `timing`), print default vs tuned cycles per kernel, and write the choices
 * for `vta compile --tuning` / `vta run --tuning` (docs/tuning.md).
 */
import type { Argv } from 'yargs';
import { readModel, type RoundingMode, type ScaleMode } from '../../api/index.ts';
import { DEFAULT_TUNE_DRIVER, DEFAULT_TUNE_TOP, tuneGraph, type TunedKernel, type TuneResult } from '../../api/tune.ts';
import { formatTuning } from '../../compiler/tuning.ts';
import { describeMemory } from '../../drivers/memory-model.ts';
import { writeFileAtomic } from '../../lib/files.ts';
import { configFromArgs, memoryFromArgs, refuseOverwrite, MEMORY_OPTIONS, ROUNDING_OPTION, SCALES_OPTION, type MemoryArgs } from '../options.ts';
import { printNote } from '../summary.ts';

interface Args extends MemoryArgs {
  model: string;
  output: string;
  driver: string;
  top: number;
  verify?: boolean;
  config?: string;
  rules?: string;
  offload?: string;
  scales?: ScaleMode;
  rounding?: RoundingMode;
}

/** The driver `--verify` re-times the winners on: the RTL. */
const VERIFY_DRIVER = 'tsim';

export const command = 'tune <model>';
export const describe = "Choose each kernel's tiling by measured cycles (timing driver) and write them for vta compile --tuning";

export function builder(y: Argv): Argv<Args> {
  return y
    .positional('model', { type: 'string', demandOption: true, describe: 'model file (vta-graph/1 JSON or .onnx)' })
    .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'tuning file to write (JSON, vta-tuning/1)' })
    .option('driver', { type: 'string', default: DEFAULT_TUNE_DRIVER, describe: 'clocked driver that times the candidates' })
    .option('top', { type: 'number', default: DEFAULT_TUNE_TOP, describe: 'candidates timed per kernel besides its default (chosen in phases: reduction step, output-channel block, spatial shape; docs/tuning.md)' })
    .option('verify', { type: 'boolean', describe: `re-time each kernel's default and winner on ${VERIFY_DRIVER}` })
    .option('rules', { type: 'string', describe: 'fusion rules JSON (default: compiler/fusion-rules.json)' })
    .option('offload', { type: 'string', choices: ['auto', 'all'], default: 'auto', describe: "'all': fail unless every dense/conv2d/add runs on VTA" })
    .option('scales', SCALES_OPTION)
    .option('rounding', ROUNDING_OPTION)
    .options(MEMORY_OPTIONS) as unknown as Argv<Args>;
}

const pct = (before: number, after: number) => (before === 0 ? '0.0%' : `${((100 * (after - before)) / before).toFixed(1)}%`);

/** One row per kernel: default and tuned tiling and cycles, the change, and tsim's with --verify. */
function kernelLine(k: TunedKernel): string {
  const how = !k.tunable ? '  (not tunable: default kept)' : k.sameAs ? `  (same as ${k.sameAs})` : `  (${k.timed} timed)`;
  const verified = k.verified ? `  tsim ${k.verified.defaultCycles} -> ${k.verified.tunedCycles} (${pct(k.verified.defaultCycles, k.verified.tunedCycles)})` : '';
  return `  ${k.name}: ${k.defaultTiling} ${k.defaultCycles} -> ${k.tunedTiling} ${k.tunedCycles} (${pct(k.defaultCycles, k.tunedCycles)})${verified}${how}`;
}

function printTotals(r: TuneResult, driver: string): void {
  const { totals: t, timings } = r;
  console.log(`total on ${driver}: ${t.defaultCycles} -> ${t.tunedCycles} cycles (${pct(t.defaultCycles, t.tunedCycles)})`);
  if (t.verified) console.log(`total on ${VERIFY_DRIVER}: ${t.verified.defaultCycles} -> ${t.verified.tunedCycles} cycles (${pct(t.verified.defaultCycles, t.verified.tunedCycles)})`);
  console.log(`time: ${(timings.wallMs / 1000).toFixed(1)} s wall, ${(timings.cpuMs / 1000).toFixed(1)} s CPU, ${timings.candidates} candidates timed`);
}

export async function handler(argv: Args): Promise<void> {
  refuseOverwrite(argv.output, [argv.model, ...(argv.rules ? [argv.rules] : []), ...(argv.config ? [argv.config] : [])]);
  const config = configFromArgs(argv);
  const memory = memoryFromArgs(argv);
  const source = readModel(argv.model, { ...(argv.scales ? { scales: argv.scales } : {}), ...(argv.rounding ? { rounding: argv.rounding } : {}), onNote: printNote });
  console.log(`tuning ${argv.model} on ${argv.driver}${memory ? ` (memory ${describeMemory(memory)})` : ''}, ${config.bitstream}:`);
  const result = await tuneGraph(source.graph, {
    config,
    driver: argv.driver,
    top: argv.top,
    ...(memory ? { memory } : {}),
    ...(argv.verify ? { verify: VERIFY_DRIVER } : {}),
    ...(argv.rules ? { rules: argv.rules } : {}),
    offload: argv.offload === 'all' ? 'all' : 'auto',
    onKernel: (k) => console.log(kernelLine(k)),
  });
  printTotals(result, argv.driver);
  writeFileAtomic(argv.output, formatTuning(result.tuning));
  console.log(`${argv.output}: ${result.tuning.kernels.length} kernel tilings (vta compile --tuning ${argv.output})`);
}

export default { command, describe, builder, handler };

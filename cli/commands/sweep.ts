/**
 * `vta sweep MODEL --config-grid GRID.json [-o PREFIX]`: run a model at every design point of a
 * config grid on a clocked driver and write PREFIX.json, PREFIX.csv and PREFIX.svg (cycles and
 * DRAM traffic per point). `--points I..J` runs a slice of the grid; `vta sweep --merge A.json
 * B.json ... -o PREFIX` joins slices into the whole table (docs/tuning.md, "Splitting a sweep").
 */
import type { Argv } from 'yargs';
import { modelInputs, readModel, type RoundingMode, type ScaleMode } from '../../api/index.ts';
import { readGrid, selectPoints } from '../../api/config-grid.ts';
import { DEFAULT_SWEEP_DRIVER, mergeSweeps, missingPoints, parseSweep, rowLabel, sweepCsv, sweepPoints, sweepText, type SweepResult } from '../../api/sweep.ts';
import { VtaError } from '../../lib/errors.ts';
import { readTextOrFail, writeFileAtomic } from '../../lib/files.ts';
import { FILE_LIMITS } from '../../lib/limits.ts';
import { sweepPlotSvg } from '../../viz/sweep-plot.ts';
import { assignFiles, refuseClashes, ROUNDING_OPTION, SCALES_OPTION } from '../options.ts';
import { printNote } from '../summary.ts';

interface Args {
  model?: string;
  configGrid?: string;
  output?: string;
  driver: string;
  points?: string;
  point?: number;
  merge?: string[];
  input?: string[];
  seed: number;
  rules?: string;
  scales?: ScaleMode;
  rounding?: RoundingMode;
}

export const command = 'sweep [model]';
export const describe = 'Run a model across a grid of configs (BLOCK, buffers, bus, DRAM) on the timing driver: cycles and DRAM traffic per point, as a table and a plot';

export function builder(y: Argv): Argv<Args> {
  return y
    .positional('model', { type: 'string', describe: 'model file (vta-graph/1 JSON or .onnx)' })
    .option('config-grid', { type: 'string', describe: 'the grid (JSON, vta-config-grid/1: base, axes, points; docs/tuning.md)' })
    .option('output', { alias: 'o', type: 'string', describe: 'write PREFIX.json, PREFIX.csv and PREFIX.svg' })
    .option('driver', { type: 'string', default: DEFAULT_SWEEP_DRIVER, describe: 'clocked driver to run each point on' })
    .option('points', { type: 'string', describe: 'run only points I..J of the grid (0-based, inclusive): one job of a split sweep' })
    .option('point', { type: 'number', describe: 'run only point I of the grid' })
    .option('merge', { type: 'string', array: true, describe: 'join the JSON results of slices (same model, driver and grid) instead of running' })
    .option('input', { type: 'string', array: true, describe: 'model input .npy (NAME=FILE.npy when several); default a seeded random input' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the random input used when --input is not given' })
    .option('rules', { type: 'string', describe: 'fusion rules JSON (default: compiler/fusion-rules.json)' })
    .option('scales', SCALES_OPTION)
    .option('rounding', ROUNDING_OPTION) as unknown as Argv<Args>;
}

const outputsOf = (prefix: string | undefined) => (prefix === undefined ? [] : (['json', 'csv', 'svg'] as const).map((ext) => [ext, `${prefix}.${ext}`] as const));

/** Print the table and write the three files. */
function emit(result: SweepResult, prefix: string | undefined): void {
  console.log(sweepText(result));
  const missing = missingPoints(result);
  if (missing.length) console.log(`${result.rows.length} of ${result.gridPoints} points (missing ${missing.length}: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''})`);
  for (const [ext, file] of outputsOf(prefix)) {
    const text =
      ext === 'json' ? JSON.stringify(result, null, 1) + '\n'
      : ext === 'csv' ? sweepCsv(result)
      : sweepPlotSvg(`${result.model} on ${result.driver}: cycles and DRAM traffic per design point`, result.rows.map((r) => ({ label: rowLabel(r), ...r })));
    writeFileAtomic(file, text);
    console.log(`${file}: sweep ${ext === 'svg' ? 'plot' : 'table'}`);
  }
}

function pointSpec(argv: Args): string | undefined {
  if (argv.point !== undefined && argv.points !== undefined) throw new VtaError('E_USAGE', '--point and --points: give one');
  if (argv.point !== undefined && (!Number.isSafeInteger(argv.point) || argv.point < 0)) throw new VtaError('E_USAGE', `--point ${argv.point} must be a whole number of at least 0`);
  return argv.point !== undefined ? String(argv.point) : argv.points;
}

async function mergeHandler(argv: Args): Promise<void> {
  if (argv.model !== undefined || argv.configGrid !== undefined) throw new VtaError('E_USAGE', '--merge joins earlier results: give no model or --config-grid with it');
  const files = argv.merge!;
  refuseClashes(outputsOf(argv.output).map(([ext, f]) => [`-o (.${ext})`, f] as const), files);
  emit(mergeSweeps(files.map((path) => ({ path, result: parseSweep(readTextOrFail(path, FILE_LIMITS.bundle), path) }))), argv.output);
}

export async function handler(argv: Args): Promise<void> {
  if (argv.merge) return mergeHandler(argv);
  if (argv.model === undefined || argv.configGrid === undefined) throw new VtaError('E_USAGE', 'vta sweep needs MODEL and --config-grid GRID.json (or --merge RESULT.json...)');
  const inputs = [argv.model, argv.configGrid, ...(argv.rules ? [argv.rules] : [])];
  refuseClashes(outputsOf(argv.output).map(([ext, f]) => [`-o (.${ext})`, f] as const), inputs);
  const grid = readGrid(argv.configGrid);
  const points = selectPoints(grid, pointSpec(argv));
  const source = readModel(argv.model, { ...(argv.scales ? { scales: argv.scales } : {}), ...(argv.rounding ? { rounding: argv.rounding } : {}), onNote: printNote });
  const files = assignFiles(argv.input, source.graph.inputs.map((i) => i.name), 'input');
  const modelInputsMap = await modelInputs(source, files, argv.seed);
  console.log(`sweep ${argv.model} on ${argv.driver}: ${points.length} of ${grid.points.length} points`);
  const result = await sweepPoints(source, grid, points, {
    driver: argv.driver,
    inputs: modelInputsMap,
    ...(argv.rules ? { rules: argv.rules } : {}),
    onPoint: (r) => console.log(`  ${rowLabel(r)}: ${r.error ?? `${r.cycles} cycles, ${r.dramBytes} DRAM bytes`}`),
  });
  emit(result, argv.output);
}

export default { command, describe, builder, handler };

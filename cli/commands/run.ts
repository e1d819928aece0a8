/**
 * `vta run MODEL|FILE.vtapkg`: run a model on a driver (default fsim) on the model's own interface:
 * .npy inputs of the graph inputs' dtypes and shapes (or k batches of them: first dimension k × the
 * batch), .npy outputs of the graph outputs' dtypes, a seeded random input when none is given, and
 * `--check` against the reference executor and, for .onnx models, onnxruntime.
 */
import type { Argv } from 'yargs';
import { checkRaceDriver, checkTimelineDriver, countBatches, readLabels, topOneAccuracy, describeMismatch, formatOnnxComparison, modelInputs, openModel, reportOfRun, runModel, traceOfRun, type Model, type ParallelRun, type RunReport, type RoundingMode, type ScaleMode } from '../../api/index.ts';
import { compileError } from '../../compiler/errors.ts';
import { VtaError } from '../../lib/errors.ts';
import { writeFileAtomic } from '../../lib/files.ts';
import { writeNpy } from '../../lib/npy.ts';
import { assignFiles, memoryFromArgs, refuseClashes, MEMORY_OPTIONS, SCALES_OPTION, ROUNDING_OPTION, TUNING_OPTION, type MemoryArgs } from '../options.ts';
import { describeMemory, memoryOpenOptions } from '../../drivers/memory-model.ts';
import { getDriver } from '../../drivers/registry.ts';
import { runProgress } from '../progress.ts';
import { printNote, summarize } from '../summary.ts';

interface Args extends MemoryArgs {
  model: string;
  driver: string;
  input?: string[];
  output?: string[];
  check?: boolean;
  seed: number;
  races?: boolean;
  rules?: string;
  tuning?: string;
  config?: string;
  quiet?: boolean;
  scales?: ScaleMode;
  rounding?: RoundingMode;
  labels?: string;
  report?: string;
  timeline?: string;
  jobs?: number;
}

export const command = 'run <model>';
export const describe = 'Run a model (vta-graph/1 JSON, compiled on the fly, or a .vtapkg) on a driver, optionally checking it against the reference';

export function builder(y: Argv): Argv<Args> {
  return y
    .positional('model', { type: 'string', demandOption: true, describe: 'model JSON, .onnx or .vtapkg' })
    .option('driver', { type: 'string', default: 'fsim', describe: 'driver name (see vta drivers)' })
    .option('input', {
      type: 'string', array: true,
      describe: "input .npy of the input's dtype and shape, or of k batches (first dimension k × the batch, the same k for every input); NAME=FILE.npy when the model has several inputs",
    })
    .option('output', { type: 'string', array: true, describe: "write outputs as .npy of the output's dtype, k batches joined (NAME=FILE.npy when several)" })
    .option('check', {
      type: 'boolean',
      describe: 'compare every layer with the reference executor, bit for bit, and, for .onnx models, the outputs with onnxruntime on the same inputs (in output quantization steps)',
    })
    .option('labels', { type: 'string', describe: 'class labels (1-D integer .npy, one per sample of --input): print the top-1 accuracy of the first output' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the random input used when --input is not given' })
    .option('races', { type: 'boolean', describe: 'attach the race checker (fsim) and fail on any unordered SRAM access' })
    .option('rules', { type: 'string', describe: 'fusion rules JSON when compiling a model JSON' })
    .option('tuning', TUNING_OPTION)
    .option('report', { type: 'string', describe: 'write the run report (per-kernel cycles, utilisation, DRAM bytes, stalls by cause) as JSON (docs/profiling.md)' })
    .option('timeline', { type: 'string', describe: "write each kernel's pipeline timeline in Chrome trace-event JSON (Perfetto, chrome://tracing); needs a driver that records one (tsim)" })
    .option('jobs', {
      alias: 'j', type: 'number',
      describe: "tsim: kernels simulated at once, each on its own core and checked against fsim's DRAM (default: the machine's cores; 1: in order)",
    })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'print only errors and the check verdict' })
    .option('scales', SCALES_OPTION)
    .option('rounding', ROUNDING_OPTION)
    .options(MEMORY_OPTIONS) as unknown as Argv<Args>;
}

/** --seed: a non-negative whole number (NaN from `--seed abc` would make every input the same). */
function checkSeed(seed: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new VtaError('E_USAGE', `--seed must be a non-negative whole number, got ${Number.isNaN(seed) ? 'something that is not a number' : seed}`);
  }
  return seed;
}

/** --jobs: a whole number of at least 1. */
function checkJobs(jobs: number): number {
  if (!Number.isSafeInteger(jobs) || jobs < 1) {
    throw new VtaError('E_USAGE', `--jobs must be a whole number of at least 1, got ${Number.isNaN(jobs) ? 'something that is not a number' : jobs}`);
  }
  return jobs;
}

/** How the kernels were spread over devices, and whether the run fell back to one. */
function describeParallel(p: ParallelRun): string {
  const spread = `parallel: ${p.kernels} kernel runs on ${p.devices} devices at once, each checked against fsim's DRAM`;
  return p.fallback ? `${spread}: ${p.fallback}, so the network ran again in order on one device (these results)` : spread;
}

/** The program's figures and each kernel's counters. */
function printFigures(report: RunReport, lines: string[]): void {
  const t = report.totals;
  console.log(lines.join('\n'));
  console.log(`program: ${t.insns} instructions, ${t.uops} uops, DRAM ${t.dramBytes} B moved (minimum ${t.minDramBytes} B)`);
  if (report.memory) console.log(`memory: ${describeMemory(report.memory)}`);
  if (report.parallel) console.log(describeParallel(report.parallel));
  console.log(`counters (${report.driver}${report.batches > 1 ? `, summed over ${report.batches} batches` : ''}):`);
  for (const k of report.kernels) {
    const c = k.counters;
    if (!c) continue;
    const cyc = c.cycles !== undefined ? `, ${c.cycles} cycles` : '';
    console.log(`  ${k.name}: ${c.gemm_counter} GEMM + ${c.alu_counter} ALU uop-iterations, ${c.inp_load_nbytes + c.wgt_load_nbytes + c.acc_load_nbytes + c.acc8_load_nbytes} B loaded, ${c.out_store_nbytes} B stored${cyc}`);
  }
}

/** --check: a mismatch with the reference is an error; a difference with onnxruntime is reported. */
function printCheck(report: RunReport): void {
  const { reference, onnxruntime } = report.check!;
  const k = report.batches;
  if (reference.mismatch) {
    const where = k > 1 ? `batch ${reference.batch! + 1} of ${k}: ` : '';
    throw compileError('E_MISMATCH', undefined, where + describeMismatch(reference.mismatch));
  }
  console.log(`check: ${reference.compared} tensors bit-exact with the reference executor${k > 1 ? ` (${k} batches)` : ''}`);
  // The check above passed, so VTA's outputs are the reference's bit for bit.
  if (onnxruntime) console.log(['onnxruntime vs VTA on the same inputs:', ...formatOnnxComparison(onnxruntime)].join('\n  '));
}

const ms = (t: number) => `${t.toFixed(1)} ms`;

/** --report and --timeline files, written after the run. */
function writeProfileFiles(argv: Args, model: Model, report: RunReport): void {
  if (argv.report) {
    writeFileAtomic(argv.report, JSON.stringify(reportOfRun(model, report), null, 1) + '\n');
    if (!argv.quiet) console.log(`${argv.report}: run report`);
  }
  if (argv.timeline) {
    const trace = traceOfRun(model, report);
    writeFileAtomic(argv.timeline, JSON.stringify(trace) + '\n');
    if (!argv.quiet) console.log(`${argv.timeline}: timeline, ${trace.traceEvents.filter((e) => e.ph === 'X').length} spans`);
  }
}

export async function handler(argv: Args): Promise<void> {
  const t0 = performance.now();
  const seed = checkSeed(argv.seed);
  if (argv.races) await checkRaceDriver(argv.driver);
  if (argv.timeline) await checkTimelineDriver(argv.driver);
  const jobs = argv.jobs === undefined ? undefined : checkJobs(argv.jobs);
  const memory = memoryFromArgs(argv);
  // A driver without a DRAM model refuses --memory before anything is compiled.
  if (memory) memoryOpenOptions(await getDriver(argv.driver), memory);
  // The notes state each approximation and its error bound.
  const model = openModel(argv.model, {
    ...(argv.config !== undefined ? { config: argv.config } : {}),
    ...(argv.rules ? { rules: argv.rules } : {}),
    ...(argv.tuning ? { tuning: argv.tuning } : {}),
    ...(argv.scales !== undefined ? { scales: argv.scales } : {}),
    ...(argv.rounding !== undefined ? { rounding: argv.rounding } : {}),
    // Quiet: the notes appear with the onnxruntime comparison when they explain a difference.
    onNote: (note) => { if (!argv.quiet) printNote(note); },
  });
  const g = model.graph;
  const files = assignFiles(argv.input, g.inputs.map((i) => i.name), 'input');
  // Outputs are checked before the run: a bad name or a clash fails at once and writes nothing.
  const outFiles = assignFiles(argv.output, g.outputs, 'output');
  const ownInputs = [argv.model, ...files.values(), ...(argv.rules ? [argv.rules] : []), ...(argv.config ? [argv.config] : []), ...(argv.tuning ? [argv.tuning] : [])];
  refuseClashes([...[...outFiles.values()].map((f) => ['--output', f] as const), ['--report', argv.report], ['--timeline', argv.timeline]], ownInputs);
  if (argv.labels && files.size === 0) throw new VtaError('E_USAGE', '--labels needs --input (the samples the labels belong to)');
  const labels = argv.labels ? await readLabels(argv.labels) : undefined;
  const inputs = await modelInputs(model, files, seed);
  const samples = inputs.get(g.inputs[0]!.name)?.shape[0];
  if (labels && labels.shape[0] !== samples) throw new VtaError('E_USAGE', `--labels ${argv.labels}: ${labels.shape[0]} labels for ${samples} samples of input ${g.inputs[0]!.name}`);
  // A progress bar on a terminal only: logs and pipes get the summary alone.
  const bar = runProgress(process.stderr, !!argv.quiet, countBatches(g, inputs), model.compiled.steps.length);
  let report: RunReport;
  try {
    report = await runModel(model, inputs, {
      driver: argv.driver,
      ...(memory ? { memory } : {}),
      ...(argv.check ? { check: true } : {}),
      ...(argv.races ? { races: true } : {}),
      ...(argv.timeline ? { timeline: true } : {}),
      ...(jobs !== undefined ? { devices: jobs } : {}),
      ...(bar ? { onStep: bar.update } : {}),
    });
  } finally {
    bar?.stop();
  }
  if (!argv.quiet && report.batches > 1) console.log(`batches: ${report.batches}, run one after the other through one loaded program`);
  if (!argv.quiet) printFigures(report, summarize(model.compiled));
  const races = report.races ?? [];
  if (races.length) throw new VtaError('E_RACE', `${races.length} unordered SRAM access pair(s); first: ${races[0]}`);
  if (argv.races && !argv.quiet) console.log('races: none');
  writeProfileFiles(argv, model, report);
  for (const [name, f] of outFiles) {
    const t = report.outputs.get(name)!;
    writeFileAtomic(f, writeNpy(t));
    if (!argv.quiet) console.log(`${f}: ${name} ${t.dtype}[${t.shape.join(',')}]`);
  }
  if (!argv.quiet && outFiles.size === 0) {
    for (const [name, t] of report.outputs) {
      // float32 values to float32's own precision (not the double expansion of each).
      const head = Array.from(t.data.slice(0, 16), (v) => (t.dtype === 'float32' ? Number(v.toPrecision(7)) : v)).join(' ');
      console.log(`${name} ${t.dtype}[${t.shape.join(',')}]: ${head}${t.data.length > 16 ? ' ...' : ''}`);
    }
  }
  if (labels) {
    const first = g.outputs[0]!;
    const top = topOneAccuracy(report.outputs.get(first)!, labels, { output: first, labels: argv.labels! });
    console.log(`top-1 accuracy on ${argv.driver}: ${(100 * top.correct / top.total).toFixed(2)}% (${top.correct} of ${top.total}) against ${argv.labels}`);
  }
  if (report.check) printCheck(report);
  if (!argv.quiet) console.log(`time: compile ${ms(model.timings.openMs)}, run ${ms(report.timings.runMs)} on ${argv.driver}, total ${ms(performance.now() - t0)}`);
}

export default { command, describe, builder, handler };

/**
 * `vta run MODEL|FILE.vtapkg`: run a model on a driver (default fsim), with .npy inputs/outputs,
 * a seeded random input when none is given, and `--check` against the reference executor.
 */
import { resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Argv } from 'yargs';
import { makeConfig, sameHardware } from '../../config/config.ts';
import { checkAgainstReference, describeMismatch } from '../../compiler/check.ts';
import { compileGraph, type CompiledModel } from '../../compiler/compile.ts';
import { compileError } from '../../compiler/errors.ts';
import { runCompiled } from '../../compiler/execute.ts';
import type { Tensor } from '../../graph/ir.ts';
import { readPackage } from '../../compiler/package.ts';
import { VtaError } from '../../lib/errors.ts';
import { readFileOrFail, writeFileAtomic } from '../../lib/files.ts';
import { parseNpy, writeNpy } from '../../lib/npy.ts';
import { crossCheckOnnx, formatCrossCheck } from '../../frontend/ort-check.ts';
import { importOnnx } from '../../frontend/onnx/import.ts';
import { RaceChecker } from '../../sim/race-checker.ts';
import { getDriver, listDrivers } from '../../drivers/registry.ts';
import { configFromArgs, refuseOverwrite } from '../options.ts';
import { loadModelFile, SCALES_OPTION, summarize } from './compile.ts';
import type { ScaleMode } from '../../frontend/onnx/import.ts';
import { mulberry32 } from '../../lib/random.ts';

interface Args {
  model: string;
  driver: string;
  input?: string[];
  output?: string[];
  check?: boolean;
  seed: number;
  races?: boolean;
  rules?: string;
  config?: string;
  quiet?: boolean;
  scales?: ScaleMode;
}

export const command = 'run <model>';
export const describe = 'Run a model (vta-graph/1 JSON, compiled on the fly, or a .vtapkg) on a driver, optionally checking it against the reference';

export function builder(y: Argv): Argv<Args> {
  return y
    .positional('model', { type: 'string', demandOption: true, describe: 'model JSON, .onnx or .vtapkg' })
    .option('driver', { type: 'string', default: 'fsim', describe: 'driver name (see vta drivers)' })
    .option('input', { type: 'string', array: true, describe: 'input .npy (NAME=FILE.npy when the model has several inputs)' })
    .option('output', { type: 'string', array: true, describe: 'write outputs as .npy (NAME=FILE.npy when several)' })
    .option('check', { type: 'boolean', describe: 'compare every layer with the reference executor, bit for bit (and, for .onnx models, the outputs with onnxruntime)' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the random input used when --input is not given' })
    .option('races', { type: 'boolean', describe: 'attach the race checker (fsim) and fail on any unordered SRAM access' })
    .option('rules', { type: 'string', describe: 'fusion rules JSON when compiling a model JSON' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'print only errors and the check verdict' })
    .option('scales', SCALES_OPTION) as unknown as Argv<Args>;
}

/** Load a .vtapkg or compile a model JSON for the config given (or the default). */
export async function loadCompiled(path: string, argv: { config?: string; rules?: string; scales?: ScaleMode; quiet?: boolean }): Promise<CompiledModel> {
  if (path.endsWith('.vtapkg')) {
    if (argv.scales !== undefined) throw new VtaError('E_USAGE', `--scales applies to .onnx models only, not to ${path}`);
    const model = readPackage(await readFileOrFail(path), path);
    if (argv.config && !sameHardware(configFromArgs(argv), makeConfig(model.config))) {
      throw compileError('E_PACKAGE', path, `compiled for ${makeConfig(model.config).bitstream}, not for --config ${argv.config}`);
    }
    return model;
  }
  // The notes state each approximation and its error bound (printed with --check even when quiet).
  const notes = (line: string) => { if (!argv.quiet || (argv as { check?: boolean }).check) console.log(line); };
  return compileGraph(loadModelFile(path, argv.scales, notes), { config: configFromArgs(argv), ...(argv.rules ? { rules: argv.rules } : {}) });
}

/**
 * Text before '=' that reads as a tensor name (ONNX names hold '.', ':' and '-') rather than as part
 * of a path: `qq=out/y.npy` names a tensor qq, `./a=b.npy` is a file.
 */
const TENSOR_NAME = /^[A-Za-z_][\w.:-]*$/;

/** NAME=FILE pairs, or a single FILE for a single name; `what` is input or output. */
function assign(specs: string[] | undefined, names: string[], what: 'input' | 'output'): Map<string, string> {
  const out = new Map<string, string>();
  const known = `${what}s: ${names.join(', ')}`;
  for (const s of specs ?? []) {
    const eq = s.indexOf('=');
    const before = eq > 0 ? s.slice(0, eq) : '';
    let name: string;
    let file: string;
    if (names.includes(before)) {
      name = before;
      file = s.slice(eq + 1);
    } else if (TENSOR_NAME.test(before)) {
      throw new VtaError('E_USAGE', `--${what} ${s}: ${before} is not an ${what} of the model (${known}); write ./${s} for a file whose name holds '='`);
    } else if (names.length === 1) {
      name = names[0]!;
      file = s;
    } else {
      throw new VtaError('E_USAGE', `--${what} ${s}: the model has ${names.length} ${what}s, so give NAME=FILE.npy (${known})`);
    }
    if (file === '') throw new VtaError('E_USAGE', `--${what} ${s}: no file after '='`);
    const earlier = out.get(name);
    if (earlier !== undefined) throw new VtaError('E_USAGE', `--${what}: ${what} ${name} is given twice (${earlier} and ${file})`);
    out.set(name, file);
  }
  return out;
}

/** --seed: a non-negative whole number (NaN from `--seed abc` would make every input the same). */
function checkSeed(seed: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new VtaError('E_USAGE', `--seed must be a non-negative whole number, got ${Number.isNaN(seed) ? 'something that is not a number' : seed}`);
  }
  return seed;
}

/** Seeded random tensor: int8 over the full range, int32 within ±2^10. */
export function randomInput(shape: number[], dtype: 'int8' | 'int32', seed: number): Tensor {
  const next = mulberry32(seed);
  const n = shape.reduce((x, y) => x * y, 1);
  const [lo, span] = dtype === 'int8' ? [-128, 256] : [-1024, 2048];
  const data = dtype === 'int8' ? new Int8Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + Math.floor(next() * span);
  return { shape, dtype, data };
}

const ms = (t0: number) => `${(performance.now() - t0).toFixed(1)} ms`;

export async function handler(argv: Args): Promise<void> {
  const t0 = performance.now();
  const seed = checkSeed(argv.seed);
  if (argv.races) {
    const info = await getDriver(argv.driver);
    if (!info.observes) {
      const observing = (await listDrivers()).filter((d) => d.observes).map((d) => d.name);
      throw new VtaError('E_USAGE', `--races needs a driver that reports each SRAM access (${observing.join(', ')}); the ${info.name} driver does not, so nothing would be checked`);
    }
  }
  const model = await loadCompiled(argv.model, argv);
  const compileTime = ms(t0);
  const cfg = makeConfig(model.config);
  const g = model.graph;
  const files = assign(argv.input, g.inputs.map((i) => i.name), 'input');
  // Outputs are checked before the run: a bad name or a clash fails at once and writes nothing.
  const outFiles = assign(argv.output, g.outputs, 'output');
  const ownInputs = [argv.model, ...files.values(), ...(argv.rules ? [argv.rules] : []), ...(argv.config ? [argv.config] : [])];
  const written = new Map<string, string>();
  for (const [name, f] of outFiles) {
    refuseOverwrite(f, ownInputs, '--output');
    const other = written.get(resolve(f));
    if (other !== undefined) throw new VtaError('E_USAGE', `--output ${f}: outputs ${other} and ${name} would both be written there`);
    written.set(resolve(f), name);
  }
  const inputs: Record<string, Tensor> = {};
  for (const [n, i] of g.inputs.entries()) {
    const f = files.get(i.name);
    if (!f) {
      inputs[i.name] = randomInput(i.shape, i.dtype, seed + n);
      continue;
    }
    const a = parseNpy(await readFileOrFail(f), f);
    if (a.dtype !== i.dtype || a.shape.join(',') !== i.shape.join(',')) {
      throw compileError('E_INPUT', f, `${a.dtype}[${a.shape.join(',')}] but input ${i.name} is ${i.dtype}[${i.shape.join(',')}]`);
    }
    inputs[i.name] = a;
  }
  const checkers: RaceChecker[] = [];
  // A progress bar on a terminal only: logs and pipes get the summary alone.
  const bar = process.stderr.isTTY && !argv.quiet ? new SingleBar({ format: 'running {bar} {value}/{total} {step}', clearOnComplete: true, hideCursor: true }) : undefined;
  bar?.start(model.steps.length, 0, { step: '' });
  const t1 = performance.now();
  const outcome = await runCompiled(model, inputs, {
    onStep: (done, _total, label) => bar?.update(done, { step: label }),
    driver: argv.driver,
    keepAll: !!argv.check,
    ...(argv.races
      ? {
          observe: (_k: number, base: number) => {
            const c = new RaceChecker(cfg, { insnBase: base });
            checkers.push(c);
            return c;
          },
        }
      : {}),
  });
  bar?.stop();
  const runTime = ms(t1);
  if (!argv.quiet) {
    console.log(summarize(model).join('\n'));
    console.log(`program: ${model.insnCount} instructions, ${model.kernels.reduce((a, k) => a + k.uopCount, 0)} uops, ` +
      `DRAM ${model.kernels.reduce((a, k) => a + k.dramBytes, 0)} B moved (minimum ${model.kernels.reduce((a, k) => a + k.minDramBytes, 0)} B)`);
    console.log(`counters (${argv.driver}):`);
    for (const [k, c] of Object.entries(outcome.counters)) {
      const cyc = c.cycles !== undefined ? `, ${c.cycles} cycles` : '';
      console.log(`  ${k}: ${c.gemm_counter} GEMM + ${c.alu_counter} ALU uop-iterations, ${c.inp_load_nbytes + c.wgt_load_nbytes + c.acc_load_nbytes + c.acc8_load_nbytes} B loaded, ${c.out_store_nbytes} B stored${cyc}`);
    }
  }
  const races = checkers.flatMap((c) => c.report());
  if (races.length) throw new VtaError('E_RACE', `${races.length} unordered SRAM access pair(s); first: ${races[0]}`);
  if (argv.races && !argv.quiet) console.log('races: none');
  for (const [name, f] of outFiles) {
    const t = outcome.outputs[name]!;
    writeFileAtomic(f, writeNpy(t));
    if (!argv.quiet) console.log(`${f}: ${name} ${t.dtype}[${t.shape.join(',')}]`);
  }
  if (!argv.quiet && outFiles.size === 0) {
    for (const [name, t] of Object.entries(outcome.outputs)) {
      const head = Array.from(t.data.slice(0, 16)).join(' ');
      console.log(`${name} ${t.dtype}[${t.shape.join(',')}]: ${head}${t.data.length > 16 ? ' ...' : ''}`);
    }
  }
  if (argv.check) {
    const r = checkAgainstReference(model, inputs, outcome.tensors);
    if (r.mismatch) throw compileError('E_MISMATCH', undefined, describeMismatch(r.mismatch));
    console.log(`check: ${r.compared} tensors bit-exact with the reference executor`);
    if (argv.model.endsWith('.onnx')) {
      // The ONNX model's own semantics, as onnxruntime computes them, on the same int8 inputs.
      const imp = importOnnx(argv.model, argv.scales ? { scales: argv.scales } : {});
      const byOnnxName = Object.fromEntries(Object.entries(imp.inputs).map(([onnxName, info]) => [onnxName, inputs[info.tensor]!]));
      const ort = await crossCheckOnnx(argv.model, byOnnxName, {}, imp);
      // The check above passed, so VTA's outputs are the reference's bit for bit: this compares VTA too.
      console.log(`onnxruntime vs VTA (= reference): ${formatCrossCheck(ort).split('\n').join('\n  ')}`);
    }
  }
  if (!argv.quiet) console.log(`time: compile ${compileTime}, run ${runTime} on ${argv.driver}, total ${ms(t0)}`);
}

export default { command, describe, builder, handler };

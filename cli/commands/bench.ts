/**
 * `vta bench BUNDLE…|DIR|MODEL --driver X --runs N`: time replays of bundles (a folder: every bundle
 * in it) or inferences of one model on a driver. Per bundle or model: the median wall time of a
 * run, the counters and, for drivers that report where the device time went (remote://), the
 * device time on the server and the transport overhead = time of the driver's run calls as the
 * client sees them − device time. One run before the timed ones warms caches and connections.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CommandModule } from 'yargs';
import { modelInputs, openModel } from '../../api/index.ts';
import { addCounters } from '../../api/run.ts';
import { execute, loadModel } from '../../compiler/execute.ts';
import { makeConfig } from '../../config/config.ts';
import type { Driver, RunOptions, RunResult } from '../../drivers/api.ts';
import { loadBundle, replayBundle } from '../../drivers/bundle.ts';
import { getDriver } from '../../drivers/registry.ts';
import { VtaError } from '../../lib/errors.ts';
import { median } from '../../lib/median.ts';
import type { Counters } from '../../sim/api.ts';
import { DriverPool } from '../drivers.ts';

interface Args {
  inputs: string[];
  driver: string;
  runs: number;
  config?: string;
}

/** What one timed run (a replay, an inference) cost. */
interface Sample {
  wallMs: number;
  /** Time inside the driver's run calls, as the caller sees it. */
  callMs: number;
  /** Device time the driver reported for those calls (undefined: it reports none). */
  deviceMs: number | undefined;
  counters: Counters;
}

/** A driver that passes everything through and adds up its run calls. */
class TimedDriver implements Driver {
  callMs = 0;
  deviceMs: number | undefined = 0;
  counters: Counters | undefined;

  constructor(private readonly inner: Driver) {}
  get name() { return this.inner.name; }
  get config() { return this.inner.config; }
  memAlloc(bytes: number) { return this.inner.memAlloc(bytes); }
  memAllocAt(phys: number, bytes: number) { return this.inner.memAllocAt(phys, bytes); }
  memFree(buf: Parameters<Driver['memFree']>[0]) { this.inner.memFree(buf); }
  physAddr(buf: Parameters<Driver['physAddr']>[0], offset?: number) { return this.inner.physAddr(buf, offset); }
  copyFromHost(...a: Parameters<Driver['copyFromHost']>) { this.inner.copyFromHost(...a); }
  copyToHost(...a: Parameters<Driver['copyToHost']>) { this.inner.copyToHost(...a); }
  close() { this.inner.close(); }

  async run(insnPhys: number, count: number, options?: RunOptions): Promise<RunResult> {
    const t0 = performance.now();
    const r = await this.inner.run(insnPhys, count, options);
    this.callMs += performance.now() - t0;
    this.deviceMs = r.deviceMs === undefined || this.deviceMs === undefined ? undefined : this.deviceMs + r.deviceMs;
    this.counters = addCounters(this.counters, r.counters);
    return r;
  }

  /** Time one run of `work`, then reset the sums. */
  async sample(work: () => Promise<unknown>): Promise<Sample> {
    this.callMs = 0;
    this.deviceMs = 0;
    this.counters = undefined;
    const t0 = performance.now();
    await work();
    return { wallMs: performance.now() - t0, callMs: this.callMs, deviceMs: this.deviceMs, counters: this.counters! };
  }
}

const ms = (t: number) => `${t.toFixed(2)} ms`;

/** One line: median times, transport when known, counters. Returns the medians for the totals. */
function report(name: string, samples: Sample[]): { wall: number; transport: number | undefined } {
  const wall = median(samples.map((s) => s.wallMs));
  const known = samples.every((s) => s.deviceMs !== undefined);
  const transport = known ? median(samples.map((s) => s.callMs - s.deviceMs!)) : undefined;
  const device = known ? `, device ${ms(median(samples.map((s) => s.deviceMs!)))}, transport ${ms(transport!)}` : '';
  const c = samples[0]!.counters;
  const cycles = c.cycles !== undefined ? `, ${c.cycles.toLocaleString('en-US')} cycles` : '';
  console.log(`${name}: ${ms(wall)} per run${device}; ${c.load_insns + c.compute_insns + c.store_insns} insns, ${c.gemm_counter} gemm + ${c.alu_counter} alu uop-iterations${cycles}`);
  return { wall, transport };
}

function bundlePaths(inputs: string[]): string[] {
  return inputs.flatMap((p) => {
    let dir = false;
    try {
      dir = statSync(p).isDirectory();
    } catch {
      // A missing file is reported by the loader with its reason.
    }
    if (!dir) return [p];
    return readdirSync(p).filter((f) => f.endsWith('.bundle.json')).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).map((f) => join(p, f));
  });
}

async function benchBundles(paths: string[], driverName: string, runs: number): Promise<void> {
  const bundles = paths.map((p) => loadBundle(p));
  const pool = new DriverPool(driverName);
  const timed = new Map<Driver, TimedDriver>();
  const totals = { wall: 0, transport: 0 as number | undefined };
  try {
    for (const b of bundles) {
      const inner = await pool.get(b.config);
      const driver = timed.get(inner) ?? new TimedDriver(inner);
      timed.set(inner, driver);
      await replayBundle(driver, b);
      const samples: Sample[] = [];
      for (let i = 0; i < runs; i++) samples.push(await driver.sample(() => replayBundle(driver, b)));
      const r = report(basename(b.source).replace(/\.bundle\.json$/, ''), samples);
      totals.wall += r.wall;
      totals.transport = r.transport === undefined || totals.transport === undefined ? undefined : totals.transport + r.transport;
    }
  } finally {
    pool.closeAll();
  }
  if (bundles.length > 1) {
    const t = totals.transport === undefined ? '' : `, transport ${ms(totals.transport)} (${ms(totals.transport / bundles.length)} per bundle)`;
    console.log(`${bundles.length} bundles on ${driverName}, sum of medians: ${ms(totals.wall)}${t}`);
  }
}

async function benchModel(path: string, driverName: string, runs: number, configPath: string | undefined): Promise<void> {
  const model = openModel(path, configPath !== undefined ? { config: configPath } : {});
  const cfg = makeConfig(model.compiled.config, 'compiled model');
  const info = await getDriver(driverName, cfg);
  const driver = new TimedDriver(await info.open(cfg));
  try {
    const inputs = Object.fromEntries(await modelInputs(model, new Map(), 0));
    const loaded = loadModel(model.compiled, driver);
    const infer = () => execute(model.compiled, cfg, loaded, inputs, {}, info.clocked);
    await infer();
    const samples: Sample[] = [];
    for (let i = 0; i < runs; i++) samples.push(await driver.sample(infer));
    report(`${basename(path)} (${model.compiled.kernels.length} kernels)`, samples);
  } finally {
    driver.close();
  }
}

const command: CommandModule<object, Args> = {
  command: 'bench <inputs..>',
  describe: 'Time bundle replays (files or folders of *.bundle.json) or inferences of one model on a driver; remote drivers also get transport overhead',
  builder: (y) =>
    y
      .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'NAME.bundle.json files or folders of them, or one model (JSON, .onnx, .vtapkg)' })
      .option('driver', { alias: 'd', type: 'string', default: 'fsim', describe: 'driver name or remote://HOST:PORT' })
      .option('runs', { alias: 'n', type: 'number', default: 5, describe: 'timed runs per bundle or model (after one untimed)' }),
  handler: async (argv) => {
    if (!Number.isSafeInteger(argv.runs) || argv.runs < 1 || argv.runs > 10_000) throw new VtaError('E_USAGE', `--runs must be a whole number in [1, 10000], got ${argv.runs}`);
    const bundles = argv.inputs.every((p) => p.endsWith('.bundle.json') || !/\.(json|onnx|vtapkg)$/.test(p));
    if (bundles) {
      if (argv.config !== undefined) throw new VtaError('E_USAGE', '--config does not apply to bundles: each bundle carries its own config');
      const paths = bundlePaths(argv.inputs);
      if (paths.length === 0) throw new VtaError('E_READ', `${argv.inputs.join(', ')}: no *.bundle.json files`);
      await benchBundles(paths, argv.driver, argv.runs);
      return;
    }
    if (argv.inputs.length !== 1) throw new VtaError('E_USAGE', `vta bench takes bundles or one model, got ${argv.inputs.join(', ')}`);
    await benchModel(argv.inputs[0]!, argv.driver, argv.runs, argv.config);
  },
};
export default command;

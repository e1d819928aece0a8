import { basename, join } from 'node:path';
import type { CommandModule } from 'yargs';
import { type Bundle, loadBundle, replayBundle, resultJson } from '../../drivers/bundle.ts';
import { getDriver } from '../../drivers/registry.ts';
import { checkRaceDriver } from '../../api/run.ts';
import { RaceChecker } from '../../sim/race-checker.ts';
import { VtaError } from '../../lib/errors.ts';
import { writeFileAtomic } from '../../lib/files.ts';
import { DriverPool } from '../drivers.ts';
import { MEMORY_OPTIONS, checkBudget, memoryFromArgs, refuseClashes, refuseConfig, type MemoryArgs } from '../options.ts';
import { describeMemory, memoryOpenOptions } from '../../drivers/memory-model.ts';

interface Args extends MemoryArgs {
  bundles: string[];
  driver: string;
  output?: string;
  outDir?: string;
  budget?: number;
  trace?: string;
  config?: string;
  races?: boolean;
}

const command: CommandModule<object, Args> = {
  command: 'replay <bundles..>',
  describe: 'Run bundles (vta-bundle/1) on a driver and write their outputs and counters',
  builder: (y) =>
    y
      .positional('bundles', { type: 'string', array: true, demandOption: true, describe: 'NAME.bundle.json files' })
      .option('driver', { alias: 'd', type: 'string', default: 'fsim', describe: 'driver name (vta drivers lists them)' })
      .option('output', { alias: 'o', type: 'string', describe: 'result JSON for a single bundle' })
      .option('out-dir', { type: 'string', describe: 'write DIR/NAME.result.json for each NAME.bundle.json' })
      .option('budget', { type: 'number', describe: 'bound on the work of one run (cycles on clocked drivers)' })
      .option('trace', { type: 'string', describe: 'waveform file (.vcd) for RTL drivers' })
      .options(MEMORY_OPTIONS)
      .option('races', { type: 'boolean', describe: 'run the race checker (fsim) and refuse a bundle with any unordered SRAM access' })
      .conflicts('output', 'out-dir'),
  handler: async (argv) => {
    refuseConfig(argv, 'replay', 'each bundle carries its own config');
    if (argv.output && argv.bundles.length > 1) {
      throw new VtaError('E_USAGE', `-o names one result file but ${argv.bundles.length} bundles were given: use --out-dir`);
    }
    refuseClashes([['-o', argv.output], ['--trace', argv.trace]], argv.bundles);
    const budget = checkBudget(argv.budget);
    const info = await getDriver(argv.driver);
    const memory = memoryFromArgs(argv);
    memoryOpenOptions(info, memory);
    if (argv.races) await checkRaceDriver(argv.driver);
    if (argv.trace !== undefined) {
      if (!info.clocked) throw new VtaError('E_USAGE', `--trace ${argv.trace}: the ${info.name} driver has no clock, so no waveform (use an RTL driver such as tsim)`);
      // The RTL bridge writes VCD only: a .fst name would hold VCD text that FST viewers reject.
      if (!/\.vcd$/i.test(argv.trace)) throw new VtaError('E_USAGE', `--trace ${argv.trace}: the waveform is written as VCD, so its name must end in .vcd`);
      if (argv.bundles.length > 1) throw new VtaError('E_USAGE', `--trace names one waveform file but ${argv.bundles.length} bundles were given`);
    }
    // Every bundle is checked before any runs, so a typo in the last one costs no work and leaves no results.
    const bundles: Bundle[] = argv.bundles.map((path) => loadBundle(path));
    const pool = new DriverPool(argv.driver, memory);
    try {
      for (const bundle of bundles) {
        const path = bundle.source;
        const driver = await pool.get(bundle.config);
        const checker = argv.races ? new RaceChecker(bundle.config) : undefined;
        const result = await replayBundle(driver, bundle, { budget, trace: argv.trace, ...(checker ? { observer: checker } : {}) });
        // A racy bundle's bytes depend on the driver, so no result is written for it.
        const races = checker?.report() ?? [];
        if (races.length) throw new VtaError('E_RACE', `${path}: ${races.length} unordered SRAM access pair(s), so its bytes depend on the driver; first: ${races[0]}`);
        const json = JSON.stringify(resultJson(result), null, 2) + '\n';
        const name = basename(path).replace(/\.bundle\.json$|\.json$/, '');
        const target = argv.output ?? (argv.outDir ? join(argv.outDir, `${name}.result.json`) : undefined);
        if (target) writeFileAtomic(target, json);
        const c = result.counters;
        const outs = Object.entries(result.outputs).map(([n, b]) => `${n} ${b.length} B`).join(', ');
        const cycles = c.cycles !== undefined ? `, ${c.cycles.toLocaleString('en-US')} cycles` : '';
        const dram = result.memory ? `, memory ${describeMemory(result.memory)}` : '';
        console.log(
          `${name}: ${outs}; ${c.load_insns + c.compute_insns + c.store_insns} insns, ${c.gemm_counter} gemm + ${c.alu_counter} alu uop-iterations${cycles}${dram}${checker ? ', races: none' : ''}${target ? ` -> ${target}` : ''}`,
        );
      }
    } finally {
      pool.closeAll();
    }
  },
};
export default command;

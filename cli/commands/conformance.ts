import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { loadBundle } from '../../drivers/bundle.ts';
import { checkKitBundle, loadKitExpectation } from '../../drivers/kit-check.ts';
import { VtaError, describeError, isVtaError } from '../../lib/errors.ts';
import { getDriver } from '../../drivers/registry.ts';
import { fileErrorReason } from '../../lib/files.ts';
import { packagePath } from '../../lib/paths.ts';
import { DriverPool } from '../drivers.ts';
import { progressBar } from '../progress.ts';
import { MEMORY_OPTIONS, memoryFromArgs, refuseConfig, type MemoryArgs } from '../options.ts';
import { IDEAL_MEMORY, describeMemory, memoryOpenOptions } from '../../drivers/memory-model.ts';

const KIT = packagePath('conformance');

interface Args extends MemoryArgs {
  dir?: string;
  config?: string;
  driver: string;
  filter?: string;
}

const command: CommandModule<object, Args> = {
  command: 'conformance [dir]',
  describe: 'The conformance kit: replay every bundle in DIR on a driver and compare with the expected bytes or refusal (race-free on fsim)',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', describe: 'folder of NAME.bundle.json + NAME.expected.json (default: the kit in the package)' })
      .option('driver', { alias: 'd', type: 'string', default: 'fsim', describe: 'driver to prove' })
      .option('filter', { type: 'string', describe: 'only bundles whose name contains this text' })
      .options(MEMORY_OPTIONS),
  handler: async (argv) => {
    refuseConfig(argv, 'conformance', 'each bundle carries its own config');
    // A driver that does not exist or cannot run is one error, not one failure per bundle.
    const info = await getDriver(argv.driver);
    const memory = memoryFromArgs(argv);
    memoryOpenOptions(info, memory);
    const dir = argv.dir ?? KIT;
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch (e) {
      throw new VtaError('E_READ', `cannot read the folder ${dir}: ${fileErrorReason(e)}`);
    }
    const names = files
      .filter((f) => f.endsWith('.bundle.json'))
      .map((f) => f.slice(0, -'.bundle.json'.length))
      .filter((n) => !argv.filter || n.includes(argv.filter))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (names.length === 0) throw new VtaError('E_READ', `${dir}: no *.bundle.json files${argv.filter ? ` matching '${argv.filter}'` : ''}`);
    const pool = new DriverPool(argv.driver, memory);
    const bar = process.stderr.isTTY ? progressBar({ format: '{bar} {value}/{total} {name}', hideCursor: true, clearOnComplete: true }) : undefined;
    bar?.start(names.length, 0, { name: '' });
    let passed = 0;
    const failures: string[] = [];
    const started = performance.now();
    try {
      for (const name of names) {
        bar?.increment(0, { name });
        try {
          const bundle = loadBundle(join(dir, `${name}.bundle.json`));
          const expected = loadKitExpectation(join(dir, `${name}.expected.json`));
          const problems = await checkKitBundle(await openFor(pool, bundle.config), bundle, expected, info.observes);
          if (problems.length === 0) passed++;
          else failures.push(`FAIL ${name}: ${problems.join('; ')}`);
        } catch (e) {
          if (e instanceof UnreachableDriver) throw e.cause;
          failures.push(`FAIL ${name}: ${describeError(e)}`);
        }
        bar?.increment(1);
      }
    } finally {
      bar?.stop();
      pool.closeAll();
    }
    for (const f of failures) console.log(f);
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    const dram = info.modelsMemory ? `, memory ${describeMemory(memory ?? IDEAL_MEMORY)}` : '';
    console.log(`driver ${argv.driver}${dram}, ${names.length} bundles from ${dir}, ${secs} s`);
    console.log(`${passed} passed, ${failures.length} failed`);
    if (failures.length) process.exitCode = 1;
  },
};
export default command;

/** A remote driver that refuses the session (token, version, connection) fails every bundle alike. */
class UnreachableDriver extends Error {}

/** The driver for a bundle's config; a refused remote session ends the whole run as one error. */
async function openFor(pool: DriverPool, cfg: Parameters<DriverPool['get']>[0]) {
  try {
    return await pool.get(cfg);
  } catch (e) {
    if (isVtaError(e) && e.code.startsWith('E_REMOTE')) throw new UnreachableDriver('remote driver refused', { cause: e });
    throw e;
  }
}

/**
 * `vta build-rtl [--config FILE]`: build the tsim driver (the RTL under Verilator, as a Node-API
 * addon) where the package is, with hw/'s make, so `--driver tsim` works in an installed package
 * as in the repository. Needs make, a C++ compiler and Verilator (hw/'s make installs Verilator
 * from Debian when it is missing and we are root).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { VtaError } from '../../lib/errors.ts';
import { packageRoot } from '../../lib/paths.ts';
import { configFromArgs } from '../options.ts';

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

const hasVerilator = (): boolean => spawnSync('verilator', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * hw/'s make runs its TypeScript generator with node_modules/.bin/tsx under the package root,
 * which an installed package does not have (npm hoists tsx beside it): name tsx's own entry.
 */
function tsxCommand(root: string): string {
  const cli = createRequire(join(root, 'package.json')).resolve('tsx/cli');
  return `cd ${quote(root)} && ${quote(process.execPath)} ${quote(cli)}`;
}

/** The arguments of hw/'s `make rtl` for the package at `root`, for one config or all of them. */
export function makeArgs(root: string, config: string | undefined): string[] {
  const args = ['-C', join(root, 'hw'), 'rtl', `TSX=${tsxCommand(root)}`];
  if (config !== undefined) args.push(`CONFIG=${resolve(config)}`);
  return args;
}

const command: CommandModule<object, { config?: string }> = {
  command: 'build-rtl',
  describe: 'Build the tsim driver (VTA in SystemVerilog under Verilator) for --config FILE, or for the package\'s configs; needs make, g++ and Verilator',
  handler: (argv) => {
    if (argv.config !== undefined) configFromArgs(argv);
    const root = packageRoot();
    const isRoot = process.getuid?.() === 0;
    if (!hasVerilator()) {
      if (!isRoot) throw new VtaError('E_DRIVER', 'building tsim needs Verilator 5: install it (e.g. apt-get install verilator) and run vta build-rtl again');
      console.log('Verilator is missing: hw/\'s make installs it from Debian (apt-get install verilator)');
    }
    const made = spawnSync('make', makeArgs(root, argv.config), { stdio: 'inherit' });
    if (made.error) throw new VtaError('E_DRIVER', `building tsim needs make: ${made.error.message}`);
    if (made.status !== 0) throw new VtaError('E_DRIVER', `building tsim failed: make -C ${join(root, 'hw')} rtl exited with ${made.status ?? made.signal}`);
    console.log(`tsim built in ${join(root, 'hw', 'build')}: vta drivers lists it as ready`);
  },
};
export default command;

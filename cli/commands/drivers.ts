import type { CommandModule } from 'yargs';
import { listDrivers } from '../../drivers/registry.ts';
import { configFromArgs } from '../options.ts';
import { maxOf } from '../../lib/array-loops.ts';

const command: CommandModule<object, { config?: string }> = {
  command: 'drivers',
  describe: 'List the registered drivers and whether each can run on this machine (with --config: run that config)',
  handler: async (argv) => {
    const config = argv.config !== undefined ? configFromArgs(argv) : undefined;
    const all = await listDrivers();
    const w = Math.max(maxOf(all.map((d) => d.name.length)), 4);
    for (const d of all) {
      const why = d.unavailable?.(config);
      console.log(`${d.name.padEnd(w)}  ${why ? 'unavailable' : 'ready      '}  ${d.description}${why ? ` (${why})` : ''}`);
    }
  },
};
export default command;

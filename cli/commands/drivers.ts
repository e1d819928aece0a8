import type { CommandModule } from 'yargs';
import { listDrivers } from '../../drivers/registry.ts';

const command: CommandModule = {
  command: 'drivers',
  describe: 'List the registered drivers and whether each can run on this machine',
  handler: async () => {
    const all = await listDrivers();
    const w = Math.max(...all.map((d) => d.name.length), 4);
    for (const d of all) {
      const why = d.unavailable?.();
      console.log(`${d.name.padEnd(w)}  ${why ? 'unavailable' : 'ready      '}  ${d.description}${why ? ` (${why})` : ''}`);
    }
  },
};
export default command;

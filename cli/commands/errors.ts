import type { CommandModule } from 'yargs';
import { errorCatalogueText } from '../../lib/error-codes.ts';

const command: CommandModule = {
  command: 'errors',
  describe: 'List every error code with its meaning (the catalogue of lib/error-codes.ts)',
  handler: () => {
    console.log(errorCatalogueText());
  },
};
export default command;

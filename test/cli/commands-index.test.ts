/**
 * cli/commands/index.ts lists every verb: each file of cli/commands/ is in the list (a file left
 * out would be a verb that silently does not exist), and the list holds nothing else.
 */
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { COMMANDS } from '../../cli/commands/index.ts';
import { expectListsFolder } from '../listed-modules.ts';

describe('cli/commands/index.ts', () => {
  it('lists the default export of every file in cli/commands/, once, and nothing else', async () => {
    await expectListsFolder(join(import.meta.dirname, '..', '..', 'cli', 'commands'), COMMANDS);
  });
});

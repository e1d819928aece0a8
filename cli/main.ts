/**
 * Entry point of the `vta` command. Every file in cli/commands/ is a yargs command module, listed
 * in cli/commands/index.ts and registered here, so a new verb is one new file and one line. Errors a user can cause print one line and exit
 * non-zero; a stack trace appears only with VTA_DEBUG=1.
 */
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { describeError } from '../lib/errors.ts';
import { COMMANDS } from './commands/index.ts';

function fail(e: unknown): never {
  if (process.env.VTA_DEBUG && e instanceof Error) console.error(e.stack);
  console.error(describeError(e));
  process.exit(1);
}

async function main(): Promise<void> {
  // `vta ... | head` closes our stdout early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    fail(e);
  });
  let cli = yargs(hideBin(process.argv))
    .scriptName('vta')
    // The toolchain speaks English (its own messages, the error catalogue); yargs' words too.
    .locale('en')
    .usage('$0 <command> [options]\n\nThe VTA toolchain: assemble, simulate, compile and check programs for the Versatile Tensor Accelerator.')
    .option('config', {
      type: 'string',
      describe: 'VTA config JSON (vta_config.json keys); default: config/vta_config.json',
      global: true,
    })
    .demandCommand(1, 'name a command (vta --help lists them)')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) fail(err);
      // yargs puts some messages (invalid choices) on several lines: the standard is one.
      console.error(`error[E_USAGE]: ${String(msg).replace(/\s*\n\s*/g, ' ')} (see vta --help)`);
      process.exit(2);
    });
  for (const m of COMMANDS) cli = cli.command(m as CommandModule);
  await cli.parseAsync();
}

main().catch(fail);

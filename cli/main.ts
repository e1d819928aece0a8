/**
 * Entry point of the `vta` command. Every file in cli/commands/ is a yargs command module, listed
 * in cli/commands/index.ts and registered here, so a new verb is one new file and one line. Errors a user can cause print one line and exit
 * non-zero; a stack trace appears only with VTA_DEBUG=1.
 */
import { writeSync } from 'node:fs';
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { describeError } from '../lib/errors.ts';
import { COMMANDS } from './commands/index.ts';
import { type DeclaredOptions, refuseRepeatedOptions } from './options.ts';

/**
 * Write `text` to stderr whole before the process exits. A pipe takes 64 KiB at a time: the
 * stream's asynchronous write would be cut off by process.exit, so write synchronously, waiting
 * while the pipe is full (EAGAIN). A closed stderr ends the attempt.
 */
function writeStderrSync(text: string): void {
  const bytes = Buffer.from(text);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let at = 0; at < bytes.length; ) {
    try {
      at += writeSync(2, bytes, at);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** Print one error line (and the stack with VTA_DEBUG=1), all of it, and exit with `code`. */
function exitWithError(line: string, code: number, stack?: string): never {
  writeStderrSync(`${process.env.VTA_DEBUG && stack ? `${stack}\n` : ''}${line}\n`);
  process.exit(code);
}

function fail(e: unknown): never {
  exitWithError(describeError(e), 1, e instanceof Error ? e.stack : undefined);
}

function refuseRepeats(argv: Record<string, unknown>, y: { getOptions(): DeclaredOptions }): void {
  refuseRepeatedOptions(argv, y.getOptions());
}

/**
 * yargs renders the whole help text as each verb starts, in case the verb fails later and the help
 * is to be shown: our failure handler never shows it, and the rendering costs a tenth of a second.
 */
function skipHelpCache(cli: unknown): void {
  const internals = cli as { getInternalMethods?(): { getUsageInstance(): { cacheHelpMessage(): void } } };
  const usage = internals.getInternalMethods?.().getUsageInstance();
  if (usage) usage.cacheHelpMessage = () => {};
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
    // Before validation, with the verb's own options known: one place refuses `-o a -o b` for all verbs.
    // (yargs passes itself as the second argument; its types leave it out.)
    .middleware(refuseRepeats as (argv: Record<string, unknown>) => void, true)
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
      exitWithError(`error[E_USAGE]: ${String(msg).replace(/\s*\n\s*/g, ' ')} (see vta --help)`, 2);
    });
  for (const m of COMMANDS) cli = cli.command(m as CommandModule);
  skipHelpCache(cli);
  await cli.parseAsync();
}

main().catch(fail);

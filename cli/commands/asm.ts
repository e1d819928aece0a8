import type { CommandModule } from 'yargs';
import { assembleProgram } from '../../isa/asm.ts';
import { VtaError } from '../../lib/errors.ts';
import { readTextOrFail, writeFileAtomic } from '../../lib/files.ts';
import { configFromArgs, refuseOverwrite } from '../options.ts';
import { FILE_LIMITS } from '../../lib/limits.ts';

interface Args {
  text: string;
  output: string;
  config?: string;
}

const command: CommandModule<object, Args> = {
  command: 'asm <text>',
  describe: 'Assemble instruction text (the disassembler syntax) into a binary instruction stream',
  builder: (y) =>
    y
      .positional('text', { type: 'string', demandOption: true, describe: 'assembly file, one instruction per line, # comments' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'binary file to write (16 bytes per instruction)' }),
  handler: (argv) => {
    refuseOverwrite(argv.output, [argv.text]);
    const cfg = configFromArgs(argv);
    const text = readTextOrFail(argv.text, FILE_LIMITS.program);
    const bin = assembleProgram(cfg, text, argv.text);
    if (bin.length === 0) throw new VtaError('E_ASM', `${argv.text}: no instructions`);
    writeFileAtomic(argv.output, bin);
    console.log(`${argv.output}: ${bin.length / 16} instructions`);
  },
};
export default command;

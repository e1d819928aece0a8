import type { CommandModule } from 'yargs';
import { describeConfig, loadConfig } from '../../config/config.ts';
import { layouts } from '../../isa/fields.ts';
import { VtaError } from '../../lib/errors.ts';
import { formatTable } from '../options.ts';

interface Args {
  file?: string;
  config?: string;
  json?: boolean;
  fields?: boolean;
}

const command: CommandModule<object, Args> = {
  command: 'config [file]',
  describe: 'Validate a VTA config and show its derived quantities (and, with --fields, the instruction bit layouts)',
  builder: (y) =>
    y
      .positional('file', { type: 'string', describe: 'config JSON (default: --config or config/vta_config.json)' })
      .option('json', { type: 'boolean', describe: 'print JSON' })
      .option('fields', { type: 'boolean', describe: 'also print every field offset and width' }),
  handler: (argv) => {
    if (argv.file !== undefined && argv.config !== undefined && argv.file !== argv.config) {
      throw new VtaError('E_USAGE', `two configs given (${argv.file} and --config ${argv.config}): name one`);
    }
    const cfg = loadConfig(argv.file ?? argv.config);
    const derived = describeConfig(cfg);
    const l = layouts(cfg);
    const fieldTable = Object.fromEntries(
      Object.entries(l).map(([fmt, fl]) => [fmt, fl.fields.map((f) => ({ name: f.name, offset: f.offset, width: f.width }))]),
    );
    if (argv.json) {
      console.log(JSON.stringify(argv.fields ? { ...derived, fields: fieldTable } : derived, null, 2));
      return;
    }
    console.log(`VTA config ${cfg.bitstream} (${cfg.target}, HW_VER ${cfg.hwVer})`);
    console.log(formatTable(Object.entries(derived).filter(([k]) => k !== 'bitstream')));
    if (argv.fields) {
      for (const [fmt, fields] of Object.entries(fieldTable)) {
        console.log(`\n${fmt}:`);
        console.log(fields.map((f) => `  ${String(f.offset).padStart(3)}..${String(f.offset + f.width - 1).padEnd(3)} ${f.name}`).join('\n'));
      }
    }
  },
};
export default command;

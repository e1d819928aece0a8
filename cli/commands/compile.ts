/** `vta compile MODEL -o FILE.vtapkg`: compile a model ahead of time. */
import type { Argv } from 'yargs';
import { compileModel, packageParts, readModel, type RoundingMode, type ScaleMode } from '../../api/index.ts';
import { passNames } from '../../compiler/compile.ts';
import { VtaError } from '../../lib/errors.ts';
import { writeFileAtomic } from '../../lib/files.ts';
import { configFromArgs, refuseOverwrite, SCALES_OPTION, ROUNDING_OPTION, TUNING_OPTION } from '../options.ts';
import { printNote, summarize } from '../summary.ts';

interface Args {
  model: string;
  output: string;
  rules?: string;
  offload?: string;
  config?: string;
  scales?: ScaleMode;
  rounding?: RoundingMode;
  dumpAfter?: string;
  tuning?: string;
}

export const command = 'compile <model>';
export const describe = 'Compile a model (vta-graph/1 JSON or ONNX) into a .vtapkg: instructions, uops, packed weights, memory plan, relocations';

export function builder(y: Argv): Argv<Args> {
  return y
    .positional('model', { type: 'string', demandOption: true, describe: 'model file (vta-graph/1 JSON or .onnx)' })
    .option('output', { alias: 'o', type: 'string', demandOption: true, describe: '.vtapkg file to write' })
    .option('rules', { type: 'string', describe: 'fusion rules JSON (default: compiler/fusion-rules.json)' })
    .option('offload', { type: 'string', choices: ['auto', 'all'], default: 'auto', describe: "'all': fail unless every dense/conv2d/add runs on VTA" })
    .option('scales', SCALES_OPTION)
    .option('rounding', ROUNDING_OPTION)
    .option('tuning', TUNING_OPTION)
    .option('dump-after', { type: 'string', describe: `print the compiler's state after this pass (${passNames().join(', ')})` }) as unknown as Argv<Args>;
}

export function handler(argv: Args): void {
  refuseOverwrite(argv.output, [argv.model, ...(argv.rules ? [argv.rules] : []), ...(argv.config ? [argv.config] : []), ...(argv.tuning ? [argv.tuning] : [])]);
  if (!argv.output.endsWith('.vtapkg')) {
    throw new VtaError('E_USAGE', `-o ${argv.output}: a compiled package is named *.vtapkg (vta run and vta disasm recognise it by that ending)`);
  }
  const config = configFromArgs(argv);
  const source = readModel(argv.model, { ...(argv.scales ? { scales: argv.scales } : {}), ...(argv.rounding ? { rounding: argv.rounding } : {}), onNote: printNote });
  const dumpAfter = argv.dumpAfter === undefined ? {} : { dumpAfter: { pass: argv.dumpAfter, write: (text: string) => console.log(`== after ${argv.dumpAfter}\n${text}`) } };
  const model = compileModel(source, { config, ...(argv.rules ? { rules: argv.rules } : {}), offload: argv.offload === 'all' ? 'all' : 'auto', ...(argv.tuning ? { tuning: argv.tuning } : {}), ...dumpAfter });
  // Written piece by piece: the package is tens of megabytes, mostly the model's own images.
  const parts = packageParts(model.compiled);
  writeFileAtomic(argv.output, parts);
  console.log(summarize(model.compiled).join('\n'));
  console.log(`${argv.output}: ${model.compiled.insnCount} instructions, ${model.compiled.kernels.length} kernels, ${parts.reduce((n, p) => n + p.length, 0)} bytes (${config.bitstream})`);
}

export default { command, describe, builder, handler };

/** `vta compile MODEL -o FILE.vtapkg`: compile a vta-graph/1 model ahead of time. */
import { VtaError } from '../../lib/errors.ts';
import type { Argv } from 'yargs';
import { compileGraph, passNames, type CompiledModel } from '../../compiler/compile.ts';
import { loadGraph } from '../../graph/load.ts';
import type { Graph } from '../../graph/ir.ts';
import { importOnnx, type ScaleMode } from '../../frontend/onnx.ts';
import { writePackage } from '../../compiler/package.ts';
import { writeFileAtomic } from '../../lib/files.ts';
import { configFromArgs, refuseOverwrite, SCALES_OPTION } from '../options.ts';

export { SCALES_OPTION };

interface Args {
  model: string;
  output: string;
  rules?: string;
  offload?: string;
  config?: string;
  scales?: ScaleMode;
  dumpAfter?: string;
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
    .option('dump-after', { type: 'string', describe: `print the compiler's state after this pass (${passNames().join(', ')})` }) as unknown as Argv<Args>;
}

/**
 * A model file: vta-graph/1 JSON, or ONNX (quantized through the frontend's importer with
 * `scales`). The import notes (approximations, host requantizations) go to `notes` when given.
 */
export function loadModelFile(path: string, scales?: ScaleMode, notes?: (line: string) => void): Graph {
  if (!path.endsWith('.onnx')) {
    if (scales !== undefined) throw new VtaError('E_USAGE', `--scales applies to .onnx models only, not to ${path}`);
    return loadGraph(path);
  }
  const imp = importOnnx(path, scales ? { scales } : {});
  for (const n of imp.notes) notes?.(`note: ${n}`);
  return imp.graph;
}

/** The partition and per-kernel figures, as printed by compile and run. */
export function summarize(model: CompiledModel): string[] {
  const lines = ['partition:', ...model.partition.map((l) => `  ${l}`), 'kernels:'];
  for (const k of model.kernels) {
    const t = k.tiling ? ` tile oc${k.tiling.tOC} ic${k.tiling.tIC} h${k.tiling.tOH} w${k.tiling.tOW} x${k.tiling.slots}` : '';
    const b = k.bands && k.bands > 1 ? ` in ${k.bands} channel bands (tile of the first)` : '';
    lines.push(`  ${k.name}: ${k.insnCount} insns, ${k.uopCount} uops, DRAM ${k.dramBytes} B (minimum ${k.minDramBytes} B)${t}${b}`);
  }
  return lines;
}

export function handler(argv: Args): void {
  refuseOverwrite(argv.output, [argv.model, ...(argv.rules ? [argv.rules] : []), ...(argv.config ? [argv.config] : [])]);
  if (!argv.output.endsWith('.vtapkg')) {
    throw new VtaError('E_USAGE', `-o ${argv.output}: a compiled package is named *.vtapkg (vta run and vta disasm recognise it by that ending)`);
  }
  const cfg = configFromArgs(argv);
  const graph = loadModelFile(argv.model, argv.scales, (line) => console.log(line));
  const dumpAfter = argv.dumpAfter === undefined ? {} : { dumpAfter: { pass: argv.dumpAfter, write: (text: string) => console.log(`== after ${argv.dumpAfter}\n${text}`) } };
  const model = compileGraph(graph, { config: cfg, ...(argv.rules ? { rules: argv.rules } : {}), offload: argv.offload === 'all' ? 'all' : 'auto', ...dumpAfter });
  const bytes = writePackage(model);
  writeFileAtomic(argv.output, bytes);
  console.log(summarize(model).join('\n'));
  console.log(`${argv.output}: ${model.insnCount} instructions, ${model.kernels.length} kernels, ${bytes.length} bytes (${cfg.bitstream})`);
}

export default { command, describe, builder, handler };

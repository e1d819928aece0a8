/** `vta import MODEL.onnx -o MODEL.json`: the vta-graph/1 form of a quantized ONNX model. */
import type { CommandModule } from 'yargs';
import { importOnnx, type RoundingMode, type ScaleMode } from '../../api/index.ts';
import { writeFileAtomic } from '../../lib/files.ts';
import { refuseConfig, refuseOverwrite, SCALES_OPTION, ROUNDING_OPTION } from '../options.ts';

interface Args {
  model: string;
  output: string;
  scales?: ScaleMode;
  config?: string;
}

const command: CommandModule<object, Args> = {
  command: 'import <model>',
  describe: 'Convert a quantized ONNX model (QDQ or QLinear* form) to the vta-graph/1 JSON format',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'quantized .onnx file' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'vta-graph/1 JSON file to write' })
      .option('scales', SCALES_OPTION)
    .option('rounding', ROUNDING_OPTION),
  handler: (argv) => {
    refuseConfig(argv, 'import', 'the vta-graph/1 model it writes does not depend on the VTA config (give --config to compile or run)');
    refuseOverwrite(argv.output, [argv.model]);
    const imp = importOnnx(argv.model, { ...(argv.scales ? { scales: argv.scales } : {}), ...(argv.rounding ? { rounding: argv.rounding as RoundingMode } : {}) });
    writeFileAtomic(argv.output, JSON.stringify(imp.graph, null, 1) + '\n');
    console.log(`${argv.output}: ${imp.graph.nodes.length} nodes, ${Object.keys(imp.graph.tensors).length} constants`);
    // The graph's interface is the ONNX model's own: the same names, dtypes and shapes.
    for (const i of imp.graph.inputs) console.log(`  input  ${i.name} ${i.dtype}[${i.shape.join(',')}]`);
    for (const [name, o] of Object.entries(imp.outputs)) console.log(`  output ${name} ${o.dtype}[${o.shape.join(',')}]`);
    for (const n of imp.notes) console.log(`  note: ${n}`);
  },
};
export default command;

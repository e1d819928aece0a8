/** `vta viz MODEL -o FILE.html|.svg|.dot`: draw a model graph with the compiler's partition. */
import type { CommandModule } from 'yargs';
import { compileModel, readModel, type RoundingMode, type ScaleMode, type SourceModel, type VtaConfig } from '../../api/index.ts';
import { VtaError } from '../../lib/errors.ts';
import { writeFileAtomic } from '../../lib/files.ts';
import { graphToDot, graphToHtml, graphToSvg, type GraphPartition } from '../../viz/graph-view.ts';
import { configFromArgs, refuseOverwrite, SCALES_OPTION, ROUNDING_OPTION } from '../options.ts';

interface Args {
  model: string;
  output: string;
  partition: boolean;
  config?: string;
}

/** The compiler's partition of the graph, or the reason it is not available. */
function partitionOf(source: SourceModel, config: VtaConfig): GraphPartition | string {
  try {
    const { compiled } = compileModel(source, { config });
    return {
      kernels: compiled.kernels.map((k) => ({ name: k.name, nodes: k.nodes, rule: k.rule })),
      hostNodes: compiled.steps.flatMap((s) => (s.kind === 'host' ? [{ node: s.node, reason: s.reason }] : [])),
    };
  } catch (e) {
    return `the compiler could not partition it (${(e as Error).message.split('\n')[0]})`;
  }
}

const command: CommandModule<object, Args> = {
  command: 'viz <model>',
  describe: 'Draw a model graph (.json or quantized .onnx) as HTML, SVG or Graphviz DOT, with its VTA kernels and host nodes',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'vta-graph/1 JSON or quantized ONNX model' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'output file: .html, .svg or .dot' })
      .option('partition', { type: 'boolean', default: true, describe: 'show the compiler partition (--no-partition: graph only)' })
      .option('scales', SCALES_OPTION)
    .option('rounding', ROUNDING_OPTION),
  handler: async (argv) => {
    const format = /\.(html|svg|dot)$/i.exec(argv.output)?.[1]?.toLowerCase();
    if (!format) throw new VtaError('E_USAGE', `${argv.output}: output must end in .html, .svg or .dot`);
    refuseOverwrite(argv.output, [argv.model]);
    // A bad --config is the user's error to fix, not a reason to draw the graph without its partition.
    const config = configFromArgs(argv);
    const scales = argv.scales as ScaleMode | undefined;
    const source = readModel(argv.model, { ...(scales ? { scales } : {}), ...(argv.rounding ? { rounding: argv.rounding as RoundingMode } : {}) });
    const graph = source.graph;
    const p = argv.partition ? partitionOf(source, config) : 'disabled with --no-partition';
    const partition = typeof p === 'string' ? undefined : p;
    const text = format === 'dot' ? graphToDot(graph, partition) : format === 'svg' ? graphToSvg(graph, partition) : graphToHtml(graph, partition, typeof p === 'string' ? p : undefined);
    writeFileAtomic(argv.output, text);
    console.log(`${argv.output}: ${graph.nodes.length} nodes` + (partition ? `, ${partition.kernels.length} VTA kernels, ${partition.hostNodes.length} host nodes` : ` (no partition: ${p})`));
  },
};
export default command;

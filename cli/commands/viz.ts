/**
 * `vta viz MODEL -o FILE.html|.svg|.dot`: draw a model graph with the compiler's partition.
 * `vta viz --profile REPORT.json -o FILE.html`: the profile page of a `vta run --report` file.
 */
import { readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { compileModel, parseProfileReport, profileToHtml, readModel, type RoundingMode, type ScaleMode, type SourceModel, type VtaConfig } from '../../api/index.ts';
import { VtaError } from '../../lib/errors.ts';
import { writeFileAtomic } from '../../lib/files.ts';
import { graphToDot, graphToHtml, graphToSvg, type GraphPartition } from '../../viz/graph-view.ts';
import { configFromArgs, refuseOverwrite, SCALES_OPTION, ROUNDING_OPTION } from '../options.ts';

interface Args {
  model?: string;
  profile?: string;
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

/** --profile: read the report, write the page. */
function writeProfile(reportPath: string, output: string): void {
  if (!/\.html$/i.test(output)) throw new VtaError('E_USAGE', `${output}: the profile page is HTML: the output must end in .html`);
  refuseOverwrite(output, [reportPath]);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(reportPath, 'utf8'));
  } catch (e) {
    throw new VtaError('E_USAGE', `--profile ${reportPath}: cannot read it as JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const report = parseProfileReport(raw, reportPath);
  writeFileAtomic(output, profileToHtml(report));
  console.log(`${output}: profile of ${report.kernels.length} kernels (${report.driver}, ${report.config.bitstream})`);
}

const command: CommandModule<object, Args> = {
  command: 'viz [model]',
  describe: 'Draw a model graph (.json or quantized .onnx) as HTML, SVG or Graphviz DOT, with its VTA kernels and host nodes; or, with --profile, the profile page of a run report',
  builder: (y) =>
    y
      .positional('model', { type: 'string', describe: 'vta-graph/1 JSON or quantized ONNX model' })
      .option('profile', { type: 'string', describe: 'a vta run --report JSON: draw its per-kernel bars and roofline as HTML instead of a graph' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'output file: .html, .svg or .dot' })
      .option('partition', { type: 'boolean', default: true, describe: 'show the compiler partition (--no-partition: graph only)' })
      .option('scales', SCALES_OPTION)
    .option('rounding', ROUNDING_OPTION),
  handler: async (argv) => {
    if (argv.profile !== undefined) {
      if (argv.model !== undefined) throw new VtaError('E_USAGE', `give a model or --profile REPORT.json, not both (model ${argv.model})`);
      writeProfile(argv.profile, argv.output);
      return;
    }
    if (argv.model === undefined) throw new VtaError('E_USAGE', 'vta viz needs a model to draw, or --profile REPORT.json');
    const model = argv.model;
    const format = /\.(html|svg|dot)$/i.exec(argv.output)?.[1]?.toLowerCase();
    if (!format) throw new VtaError('E_USAGE', `${argv.output}: output must end in .html, .svg or .dot`);
    refuseOverwrite(argv.output, [model]);
    // A bad --config is the user's error to fix, not a reason to draw the graph without its partition.
    const config = configFromArgs(argv);
    const scales = argv.scales as ScaleMode | undefined;
    const source = readModel(model, { ...(scales ? { scales } : {}), ...(argv.rounding ? { rounding: argv.rounding as RoundingMode } : {}) });
    const graph = source.graph;
    const p = argv.partition ? partitionOf(source, config) : 'disabled with --no-partition';
    const partition = typeof p === 'string' ? undefined : p;
    const text = format === 'dot' ? graphToDot(graph, partition) : format === 'svg' ? graphToSvg(graph, partition) : graphToHtml(graph, partition, typeof p === 'string' ? p : undefined);
    writeFileAtomic(argv.output, text);
    console.log(`${argv.output}: ${graph.nodes.length} nodes` + (partition ? `, ${partition.kernels.length} VTA kernels, ${partition.hostNodes.length} host nodes` : ` (no partition: ${p})`));
  },
};
export default command;

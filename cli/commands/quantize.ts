/**
 * `vta quantize MODEL.onnx --calibration X.npy -o Q.onnx`: post-training quantization of a float
 * ONNX model (QDQ int8 out, for onnxruntime and `vta run`), with `--eval` to compare float and
 * quantized on held-out samples, per layer.
 */
import type { CommandModule } from 'yargs';
import {
  CALIBRATION_METHODS, SCALE_CHOICES, floatModelInputs, quantizeFile, readLabels, readSamples,
  type CalibrationMethod, type Evaluation, type QuantizeReport, type ScaleChoice,
} from '../../api/quantize.ts';
import { VtaError } from '../../lib/errors.ts';
import { writeFileAtomic } from '../../lib/files.ts';
import { assignFiles, refuseConfig, refuseOverwrite } from '../options.ts';
import { progressBar } from '../progress.ts';
import { appendAll, maxOf } from '../../lib/array-loops.ts';

interface Args {
  model: string;
  output: string;
  calibration: string[];
  method: CalibrationMethod;
  percentile?: number;
  'per-channel'?: boolean;
  scales: ScaleChoice;
  'bias-correction'?: boolean;
  bits: number;
  'keep-8bit'?: string[];
  eval?: string[];
  labels?: string;
  layers?: boolean;
  quiet?: boolean;
  config?: string;
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
const db = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(1)} dB` : x > 0 ? 'exact' : '-inf dB');

function describeReport(r: QuantizeReport, output: string, perChannel: boolean): string[] {
  const lines = [
    `${output}: ${r.bits === 8 ? 'int8' : `${r.bits}-bit`} QDQ model; ${r.method} calibration on ${r.samples} sample(s)${r.given > r.samples ? ` of ${r.given} (whole batches only)` : ''} (${r.batch} per onnxruntime run); ` +
      `${perChannel ? 'per-channel' : 'per-tensor'} weights; ${r.scales === 'pow2' ? 'power-of-two' : 'real-valued'} scales` +
      (r.scaleCandidates ? ` (output SQNR on the calibration samples: real-valued ${db(r.scaleCandidates.float)}, power-of-two ${db(r.scaleCandidates.pow2)})` : ''),
  ];
  const weighted = r.weights.length;
  const groups = new Set(r.values.map((v) => v.group)).size;
  lines.push(`  ${weighted} weighted op(s) with ${r.bits === 8 ? 'int8' : `${r.bits}-bit`} weights; ${r.values.length} quantized activation(s) in ${groups} scale group(s)`);
  if (r.bits < 8) appendAll(lines, narrowNotes(r));
  for (const w of r.rewrites) lines.push(`  rewrite: ${w}`);
  if (r.floatOps.length > 0) lines.push(`  float on the host between DequantizeLinear and QuantizeLinear: ${r.floatOps.join(', ')}`);
  const clamped = r.weights.filter((w) => w.biasClamped > 0);
  for (const w of clamped) lines.push(`  note: ${w.node}: ${w.biasClamped} bias value(s) clamped to int32`);
  return lines;
}

/** What a narrow width means for the written model and for VTA. */
function narrowNotes(r: QuantizeReport): string[] {
  const form = r.bits === 4 ? 'INT4 Q/DQ (opset 21)' : 'int8 containers, each QuantizeLinear after a Clip to the 2-bit grid';
  const lines = [`  ${r.bits}-bit values written as ${form}; graph outputs stay 8-bit`];
  if (r.kept8bit.length > 0) {
    lines.push(`  kept at 8 bits (weights and the activations they read): ${r.kept8bit.join(', ')}: with a ${r.bits}-bit VTA config these run on the host (one input width per config)`);
  }
  return lines;
}

function describeEvaluation(e: Evaluation, showLayers: boolean): string[] {
  const lines = [`evaluation on ${e.samples} held-out sample(s), onnxruntime:`];
  if (e.floatTop1 !== undefined) lines.push(`  top-1 accuracy: float ${pct(e.floatTop1)}, quantized ${pct(e.quantTop1!)} (${((e.quantTop1! - e.floatTop1) * 100).toFixed(2)} points)`);
  lines.push(`  top-1 agreement of quantized with float: ${pct(e.top1Agreement)}`);
  for (const o of e.outputs) lines.push(`  output ${o.name}: SQNR ${db(o.sqnrDb)}`);
  if (showLayers && e.layers.length > 0) {
    lines.push('  per layer (float value against the quantized model\'s, errors accumulated from the input):');
    const w = maxOf(e.layers.map((l) => l.producer.length));
    const worst = e.layers.reduce((a, b) => (b.sqnrDb < a.sqnrDb ? b : a));
    for (const l of e.layers) lines.push(`    ${l.producer.padEnd(w)}  ${db(l.sqnrDb).padStart(9)}${l === worst ? '  <- lowest' : ''}`);
  }
  return lines;
}

const command: CommandModule<object, Args> = {
  command: 'quantize <model>',
  describe: 'Quantize a float ONNX model to int8, 4 or 2 bits (QDQ) with calibration samples, for onnxruntime and vta run',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'float .onnx model' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'quantized .onnx file to write' })
      .option('calibration', { type: 'string', array: true, demandOption: true, describe: 'calibration samples: .npy of N samples along the first axis (NAME=FILE.npy per input when the model has several)' })
      .option('method', { type: 'string', choices: CALIBRATION_METHODS, default: 'mse', describe: 'how activation ranges are chosen: minmax (observed), percentile, entropy (least KL divergence), mse (least squared error)' })
      .option('percentile', { type: 'number', describe: 'with --method percentile: the percentile kept on each side (default 99.99)' })
      .option('per-channel', { type: 'boolean', describe: 'one weight scale per output channel (default: one per tensor)' })
      .option('scales', { type: 'string', choices: SCALE_CHOICES, default: 'auto', describe: 'float (real-valued scales, fixed point on VTA), pow2 (powers of two: exact shifts on VTA), auto (the more accurate on the calibration samples)' })
      .option('bias-correction', { type: 'boolean', describe: "shift each channel's bias by the expected error of its quantized weights" })
      .option('bits', { type: 'number', choices: [8, 4, 2], default: 8, describe: 'activation and weight width: 4 writes ONNX INT4 (opset 21), 2 int8 containers clipped to the 2-bit grid' })
      .option('keep-8bit', { type: 'string', array: true, describe: 'weighted nodes (by name, e.g. the first and last) kept at 8 bits with --bits 4 or 2' })
      .option('eval', { type: 'string', array: true, describe: 'held-out samples (.npy): compare float and quantized with onnxruntime' })
      .option('labels', { type: 'string', describe: 'with --eval: class labels (1-D integer .npy) for top-1 accuracy' })
      .option('layers', { type: 'boolean', default: true, describe: 'with --eval: the per-layer SQNR table (--no-layers to hide it)' })
      .option('quiet', { alias: 'q', type: 'boolean', describe: 'no progress bar' }) as never,
  handler: async (argv) => {
    refuseConfig(argv, 'quantize', 'the quantized ONNX model does not depend on the VTA config (give --config to vta run)');
    if (argv['keep-8bit'] && argv.bits === 8) throw new VtaError('E_USAGE', '--keep-8bit applies to --bits 4 or 2');
    if (argv.labels && !argv.eval) throw new VtaError('E_USAGE', '--labels needs --eval (the samples the labels belong to)');
    if (argv.percentile !== undefined && argv.method !== 'percentile') throw new VtaError('E_USAGE', `--percentile applies to --method percentile, not ${argv.method}`);
    if (argv.percentile !== undefined && !(argv.percentile > 50 && argv.percentile <= 100)) throw new VtaError('E_USAGE', `--percentile must be in (50, 100], got ${argv.percentile}`);
    const names = await floatModelInputs(argv.model);
    const calibrationFiles = assignFiles(argv.calibration, names, 'input', 'calibration');
    const evalFiles = argv.eval ? assignFiles(argv.eval, names, 'input', 'eval') : undefined;
    refuseOverwrite(argv.output, [argv.model, ...calibrationFiles.values(), ...(evalFiles?.values() ?? []), ...(argv.labels ? [argv.labels] : [])]);
    const calibration = await readSamples(calibrationFiles);
    const evaluation = evalFiles ? { samples: await readSamples(evalFiles), ...(argv.labels ? { labels: await readLabels(argv.labels) } : {}) } : undefined;
    const bar = process.stderr.isTTY && !argv.quiet
      ? progressBar({ stream: process.stderr, format: 'calibrating {bar} run {value}/{total}', clearOnComplete: true, hideCursor: true })
      : undefined;
    let started = false;
    const t0 = performance.now();
    let result;
    try {
      result = await quantizeFile(argv.model, calibration, {
        method: argv.method,
        ...(argv.percentile !== undefined ? { percentile: argv.percentile } : {}),
        perChannel: !!argv['per-channel'],
        scales: argv.scales,
        biasCorrection: !!argv['bias-correction'],
        bits: argv.bits,
        ...(argv['keep-8bit'] ? { keep8bit: argv['keep-8bit'] } : {}),
        onProgress: (done, total) => {
          if (!bar) return;
          if (!started) bar.start(total, 0);
          started = true;
          bar.update(done);
        },
      }, evaluation);
    } finally {
      bar?.stop();
    }
    const seconds = (performance.now() - t0) / 1000;
    writeFileAtomic(argv.output, result.bytes);
    console.log(describeReport(result.report, argv.output, !!argv['per-channel']).join('\n'));
    console.log(`  quantized in ${seconds.toFixed(1)} s${result.evaluation ? ' (evaluation included)' : ''}`);
    if (result.evaluation) console.log(describeEvaluation(result.evaluation, argv.layers !== false).join('\n'));
  },
};
export default command;

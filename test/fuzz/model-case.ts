/**
 * One model case of the ONNX, JSON-model and package fuzzers: the bytes are written to a file of
 * their format, opened, compiled and run on fsim with random inputs and the reference check. A
 * result is correct when the run matches the graph reference bit for bit; a refusal must be clean
 * (runner.ts classifies it). For ONNX, a model this toolchain accepts must also load in onnxruntime.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelInputs, openModel, runModel } from '../../api/index.ts';
import { loadOrt } from '../../frontend/onnxruntime.ts';
import type { Outcome } from './runner.ts';

const DIR = mkdtempSync(join(tmpdir(), 'vta-fuzz-'));

/** Largest model a case runs (DRAM bytes of its kernels): a bigger mutant is only opened and compiled. */
const RUN_DRAM_BYTES = 64 * 2 ** 20;

export async function modelCase(bytes: Uint8Array, ext: 'onnx' | 'json' | 'vtapkg', seed: number): Promise<Outcome> {
  const path = join(DIR, `case-${seed}.${ext}`);
  writeFileSync(path, bytes);
  try {
    const model = openModel(path, ext === 'onnx' ? { scales: 'vta' } : {});
    if (ext === 'onnx') {
      const why = await ortRejects(bytes);
      if (why) return { kind: 'failed', why: `accepted a model onnxruntime rejects: ${why}` };
    }
    if (model.compiled.kernels.reduce((a, k) => a + k.dramBytes, 0) > RUN_DRAM_BYTES) return { kind: 'ok' };
    const inputs = await modelInputs(model, new Map(), seed);
    const report = await runModel(model, inputs, { driver: 'fsim', check: true });
    const mismatch = report.check?.reference.mismatch;
    if (mismatch) return { kind: 'failed', why: `fsim differs from the graph reference: ${JSON.stringify(mismatch).slice(0, 200)}` };
    return { kind: 'ok' };
  } finally {
    rmSync(path, { force: true });
  }
}

async function ortRejects(bytes: Uint8Array): Promise<string | undefined> {
  try {
    const session = await loadOrt().InferenceSession.create(bytes);
    await session.release();
    return undefined;
  } catch (e) {
    return String((e as Error).message).split('\n')[0]!.slice(0, 200);
  }
}

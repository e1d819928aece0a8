/**
 * `vta run` on the model's own interface: .npy files of the graph inputs' dtypes (k batches in
 * one file), outputs written in the graph outputs' dtypes, one-line errors naming the file, the
 * placement summary, and a progress bar only on a terminal.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { concatBatches, openModel, randomInput, runModel } from '../../api/index.ts';
import { runProgress } from '../../cli/progress.ts';
import { parseNpy, writeNpy } from '../../lib/npy.ts';
import { floatDense, writeModel } from '../api/float-models.ts';

const ROOT = join(import.meta.dirname, '..', '..');

async function vta(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)('node', [join(ROOT, 'bin/vta.mjs'), ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const tmp = () => mkdtempSync(join(tmpdir(), 'vta-run-'));
const npyHeader = (f: string) => Buffer.from(readFileSync(f)).subarray(10, 80).toString('latin1');

describe('vta run on the model interface', () => {
  it('runs 3 batches of a float32 input and writes the float32 outputs of all three, no progress bar off a terminal', async () => {
    const dir = tmp();
    const model = writeModel(dir, floatDense());
    const x = concatBatches([0, 1, 2].map((b) => randomInput([1, 16], 'float32', 10 + b)));
    writeFileSync(join(dir, 'x.npy'), writeNpy(x));
    const out = join(dir, 'y.npy');
    const r = await vta('run', model, '--input', join(dir, 'x.npy'), '--output', out, '--check');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('batches: 3, run one after the other through one loaded program');
    expect(r.stdout).toMatch(/check: \d+ tensors bit-exact with the reference executor \(3 batches\)/);
    expect(r.stdout).toContain('  host q (quantize): ');
    expect(r.stdout).toContain('  1 kernel on VTA, 2 host steps (of which 2 in float)');
    expect(npyHeader(out)).toContain(`'descr': '<f4', 'fortran_order': False, 'shape': (3, 16)`);
    const y = parseNpy(readFileSync(out), out);
    const api = await runModel(openModel(model), new Map([['x', x]]));
    expect(Array.from(y.data)).toEqual(Array.from(api.outputs.get('y')!.data));
  }, 60_000);

  it.skipIf(!existsSync(join(ROOT, 'hw/build/1x16_i8w8a32_15_15_18_17/vta_tsim.node')))('tsim spreads the kernels over --jobs devices and says so; --jobs 1 runs them in order with the same outputs and cycles', async () => {
    const dir = tmp();
    const outs = [join(dir, 'a.npy'), join(dir, 'b.npy')];
    const two = await vta('run', 'models/cnn.onnx', '--driver', 'tsim', '--jobs', '2', '--output', outs[0]!);
    const one = await vta('run', 'models/cnn.onnx', '--driver', 'tsim', '--jobs', '1', '--output', outs[1]!);
    expect([two.code, one.code]).toEqual([0, 0]);
    expect(two.stdout).toMatch(/\nparallel: \d+ kernel runs on 2 devices at once, each checked against fsim's DRAM\n/);
    expect(one.stdout).not.toContain('parallel:');
    const cycles = (out: string) => [...out.matchAll(/, (\d+) cycles\n/g)].map((m) => m[1]);
    expect(cycles(two.stdout).length).toBeGreaterThan(1);
    expect(cycles(two.stdout)).toEqual(cycles(one.stdout));
    expect(readFileSync(outs[0]!).equals(readFileSync(outs[1]!))).toBe(true);
    const zero = await vta('run', 'models/cnn.onnx', '--driver', 'tsim', '--jobs', '0');
    expect(zero.code).not.toBe(0);
    expect(zero.stderr.trim()).toBe('error[E_USAGE]: --jobs must be a whole number of at least 1, got 0');
  }, 60_000);

  it('writes an int8 output as int8', async () => {
    const dir = tmp();
    const g = floatDense();
    // The same layer on its integer interface: int8 x in, int8 yq out.
    g.inputs = [{ name: 'xq', shape: [1, 16], dtype: 'int8' }];
    g.nodes = g.nodes.filter((n) => n.op !== 'quantize' && n.op !== 'dequantize');
    g.outputs = ['yq'];
    g.name = 'int8-dense';
    const model = writeModel(dir, g);
    writeFileSync(join(dir, 'x.npy'), writeNpy(randomInput([2, 16], 'int8', 1)));
    const out = join(dir, 'y.npy');
    const r = await vta('run', model, '--input', join(dir, 'x.npy'), '--output', out);
    expect(r.code).toBe(0);
    expect(npyHeader(out)).toContain(`'descr': '|i1', 'fortran_order': False, 'shape': (2, 16)`);
  });

  it('compares an ONNX model with onnxruntime in output quantization steps', async () => {
    const r = await vta('run', 'models/cnn.onnx', '--check');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('onnxruntime vs VTA on the same inputs:');
    expect(r.stdout).toMatch(/\n {2}logits (int8|float32)\[1,10\]: max difference \d+(\.\d+)? steps? \(step 1\); [\d.]+% within 0, [\d.]+% within 1, [\d.]+% within 2; top-1 agrees on [01] of 1 samples\n/);
    expect(r.stdout).toMatch(/ \d+ kernels? on VTA, \d+ host steps \(of which \d+ in float\)/);
  }, 60_000);

  it('refuses an input of another dtype in one line naming the file and the expected dtype and shape, writing nothing', async () => {
    const dir = tmp();
    const model = writeModel(dir, floatDense());
    const f = join(dir, 'x8.npy');
    writeFileSync(f, writeNpy(randomInput([3, 16], 'int8', 0)));
    const out = join(dir, 'y.npy');
    const r = await vta('run', model, '--input', f, '--output', out);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(`error[E_INPUT]: ${f}: bad input: int8[3,16] but input x is float32[1,16] (or float32[k,16] for k batches)\n`);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a first dimension that is not a multiple of the batch in one line', async () => {
    const dir = tmp();
    const model = writeModel(dir, floatDense(2));
    const f = join(dir, 'x.npy');
    writeFileSync(f, writeNpy(randomInput([5, 16], 'float32', 0)));
    const r = await vta('run', model, '--input', f);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(`error[E_INPUT]: ${f}: bad input: first dimension 5 is not a multiple of input x's batch 2 (float32[2,16])\n`);
  });
});

describe('the progress bar', () => {
  /** A stream that records what is written, as a terminal or not. */
  function stream(isTTY: boolean): { s: NodeJS.WriteStream; text: () => string } {
    let text = '';
    const w = new Writable({ write(chunk, _enc, done) { text += String(chunk); done(); } });
    const s = Object.assign(w, { isTTY, columns: 80, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, clearScreenDown: () => true });
    return { s: s as unknown as NodeJS.WriteStream, text: () => text };
  }

  it('is off when the stream is not a terminal, or when quiet', () => {
    expect(runProgress(stream(false).s, false, 3, 4)).toBeUndefined();
    expect(runProgress(stream(true).s, true, 3, 4)).toBeUndefined();
  });

  it('counts batches on a terminal', () => {
    const t = stream(true);
    const bar = runProgress(t.s, false, 3, 4)!;
    for (let done = 0; done < 12; done++) bar.update(done, 12, `step ${done}`);
    bar.stop();
    expect(t.text()).toContain('batch 1/3');
    expect(t.text()).toContain('batch 3/3 step 11');
  });
});

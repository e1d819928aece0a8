/**
 * `vta quantize` as a user runs it: a float model and a calibration .npy in, a QDQ model out that
 * `vta run` runs, the report and the held-out evaluation printed; bad input one line and no file.
 * With `--bits 4 --keep-8bit NAME...` the report names the width, the form written and the layers
 * kept at 8 bits (which a 4-bit config runs on the host), and `vta run Q.onnx --config
 * config/int4.json --check` runs the model bit-exactly with the partition saying why each host
 * layer is there.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '../../lib/npy.ts';
import { digitsNpy, loadMnist } from '../../models/mnist.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const MLP = join(ROOT, 'models', 'float', 'mnist-mlp.onnx');
const FIRST = '/layers/layers.1/Gemm';

async function vta(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)('node', [join(ROOT, 'bin/vta.mjs'), ...args], { cwd: ROOT, timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

function data(): { dir: string; calib: string; x: string; y: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vta-quantize-'));
  const { train, heldout } = loadMnist();
  const c = digitsNpy(train, 0, 64);
  const t = digitsNpy(heldout, 0, 40);
  const paths = { dir, calib: join(dir, 'calib.npy'), x: join(dir, 'x.npy'), y: join(dir, 'y.npy') };
  writeFileSync(paths.calib, writeNpy(c.x));
  writeFileSync(paths.x, writeNpy(t.x));
  writeFileSync(paths.y, writeNpy(t.y));
  return paths;
}

describe('vta quantize', () => {
  it('writes a model vta run runs, with the report, the evaluation and the per-layer table', async () => {
    const d = data();
    const out = join(d.dir, 'q.onnx');
    const r = await vta('quantize', MLP, '--calibration', d.calib, '-o', out, '--eval', d.x, '--labels', d.y, '--per-channel');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: int8 QDQ model; mse calibration on 64 sample\\(s\\) \\(1 per onnxruntime run\\); per-channel weights`));
    expect(r.stdout).toContain('3 weighted op(s) with int8 weights');
    expect(r.stdout).toMatch(/evaluation on 40 held-out sample\(s\), onnxruntime:\n {2}top-1 accuracy: float \d+\.\d\d%, quantized \d+\.\d\d%/);
    expect(r.stdout).toMatch(/per layer .*\n(.*dB.*\n)+/);
    const run = await vta('run', out, '--input', d.x, '--labels', d.y, '-q');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^top-1 accuracy on fsim: \d+\.\d\d% \(\d+ of 40\) against /);
  }, 120_000);

  it('refuses bad input with one line and writes no file', async () => {
    const d = data();
    const out = join(d.dir, 'q.onnx');
    const cases: [string[], string][] = [
      [['quantize', MLP, '--calibration', d.y, '-o', out], `error[E_QUANTIZE]: calibration data for 'input' is int32, the model's input is float32`],
      [['quantize', join(ROOT, 'models', 'cnn.onnx'), '--calibration', d.calib, '-o', out], 'is quantized already'],
      [['quantize', MLP, '--calibration', d.calib, '-o', out, '--labels', d.y], 'error[E_USAGE]: --labels needs --eval'],
      [['quantize', MLP, '--calibration', d.calib, '-o', d.calib], 'error[E_USAGE]'],
      [['quantize', MLP, '--calibration', d.calib, '-o', out, '--eval', d.x, '--labels', d.calib], 'labels must be a 1-D integer array'],
    ];
    for (const [args, message] of cases) {
      const r = await vta(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    }
  }, 120_000);
});

function calibration(): { dir: string; calib: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vta-quantize-bits-'));
  const calib = join(dir, 'calib.npy');
  writeFileSync(calib, writeNpy(digitsNpy(loadMnist().train, 0, 64).x));
  return { dir, calib };
}

describe('vta quantize --bits', () => {
  it('--bits 4 --keep-8bit: the report says what is kept, and vta run on the int4 config runs it with the reasons', async () => {
    const { dir, calib } = calibration();
    const out = join(dir, 'q4.onnx');
    const r = await vta('quantize', MLP, '--calibration', calib, '-o', out, '--bits', '4', '--keep-8bit', FIRST, '--per-channel', '-q');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(': 4-bit QDQ model; mse calibration');
    expect(r.stdout).toContain('3 weighted op(s) with 4-bit weights');
    expect(r.stdout).toContain('4-bit values written as INT4 Q/DQ (opset 21); graph outputs stay 8-bit');
    expect(r.stdout).toContain(`kept at 8 bits (weights and the activations they read): ${FIRST}: with a 4-bit VTA config these run on the host (one input width per config)`);
    const run = await vta('run', out, '--config', join(ROOT, 'config', 'int4.json'), '--check');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`host ${FIRST} \\(dense\\): input \\S+ is not proven to fit int4 \\[-8, 7\\]`));
    expect(run.stdout).toMatch(/vta {2}\/layers\/layers\.3\/Gemm \+ /);
    expect(run.stdout).toMatch(/host \/layers\/layers\.5\/Gemm \(dense\): its output \S+ spans \[-128, 127\], but a 4-bit STORE keeps int4/);
    expect(run.stdout).toMatch(/check: \d+ tensors bit-exact with the reference executor/);
  }, 120_000);

  it('refuses bad --bits and --keep-8bit with one line and writes no file', async () => {
    const { dir, calib } = calibration();
    const out = join(dir, 'q.onnx');
    // Exit 2: yargs refused the arguments themselves.
    const cases: [string[], string, number][] = [
      [['--bits', '4', '--keep-8bit', 'nosuch'], `error[E_QUANTIZE]: --keep-8bit nosuch: no weighted node (Conv, Gemm, MatMul) of ${MLP} has that name (they are ${FIRST}, /layers/layers.3/Gemm, /layers/layers.5/Gemm)`, 1],
      [['--keep-8bit', FIRST], 'error[E_USAGE]: --keep-8bit applies to --bits 4 or 2', 1],
      [['--bits', '3'], 'error[E_USAGE]: Invalid values: Argument: bits, Given: 3, Choices: 8, 4, 2', 2],
    ];
    for (const [extra, message, code] of cases) {
      const r = await vta('quantize', MLP, '--calibration', calib, '-o', out, '-q', ...extra);
      expect(r.code).toBe(code);
      expect(r.stderr).toContain(message);
      expect(existsSync(out)).toBe(false);
    }
  }, 120_000);
});

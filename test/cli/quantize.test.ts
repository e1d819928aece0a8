/**
 * `vta quantize` as a user runs it: a float model and a calibration .npy in, a QDQ model out that
 * `vta run` runs, the report and the held-out evaluation printed; bad input one line and no file.
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

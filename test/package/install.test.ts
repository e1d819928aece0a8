/**
 * The package installs like a package: `npm pack` (whose prepack builds the bundle), then the
 * tarball installed in an empty folder, gives a `vta` that runs a model, proves fsim with the
 * conformance kit and quantizes a float model, from the bundle alone (no TypeScript sources are
 * shipped for it). The install is offline, from the npm cache that `npm ci` filled: the folder gets
 * a lock file naming the tarball and the repository's locked run-time dependencies, and install
 * scripts stay off, as package.json's allowScripts keeps them for `npm ci`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../../lib/npy.ts';
import { digitsNpy, loadMnist } from '../../models/mnist.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const made: string[] = [];
const tmp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface LockEntry {
  dev?: boolean;
}

/** package.json and package-lock.json of a project that depends on the tarball and nothing else. */
function writeProject(dir: string, tarball: string): void {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const spec = `file:${tarball}`;
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': { name: 'try-vta', dependencies: { 'vta-toolchain': spec } },
    'node_modules/vta-toolchain': { version: pkg.version, resolved: spec, integrity, license: pkg.license, bin: pkg.bin, engines: pkg.engines, dependencies: pkg.dependencies },
  };
  for (const [path, entry] of Object.entries(lock.packages)) if (path.startsWith('node_modules/') && !entry.dev) packages[path] = entry;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'try-vta', private: true, dependencies: { 'vta-toolchain': spec } }, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'try-vta', lockfileVersion: 3, requires: true, packages }, null, 2));
}

describe('npm pack, then install the tarball in an empty folder', () => {
  it('gives a vta that runs, proves fsim and quantizes from the bundle, and the library the README imports', async (ctx) => {
    const packDir = tmp('vta-pack-');
    await run('npm', ['pack', '--pack-destination', packDir, '--loglevel=error'], { cwd: ROOT, timeout: 60_000 });
    const tarballs = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
    expect(tarballs).toHaveLength(1);

    const app = tmp('vta-app-');
    writeProject(app, join(packDir, tarballs[0]!));
    try {
      await run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app, timeout: 90_000 });
    } catch (e) {
      const stderr = String((e as { stderr?: string }).stderr);
      if (stderr.includes('ENOTCACHED')) ctx.skip(`npm cannot install offline here: a locked dependency is not in the npm cache (run make deps first): ${stderr.split('\n')[0]}`);
      throw e;
    }
    const pkg = join(app, 'node_modules', 'vta-toolchain');
    expect(existsSync(join(pkg, 'dist', 'vta.mjs'))).toBe(true);
    // The bundle and V8's code cache for it (scripts/build.ts).
    expect(existsSync(join(pkg, 'dist', 'vta.cjs'))).toBe(true);
    expect(existsSync(join(pkg, 'dist', 'vta.cjs.cache'))).toBe(true);
    expect(existsSync(join(pkg, 'cli'))).toBe(false);
    const vta = async (...args: string[]) => (await run('npx', ['--no', 'vta', ...args], { cwd: app, timeout: 60_000 })).stdout;

    const ran = await vta('run', join(pkg, 'models', 'cnn.onnx'), '--input', join(pkg, 'models', 'cnn.input.npy'), '--check');
    expect(ran).toMatch(/^check: \d+ tensors bit-exact with the reference executor$/m);
    expect(ran).toMatch(/top-1 agrees on 1 of 1 samples/);

    expect(await vta('conformance', '--driver', 'fsim')).toMatch(/^[1-9]\d* passed, 0 failed$/m);

    const calibration = join(app, 'calibration.npy');
    writeFileSync(calibration, writeNpy(digitsNpy(loadMnist().train, 0, 32).x));
    const quantized = join(app, 'mnist-cnn.q.onnx');
    const report = await vta('quantize', join(pkg, 'models', 'float', 'mnist-cnn.onnx'), '--calibration', calibration, '-o', quantized, '-q');
    expect(report).toContain('QDQ model');
    expect(existsSync(quantized)).toBe(true);
    // The library, as the README imports it: the package's export, no TypeScript.
    const script = `import { modelInputs, openModel, runModel } from 'vta-toolchain';
const model = openModel(${JSON.stringify(join(pkg, 'models', 'cnn.onnx'))});
const report = await runModel(model, await modelInputs(model), { check: true });
console.log([...report.outputs.keys()].join(','), report.check.reference.mismatch === undefined);`;
    const lib = await run('node', ['--input-type=module', '-e', script], { cwd: app, timeout: 60_000 });
    expect(lib.stdout.trim()).toBe('logits true');
  }, 110_000);
});

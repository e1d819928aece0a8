/** `vta compile` and `vta run` command modules, called as the CLI calls them. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as compileCmd from '../../cli/commands/compile.ts';
import * as runCmd from '../../cli/commands/run.ts';
import { runReference } from '../../graph/reference.ts';
import { parseNpy, writeNpy } from '../../lib/npy.ts';
import { convGraph, randomTensor, rng } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'vta-cli-'));
const model = join(dir, 'conv.json');
const graph = convGraph(rng(5), { n: 1, c: 16, h: 6, w: 6, o: 16, k: 3, stride: 1, pad: 1 }, { bias: true, shift: 8, relu: true, clip: [0, 127] });
writeFileSync(model, JSON.stringify(graph));
const b2x8 = new URL('../../config/b2x8.json', import.meta.url).pathname;

function capture(): string[] {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  return lines;
}
afterEach(() => vi.restoreAllMocks());

const runArgs = (extra: Partial<Parameters<typeof runCmd.handler>[0]>) => ({ model, driver: 'fsim', seed: 0, ...extra });

describe('vta compile / vta run', () => {
  it('exports yargs command modules', () => {
    expect(compileCmd.command).toBe('compile <model>');
    expect(runCmd.command).toBe('run <model>');
    expect(typeof compileCmd.builder).toBe('function');
    expect(typeof runCmd.handler).toBe('function');
  });

  it('compile writes a .vtapkg that run executes with .npy in and out, checked and race-free', async () => {
    const pkg = join(dir, 'conv.vtapkg');
    const out = capture();
    compileCmd.handler({ model, output: pkg });
    expect(out.at(-1)).toMatch(/conv\.vtapkg: \d+ instructions, 1 kernels, \d+ bytes \(1x16_i8w8a32_15_15_18_17\)$/);
    const x = randomTensor(rng(6), [1, 16, 6, 6], 'int8');
    const xin = join(dir, 'x.npy');
    const yout = join(dir, 'y.npy');
    writeFileSync(xin, writeNpy(x));
    await runCmd.handler(runArgs({ model: pkg, input: [xin], output: [yout], check: true, races: true }));
    expect(out).toContain('races: none');
    expect(out).toContain('check: 1 tensors bit-exact with the reference executor');
    expect(out.at(-1)).toMatch(/^time: compile [0-9.]+ ms, run [0-9.]+ ms on fsim, total [0-9.]+ ms$/);
    const y = parseNpy(new Uint8Array(readFileSync(yout)));
    expect(Array.from(y.data)).toEqual(Array.from(runReference(graph, { x })[graph.outputs[0]!]!.data));
  });

  it('compile --dump-after PASS prints the state after that pass', () => {
    const out = capture();
    compileCmd.handler({ model, output: join(dir, 'dump.vtapkg'), dumpAfter: 'choose-tilings' });
    const at = out.findIndex((l) => l.startsWith('== after choose-tilings\n'));
    expect(at).toBeGreaterThanOrEqual(0);
    expect(out[at]).toMatch(/^== after choose-tilings\nk0_conv: oc\d+ ic1 h\d+ w\d+ x[12]/);
  });

  it('compile --dump-after with an unknown pass lists the valid names and writes nothing', () => {
    const pkg = join(dir, 'never.vtapkg');
    expect(() => compileCmd.handler({ model, output: pkg, dumpAfter: 'lower' })).toThrow(
      "unknown pass 'lower' (the passes are shapes, partition, offload-check, name-kernels, build-problems, pack-constants, place-buffers, choose-tilings, tensorize, sync, emit, link)",
    );
    expect(existsSync(pkg)).toBe(false);
  });

  it('run compiles a model JSON for --config and uses a seeded random input', async () => {
    const out = capture();
    await runCmd.handler(runArgs({ check: true, config: b2x8, seed: 3, quiet: true }));
    expect(out).toEqual(['check: 1 tensors bit-exact with the reference executor']);
  });

  it('refuses an input of the wrong shape, naming the file', async () => {
    const bad = join(dir, 'bad.npy');
    writeFileSync(bad, writeNpy(randomTensor(rng(1), [1, 16, 5, 6], 'int8')));
    await expect(runCmd.handler(runArgs({ input: [bad], quiet: true }))).rejects.toThrow(
      `${bad}: bad input: int8[1,16,5,6] but input x is int8[1,16,6,6]`,
    );
  });

  it('refuses a package compiled for another config', async () => {
    const pkg = join(dir, 'conv2.vtapkg');
    capture();
    compileCmd.handler({ model, output: pkg });
    await expect(runCmd.handler(runArgs({ model: pkg, config: b2x8, quiet: true }))).rejects.toThrow(
      /conv2\.vtapkg: bad \.vtapkg artifact: compiled for 1x16_i8w8a32_15_15_18_17, not for --config .*b2x8\.json/,
    );
  });
});

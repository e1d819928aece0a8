/**
 * Names users choose are data, whatever they are: inputs, outputs and nodes named `__proto__`,
 * `constructor`, `toString` or `hasOwnProperty` (keys every plain JavaScript object already has)
 * go through import, compile, run (with --check against the reference and onnxruntime), viz,
 * packages and bundles like any other name. They used to end in `internal error`, or in a bundle
 * result silently missing the output.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openModel, runModel } from '../../api/index.ts';
import { buildOnnxModel, type ModelSpec } from '../../frontend/onnx-builder.ts';
import { parseNpy, writeNpy } from '../../lib/npy.ts';
import { ROOT, vta, vtaAll, type Outcome } from './vta-process.ts';

const KIT_BUNDLE = join(ROOT, 'conformance', 'alu-s1-legal-b1000.bundle.json');
const M = [1, 2, 3, -1, -2, -3, 4, 5, 6, 0, 1, -1];

/** Two int8 inputs, each through its own QLinearMatMul (x · M / 4) to its own output. */
function namesModel(inputs: [string, string], outputs: [string, string], nodes: [string, string]): ModelSpec {
  const zp = { name: 'zp', type: 'int8' as const, dims: [], values: [0] };
  const scale = (name: string, v: number) => ({ name, type: 'float' as const, dims: [], values: [v] });
  const matmul = (k: 0 | 1) => ({ op: 'QLinearMatMul', inputs: [inputs[k], 's1', 'zp', 'm', 's1', 'zp', 's2', 'zp'], outputs: [outputs[k]], name: nodes[k] });
  return {
    name: 'names',
    inputs: inputs.map((name) => ({ name, type: 'int8' as const, shape: [1, 4] })),
    outputs: outputs.map((name) => ({ name, type: 'int8' as const, shape: [1, 3] })),
    initializers: [zp, scale('s1', 0.5), scale('s2', 1), { name: 'm', type: 'int8', dims: [4, 3], values: M }],
    nodes: [matmul(0), matmul(1)],
  };
}

/** x · M / 4, rounded half to even as ONNX does. */
function expected(x: number[]): number[] {
  return [0, 1, 2].map((c) => {
    const v = x.reduce((s, xi, r) => s + xi * M[r * 3 + c]!, 0) / 4;
    const f = Math.floor(v);
    return v - f === 0.5 ? (f % 2 === 0 ? f : f + 1) : Math.round(v);
  });
}

let dir = '';
const f = (name: string) => join(dir, name);
const X1 = [1, 2, 3, 4];
const X2 = [-4, 7, 0, 5];

function ok(r: Outcome, what: string): void {
  expect(r.stderr, what).toBe('');
  expect(r.code, `${what}: ${r.stderr}`).toBe(0);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vta-names-'));
  writeFileSync(f('in.onnx'), buildOnnxModel(namesModel(['__proto__', 'constructor'], ['toString', 'hasOwnProperty'], ['__proto__', 'constructor'])));
  writeFileSync(f('out.onnx'), buildOnnxModel(namesModel(['toString', 'hasOwnProperty'], ['__proto__', 'constructor'], ['valueOf', 'isPrototypeOf'])));
  writeFileSync(f('x1.npy'), writeNpy({ shape: [1, 4], dtype: 'int8', data: Int8Array.from(X1) }));
  writeFileSync(f('x2.npy'), writeNpy({ shape: [1, 4], dtype: 'int8', data: Int8Array.from(X2) }));
});

describe('tensors and nodes named like Object.prototype keys', () => {
  it('import, compile, viz and run --check (reference and onnxruntime) work for inputs and outputs so named', async () => {
    const results = await vtaAll(
      [
        ['import', 'in.onnx', '-o', 'in.json'],
        ['import', 'out.onnx', '-o', 'out.json'],
        ['compile', 'in.onnx', '-o', 'in.vtapkg'],
        ['compile', 'out.onnx', '-o', 'out.vtapkg'],
        ['viz', 'in.onnx', '-o', 'in.html'],
        ['viz', 'out.onnx', '-o', 'out.svg'],
        ['run', 'in.onnx', '--check', '--input', '__proto__=x1.npy', '--input', 'constructor=x2.npy'],
        ['run', 'out.onnx', '--check', '--input', 'toString=x1.npy', '--input', 'hasOwnProperty=x2.npy'],
      ],
      dir,
    );
    results.forEach((r, i) => ok(r, `command ${i}`));
    const [importIn, importOut, , , , , runIn, runOut] = results;
    expect(importIn!.stdout).toMatch(/input {2}__proto__ int8\[1,4\]/);
    expect(importOut!.stdout).toMatch(/output __proto__ int8\[1,3\]/);
    expect(JSON.parse(readFileSync(f('out.json'), 'utf8')).outputs).toEqual(['__proto__', 'constructor']);
    for (const r of [runIn!, runOut!]) {
      expect(r.stdout).toContain('check: 2 tensors bit-exact with the reference executor');
      expect(r.stdout).toMatch(/onnxruntime vs VTA/);
    }
    expect(runOut!.stdout).toMatch(/__proto__ int8\[1,3\]: max difference 0 steps/);
    expect(runOut!.stdout).toMatch(/constructor int8\[1,3\]: max difference 0 steps/);
    expect(readFileSync(f('in.html'), 'utf8')).toContain('in:__proto__');
    expect(readFileSync(f('out.svg'), 'utf8')).toContain('out:__proto__');
  });

  it('packages and imported JSON models run with those names as --input and --output', async () => {
    const results = await vtaAll(
      [
        ['run', 'in.vtapkg', '-q', '--input', '__proto__=x1.npy', '--input', 'constructor=x2.npy', '--output', 'toString=a.npy', '--output', 'hasOwnProperty=b.npy'],
        ['run', 'out.vtapkg', '-q', '--input', 'toString=x1.npy', '--input', 'hasOwnProperty=x2.npy', '--output', '__proto__=c.npy', '--output', 'constructor=d.npy'],
        ['run', 'out.json', '-q', '--check', '--input', 'toString=x2.npy', '--input', 'hasOwnProperty=x1.npy', '--output', '__proto__=e.npy', '--output', 'constructor=g.npy'],
      ],
      dir,
    );
    results.forEach((r, i) => ok(r, `run ${i}`));
    const read = (name: string) => Array.from(parseNpy(readFileSync(f(name)), name).data);
    expect([read('a.npy'), read('b.npy'), read('c.npy'), read('d.npy')]).toEqual([expected(X1), expected(X2), expected(X1), expected(X2)]);
    expect([read('e.npy'), read('g.npy')]).toEqual([expected(X2), expected(X1)]);
  });

  it('the library API takes and returns them by name', async () => {
    const model = openModel(f('out.onnx'));
    const x = (v: number[]) => ({ shape: [1, 4], dtype: 'int8' as const, data: Int8Array.from(v) });
    const report = await runModel(model, new Map([['toString', x(X1)], ['hasOwnProperty', x(X2)]]), { check: true });
    expect(report.check?.reference.mismatch).toBeUndefined();
    expect([...report.outputs.keys()]).toEqual(['__proto__', 'constructor']);
    expect(Array.from(report.outputs.get('__proto__')!.data)).toEqual(expected(X1));
  });

  it('a bundle output named __proto__ is in the result, not silently dropped', async () => {
    const bundle = JSON.parse(readFileSync(KIT_BUNDLE, 'utf8'));
    const plain = { ...bundle, outputs: bundle.outputs.map((o: object) => ({ ...o, name: 'out' })) };
    const named = { ...bundle, outputs: bundle.outputs.map((o: object) => ({ ...o, name: '__proto__' })) };
    writeFileSync(f('plain.bundle.json'), JSON.stringify(plain));
    writeFileSync(f('named.bundle.json'), JSON.stringify(named));
    const [a, b] = await Promise.all([vta(['replay', 'plain.bundle.json', '-o', 'plain.result.json'], dir), vta(['replay', 'named.bundle.json', '-o', 'named.result.json'], dir)]);
    ok(a!, 'replay plain');
    ok(b!, 'replay named');
    expect(b!.stdout).toMatch(/__proto__ \d+ B/);
    const result = JSON.parse(readFileSync(f('named.result.json'), 'utf8'));
    expect(Object.keys(result.outputs)).toEqual(['__proto__']);
    expect(Object.hasOwn(result.outputs, '__proto__')).toBe(true);
    expect(result.outputs.__proto__).toBe(JSON.parse(readFileSync(f('plain.result.json'), 'utf8')).outputs.out);
  });
});

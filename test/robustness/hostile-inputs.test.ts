/**
 * Inputs built to break the toolchain's own code rather than to be wrong: a .npy header made for a
 * backtracking parser, arrays long enough to overflow a spread into Math.max, values nested deeper
 * than a recursive printer's stack, a constant as a graph output, a long chain of host ops. Each
 * must end in a correct result or a one-line VtaError.
 */
import { describe, expect, it } from 'vitest';
import { compileGraph } from '../../compiler/compile.ts';
import { runCompiled } from '../../compiler/execute.ts';
import { readPackage, writePackage } from '../../compiler/package.ts';
import { defaultVtaConfig } from '../../config/config.ts';
import { buildOnnxModel } from '../../frontend/onnx-builder.ts';
import { importOnnx } from '../../frontend/onnx/import.ts';
import { validateGraph } from '../../graph/load.ts';
import { runReference } from '../../graph/reference.ts';
import { appendAll, maxOf, minOf } from '../../lib/array-loops.ts';
import { describeValue } from '../../lib/describe-value.ts';
import { isVtaError } from '../../lib/errors.ts';
import { assembleInsn } from '../../isa/asm.ts';
import { MAX_NPY_HEADER_BYTES } from '../../lib/limits.ts';
import { parseNpy } from '../../lib/npy.ts';
import { graphToDot, graphToHtml, graphToSvg } from '../../viz/graph-view.ts';
import { TINY_MODEL } from './tiny-model.ts';

/** A .npy v1.0 file with this header text (no data). */
function npyWithHeader(header: string): Uint8Array {
  const bytes = new Uint8Array(10 + header.length);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i);
  return bytes;
}

/** The VtaError `f` throws: code and one-line message. */
function refusal(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (!isVtaError(e)) throw e;
    expect(e.message).not.toContain('\n');
    return { code: e.code, message: e.message };
  }
  throw new Error('expected a refusal');
}

const TINY = TINY_MODEL;

/** `depth` arrays, one inside the other. */
const nested = (depth: number): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth));

describe('.npy headers are parsed in linear time and bounded as NumPy bounds them', () => {
  it('a 712-byte header of { and spaces with no closing brace is refused', () => {
    const file = npyWithHeader(`{${' '.repeat(700)}\n`);
    expect(file.length).toBe(712);
    expect(refusal(() => parseNpy(file, 'in.npy'))).toEqual({ code: 'E_NPY', message: expect.stringMatching(/^in\.npy: header is not a Python dict literal/) });
  });

  it('unterminated keys, strings and tuples among spaces are refused, naming the problem', () => {
    const cases: [string, RegExp][] = [
      [`{'descr': '${' '.repeat(600)}\n`, /unterminated string/],
      [`{'shape': (${' '.repeat(600)}\n`, /unterminated tuple/],
      [`{'descr${' '.repeat(600)}\n`, /unterminated a quoted key/],
      [`{'descr': '<i4' ${' '.repeat(600)}'shape': (1,)}\n`, /expected ',' or '}'/],
      [`{'descr': '|i1', 'fortran_order': False, 'shape': (6,), } trailing\n`, /text after the header dict/],
    ];
    for (const [header, why] of cases) expect(refusal(() => parseNpy(npyWithHeader(header), 'in.npy')).message).toMatch(why);
  });

  it(`a header longer than ${MAX_NPY_HEADER_BYTES} bytes is refused before it is parsed`, () => {
    const header = `{'descr': '|i1', 'fortran_order': False, 'shape': (0,), }${' '.repeat(MAX_NPY_HEADER_BYTES)}\n`;
    expect(refusal(() => parseNpy(npyWithHeader(header), 'in.npy')).message).toContain(`longer than ${MAX_NPY_HEADER_BYTES}`);
    // The same dict, padded to just under the bound, parses.
    const ok = `{'descr': '|i1', 'fortran_order': False, 'shape': (0,), }`;
    expect(parseNpy(npyWithHeader(ok + ' '.repeat(MAX_NPY_HEADER_BYTES - ok.length - 1) + '\n'), 'in.npy').shape).toEqual([0]);
  });
});

describe('arrays of any length: no spread into call arguments', () => {
  it('maxOf, minOf and appendAll handle 300,000 elements as Math.max, Math.min and push do', () => {
    const xs = Array.from({ length: 300_000 }, (_, k) => ((k * 7919) % 1_000_003) - 500_000);
    expect(maxOf(xs)).toBe(xs.reduce((a, b) => (b > a ? b : a)));
    expect(minOf(xs)).toBe(xs.reduce((a, b) => (b < a ? b : a)));
    expect([maxOf([]), minOf([]), maxOf([1, NaN]), minOf([NaN, 1])]).toEqual([-Infinity, Infinity, NaN, NaN]);
    expect(appendAll([1], xs)).toHaveLength(300_001);
  });

  it('the ONNX importer bounds a 200,000-channel layer (the bound once took Math.max(...200,000 values))', () => {
    const n = 200_000;
    const zp = { name: 'zp', type: 'int8' as const, dims: [], values: [0] };
    const bytes = buildOnnxModel({
      name: 'wide',
      inputs: [{ name: 'x', type: 'int8', shape: [1, 2] }],
      outputs: [{ name: 'y', type: 'int8', shape: [1, n] }],
      initializers: [zp, { name: 's1', type: 'float', dims: [], values: [0.5] }, { name: 's2', type: 'float', dims: [], values: [1] },
        { name: 'm', type: 'int8', dims: [2, n], values: Array.from({ length: 2 * n }, (_, k) => (k % 7) - 3) }],
      nodes: [{ op: 'QLinearMatMul', inputs: ['x', 's1', 'zp', 'm', 's1', 'zp', 's2', 'zp'], outputs: ['y'], name: 'fc' }],
    });
    const { graph } = importOnnx(bytes);
    expect(graph.outputs).toEqual(['y']);
    const x = { shape: [1, 2], dtype: 'int8' as const, data: Int8Array.from([4, -2]) };
    const y = runReference(graph, { x }).y!;
    expect(y.shape).toEqual([1, n]);
    // Channel c: round(0.25 · (4·w[0][c] − 2·w[1][c])) clipped to int8; w[r][c] = ((r·n + c) % 7) − 3.
    for (const c of [0, 1, 6, 199_999]) {
      const w0 = (c % 7) - 3;
      const w1 = ((n + c) % 7) - 3;
      expect(y.data[c]).toBe(Math.round(0.25 * (4 * w0 - 2 * w1)));
    }
  });
});

describe('deeply nested values are printed bounded', () => {
  it('describeValue cuts depth and length without recursing through all of it', () => {
    expect(describeValue(nested(5000))).toBe('[[[[[[[…]]]]]]]');
    expect(describeValue('x'.repeat(10_000)).length).toBeLessThanOrEqual(81);
    for (const v of [{ a: [1, -2.5], b: 'c', d: null, e: true }, [[]], 'x', 7]) expect(describeValue(v)).toBe(JSON.stringify(v));
    expect(describeValue(Array.from({ length: 1_000_000 }, () => 1)).length).toBeLessThanOrEqual(81);
  });

  it('a 5,000-deep attribute, name or shape in a model is one E_MODEL line', () => {
    const deep = nested(5000);
    const withAttr = { ...TINY, nodes: [TINY.nodes[0], { ...TINY.nodes[1], attrs: { dtype: deep } }] };
    const withName = { ...TINY, name: deep };
    const withShape = { ...TINY, tensors: { w: { ...TINY.tensors.w, shape: deep } } };
    for (const model of [withAttr, withName, withShape]) {
      const r = refusal(() => validateGraph(model));
      expect(r.code).toBe('E_MODEL');
      expect(r.message).toContain('[[[[[[[…]]]]]]]');
      expect(r.message.length).toBeLessThan(300);
    }
  });
});

describe('assembly field names that are Object.prototype keys', () => {
  it('are unknown fields (E_ASM), not an internal error', () => {
    for (const field of ['constructor', '__proto__', 'toString']) {
      expect(refusal(() => assembleInsn(defaultVtaConfig(), `gemm ${field}=1`, 'prog.s:1'))).toEqual({ code: 'E_ASM', message: expect.stringContaining(`unknown gemm field '${field}'`) });
    }
  });
});

describe('a constant as a graph output', () => {
  const graph = validateGraph({ ...TINY, outputs: ['y', 'w'] });

  it('is drawn as an output box with no edge into it (viz used to fail on the missing producer)', () => {
    const svg = graphToSvg(graph);
    expect(svg).toContain('data-id="out:w"');
    expect(svg).toContain('output constant int8[3×4]');
    expect(graphToHtml(graph)).toContain('out:w');
    const dot = graphToDot(graph);
    expect(dot).toContain('"out:w"');
    expect(dot).not.toMatch(/-> "out:w"/);
  });

  it('runs, compiled, and returns the constant', async () => {
    const model = readPackage(writePackage(compileGraph(graph, { config: defaultVtaConfig() })), 'const-out.vtapkg');
    const r = await runCompiled(model, { x: { shape: [1, 4], dtype: 'int8', data: Int8Array.from([1, 1, 1, 1]) } });
    expect(Array.from(r.outputs.w!.data)).toEqual(TINY.tensors.w.data);
    expect(Array.from(r.outputs.y!.data)).toEqual([10, -10, 127]);
  });
});

describe('a long chain of host ops', () => {
  it('20,000 chained float adds compile, pack, load and run to the right result', async () => {
    const n = 20_000;
    const nodes = Array.from({ length: n }, (_, k) => ({ name: `add${k}`, op: 'add', inputs: [k === 0 ? 'x' : `t${k - 1}`, 'one'], output: k === n - 1 ? 'y' : `t${k}` }));
    const graph = validateGraph({
      format: 'vta-graph/1', name: 'chain', inputs: [{ name: 'x', shape: [1, 4], dtype: 'float32' }], outputs: ['y'],
      tensors: { one: { shape: [1], dtype: 'float32', data: [1] } }, nodes,
    });
    const compiled = compileGraph(graph, { config: defaultVtaConfig() });
    expect(compiled.steps.filter((s) => s.kind === 'host')).toHaveLength(n);
    const model = readPackage(writePackage(compiled), 'chain.vtapkg');
    const r = await runCompiled(model, { x: { shape: [1, 4], dtype: 'float32', data: Float32Array.from([0, 1, -2, 0.5]) } });
    expect(Array.from(r.outputs.y!.data)).toEqual([n, n + 1, n - 2, n + 0.5]);
  }, 60_000);
});

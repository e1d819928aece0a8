import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeConst, encodeConstData, inferShapes, loadGraph } from '../../graph/load.ts';
import { VtaError } from '../../lib/errors.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** The example model written in docs/model-format.md (the first ```json block). */
function docExample(): Record<string, unknown> {
  const md = readFileSync(join(ROOT, 'docs', 'model-format.md'), 'utf8');
  const m = /```json\n([\s\S]*?)```/.exec(md);
  if (!m) throw new Error('no json block in docs/model-format.md');
  return JSON.parse(m[1]!);
}

/** A small CNN-ish model used by the error tests; each test breaks one thing. */
function base(): any {
  return {
    format: 'vta-graph/1',
    name: 'm',
    inputs: [{ name: 'x', shape: [1, 2, 5, 5], dtype: 'int8' }],
    outputs: ['y'],
    tensors: {
      w: { shape: [4, 2, 3, 3], dtype: 'int8', data: new Array(72).fill(1) },
      b: { shape: [4], dtype: 'int32', data: [1, 2, 3, 4] },
      fw: { shape: [3, 16], dtype: 'int8', data: new Array(48).fill(-1) },
    },
    nodes: [
      { name: 'conv', op: 'conv2d', inputs: ['x', 'w'], output: 'c', attrs: { pad: [1, 1, 1, 1] } },
      { name: 'bias', op: 'bias_add', inputs: ['c', 'b'], output: 'cb' },
      { name: 'rq', op: 'requantize', inputs: ['cb'], output: 'r', attrs: { shift: 3 } },
      { name: 'sat', op: 'clip', inputs: ['r'], output: 's', attrs: { min: -128, max: 127 } },
      { name: 'narrow', op: 'cast', inputs: ['s'], output: 'q', attrs: { dtype: 'int8' } },
      { name: 'pool', op: 'max_pool', inputs: ['q'], output: 'p', attrs: { kernel: [2, 2], stride: [2, 2] } },
      { name: 'flat', op: 'flatten', inputs: ['p'], output: 'f' },
      { name: 'fc', op: 'dense', inputs: ['f', 'fw'], output: 'y' },
    ],
  };
}

function modelError(raw: unknown): string {
  try {
    loadGraph(raw as object);
  } catch (e) {
    expect(e).toBeInstanceOf(VtaError);
    expect((e as VtaError).code).toBe('E_MODEL');
    expect((e as VtaError).message).not.toContain('\n');
    return (e as VtaError).message;
  }
  throw new Error('model was accepted');
}

describe('loadGraph', () => {
  it('loads the documented example and fills attribute defaults', () => {
    const g = loadGraph(docExample());
    expect(g.name).toBe('tiny-dense');
    expect(g.nodes.map((n) => n.op)).toEqual(['dense', 'bias_add', 'requantize', 'relu', 'clip', 'cast']);
    expect(Array.from(decodeConst('b', g.tensors.b!))).toEqual([100, 0, -100]);
    const m = loadGraph(base());
    expect(m.nodes[0]!.attrs).toEqual({ stride: [1, 1], pad: [1, 1, 1, 1], groups: 1 });
    expect(m.nodes[5]!.attrs).toEqual({ kernel: [2, 2], stride: [2, 2], pad: [0, 0, 0, 0] });
  });

  it('loads from a path and prefixes errors with it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vta-load-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(base()));
    expect(loadGraph(good).nodes).toHaveLength(8);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"format": ');
    expect(() => loadGraph(bad)).toThrow(/bad\.json: not valid JSON/);
    const m = base();
    m.tensors.fw.shape = [3, 15];
    m.tensors.fw.data = new Array(45).fill(1);
    writeFileSync(bad, JSON.stringify(m));
    expect(() => loadGraph(bad)).toThrow(`${bad}: node fc (dense): input 'f' has shape [1,16] but weight 'fw' [3,15] expects K=15`);
    expect(() => loadGraph(join(dir, 'missing.json'))).toThrow(/cannot read .*missing\.json: no such file/);
  });

  it('infers every tensor type', () => {
    const t = inferShapes(loadGraph(base()));
    expect(t.get('c')).toEqual({ shape: [1, 4, 5, 5], dtype: 'int32' });
    expect(t.get('q')).toEqual({ shape: [1, 4, 5, 5], dtype: 'int8' });
    expect(t.get('p')).toEqual({ shape: [1, 4, 2, 2], dtype: 'int8' });
    expect(t.get('f')).toEqual({ shape: [1, 16], dtype: 'int8' });
    expect(t.get('y')).toEqual({ shape: [1, 3], dtype: 'int32' });
  });

  it('strided, grouped conv and pools follow the floor rule', () => {
    const m = base();
    m.inputs[0].shape = [2, 4, 7, 6];
    m.tensors.w = { shape: [4, 2, 3, 2], dtype: 'int8', data: new Array(48).fill(0) };
    m.nodes[0].attrs = { stride: [2, 3], pad: [1, 0, 0, 1], groups: 2 };
    // conv: OH = (7+1+0-3)/2+1 = 3, OW = (6+0+1-2)/3+1 = 2; pool 2x2/2: [1,1]
    m.nodes[6] = { name: 'gap', op: 'global_avg_pool', inputs: ['p'], output: 'y' };
    m.nodes.pop();
    const t = inferShapes(loadGraph(m));
    expect(t.get('c')!.shape).toEqual([2, 4, 3, 2]);
    expect(t.get('p')!.shape).toEqual([2, 4, 1, 1]);
    expect(t.get('y')!.shape).toEqual([2, 4, 1, 1]);
  });

  it('reshape with -1', () => {
    const m = base();
    m.nodes[6] = { name: 'flat', op: 'reshape', inputs: ['p'], output: 'f', attrs: { shape: [-1, 16] } };
    expect(inferShapes(loadGraph(m)).get('f')!.shape).toEqual([1, 16]);
    m.nodes[6].attrs.shape = [5, -1];
    expect(modelError(m)).toBe("node flat (reshape): cannot reshape 'p' [1,4,2,2] (16 elements) to [5,-1]");
  });

  const cases: [string, (m: any) => void, string][] = [
    ['format', (m) => (m.format = 'vta-graph/2'), `model: 'format' must be "vta-graph/1", got "vta-graph/2"`],
    ['unknown field', (m) => (m.extra = 1), "model: unknown field 'extra'"],
    ['unknown op', (m) => (m.nodes[1].op = 'frobnicate'), 'node bias: unknown op "frobnicate"'],
    ['duplicate node', (m) => (m.nodes[1].name = 'conv'), 'node conv: node name is used twice'],
    ['duplicate tensor', (m) => (m.nodes[1].output = 'c'), "node bias: tensor name 'c' is already defined by node conv"],
    ['constant vs input', (m) => (m.tensors.x = { shape: [1], dtype: 'int8', data: [0] }), "constant 'x': tensor name 'x' is already defined by input 'x'"],
    ['use before def', (m) => m.nodes.push(m.nodes.shift()), "node bias (bias_add): input 'c' is not defined before this node"],
    ['undefined output', (m) => (m.outputs = ['nope']), "model: output 'nope' is not a tensor of the graph"],
    ['missing attr', (m) => delete m.nodes[2].attrs, "node rq (requantize): missing attribute 'shift'"],
    ['attr range', (m) => (m.nodes[2].attrs.shift = 32), "node rq (requantize): attribute 'shift' = 32 is out of range [0, 31]"],
    ['attr type', (m) => (m.nodes[2].attrs.shift = '3'), `node rq (requantize): attribute 'shift' must be an integer, got "3"`],
    ['unknown attr', (m) => (m.nodes[0].attrs.strides = [1, 1]), "node conv (conv2d): unknown attribute 'strides' (allowed: stride, pad, groups)"],
    ['clip order', (m) => (m.nodes[3].attrs = { min: 5, max: 4 }), "node sat (clip): attribute 'min' = 5 is greater than 'max' = 4"],
    ['clip range int8', (m) => { m.nodes[4].inputs = ['r']; m.nodes[3].inputs = ['q']; m.nodes.splice(3, 2, m.nodes[4], m.nodes[3]); m.nodes[4].attrs = { min: -200, max: 0 }; m.nodes[5].inputs = ['s']; }, "node sat (clip): bounds [-200, 0] exceed the range of int8 input 'q'"],
    ['cast dtype', (m) => (m.nodes[4].attrs.dtype = 'int16'), `node narrow (cast): attribute 'dtype' must be one of int8, uint8, int32, float32, got "int16"`],
    ['arity', (m) => m.nodes[1].inputs.push('b'), 'node bias (bias_add): takes 2 input(s), got 3'],
    ['int32 into dense', (m) => (m.nodes[7].inputs = ['c', 'fw']), "node fc (dense): input 'c' has shape [1,4,5,5] but must be 2-D (N,K)"],
    ['dtype into conv', (m) => { m.tensors.w.dtype = 'float32'; }, "node conv (conv2d): input 'x' is int8 and weight 'w' is float32: conv2d takes two integer or two float32 operands"],
    ['conv channels', (m) => { m.tensors.w = { shape: [4, 3, 3, 3], dtype: 'int8', data: new Array(108).fill(0) }; }, "node conv (conv2d): input 'x' has shape [1,2,5,5] but weight 'w' [4,3,3,3] expects 3 input channels (I=3, groups=1)"],
    ['kernel too big', (m) => (m.nodes[0].attrs = {}) && (m.inputs[0].shape = [1, 2, 2, 5]), "node conv (conv2d): kernel height 3 is larger than the padded input height 2"],
    ['bias shape', (m) => (m.tensors.b = { shape: [3], dtype: 'int32', data: [1, 2, 3] }), "node bias (bias_add): bias 'b' has shape [3] but input 'c' [1,4,5,5] needs [4]"],
    ['pool pad', (m) => (m.nodes[5].attrs.pad = [2, 0, 0, 0]), 'node pool (max_pool): pad [2,0,0,0] must be smaller than the kernel [2,2]'],
    ['add shapes', (m) => (m.nodes[7] = { name: 'sum', op: 'add', inputs: ['c', 'p'], output: 'y' }), "node sum (add): inputs 'c' [1,4,5,5] and 'p' [1,4,2,2] do not broadcast"],
    ['dynamic shape', (m) => (m.inputs[0].shape = [-1, 2, 5, 5]), "input 'x': 'shape' [-1,2,5,5] must hold positive integers (dynamic shapes are not supported)"],
    ['data length', (m) => m.tensors.b.data.pop(), "tensor 'b': 'data' has 3 values but [4] needs 4"],
    ['data range', (m) => (m.tensors.fw.data[5] = 128), "tensor 'fw': data[5] = 128 is not an int8 integer"],
    ['base64 length', (m) => (m.tensors.b.data = 'AAAAAA=='), "tensor 'b': 'data' holds 4 bytes but int32 [4] needs 16"],
    ['base64 junk', (m) => (m.tensors.b.data = 'not base64!'), "tensor 'b': 'data' is not valid base64"],
    ['flatten axis', (m) => (m.nodes[6].attrs = { axis: 5 }), "node flat (flatten): attribute 'axis' = 5 exceeds the rank 4 of 'p'"],
  ];
  it.each(cases)('rejects: %s', (_label, mutate, message) => {
    const m = base();
    mutate(m);
    expect(modelError(m)).toContain(message);
  });

  it('base64 round trip for int8 and int32', () => {
    const i32 = Int32Array.from([0, 1, -1, 2147483647, -2147483648]);
    expect(Array.from(decodeConst('t', { shape: [5], dtype: 'int32', data: encodeConstData(i32) }))).toEqual(Array.from(i32));
    const i8 = Int8Array.from([0, 127, -128, -1]);
    expect(encodeConstData(i8)).toBe(Buffer.from([0, 127, 128, 255]).toString('base64'));
    expect(Array.from(decodeConst('t', { shape: [4], dtype: 'int8', data: encodeConstData(i8) }))).toEqual([0, 127, -128, -1]);
  });
});

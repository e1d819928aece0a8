/**
 * The compiler with 4- and 2-bit configs (config/int4.json, config/int2.json): a GEMM is offloaded
 * only when value ranges prove its input, weights and output narrow, else it runs on the host with
 * the reason; constants and activations are packed at the config's widths (hand-computed bytes);
 * offloaded kernels run on fsim bit-exactly against the reference; the .vtapkg of a narrow model is
 * vtapkg/2 and reads back.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/config.ts';
import { checkAgainstReference } from '../../compiler/check.ts';
import { runCompiled } from '../../compiler/execute.ts';
import { packActivation, packWeight, unpackActivation } from '../../compiler/pack.ts';
import { readPackage, writePackage } from '../../compiler/package.ts';
import { valueRanges } from '../../compiler/value-ranges.ts';
import { inferShapes } from '../../graph/load.ts';
import { runReference } from '../../graph/reference.ts';
import type { Graph, Tensor } from '../../graph/ir.ts';
import { compile, GraphBuilder, randomTensor, rng } from './helpers.ts';

const CONFIG = join(import.meta.dirname, '..', '..', 'config');
const int4 = loadConfig(join(CONFIG, 'int4.json'));
const int2 = loadConfig(join(CONFIG, 'int2.json'));

/** x (int8) → [clip to the input range] → dense → bias → requantize → clip → cast: one GEMM kernel. */
function narrowDense(opts: { inputClip?: [number, number]; weightRange: [number, number]; outClip: [number, number]; n?: number; k?: number; m?: number }): Graph {
  const { n = 4, k = 40, m = 24 } = opts;
  const r = rng(11);
  const b = new GraphBuilder('narrow_dense', [{ name: 'x', shape: [n, k], dtype: 'int8' }]);
  const x = opts.inputClip ? b.node('clip', ['x'], { min: opts.inputClip[0], max: opts.inputClip[1] }, 'narrow_x') : 'x';
  const w = b.constant('w', randomTensor(r, [m, k], 'int8', ...opts.weightRange));
  let t = b.node('dense', [x, w], undefined, 'fc');
  t = b.node('bias_add', [t, b.constant('bias', randomTensor(r, [m], 'int32', -200, 200))], undefined, 'fc_bias');
  t = b.node('requantize', [t], { shift: 4 }, 'fc_rq');
  t = b.node('clip', [t], { min: opts.outClip[0], max: opts.outClip[1] }, 'fc_clip');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'fc_cast'));
}

async function runChecked(g: Graph, cfg = int4, seed = 5): Promise<void> {
  const model = compile(g, { config: cfg });
  const input = g.inputs[0]!;
  const x = randomTensor(rng(seed), input.shape, 'int8');
  const out = await runCompiled(model, { [input.name]: x }, { keepAll: true });
  const ref = runReference(g, { [input.name]: x });
  expect(checkAgainstReference(model, { [input.name]: x }, out.tensors).mismatch).toBeUndefined();
  for (const o of g.outputs) expect(Array.from(out.outputs[o]!.data)).toEqual(Array.from(ref[o]!.data));
}

describe('narrow configs: what runs on VTA', () => {
  it('offloads a dense layer whose input, weights and output are proven 4-bit, and runs it bit-exactly on fsim', async () => {
    const g = narrowDense({ inputClip: [-8, 7], weightRange: [-8, 7], outClip: [-8, 7] });
    const m = compile(g, { config: int4 });
    expect(m.partition).toContain('vta  fc + fc_bias + fc_rq + fc_clip + fc_cast  [gemm-epilogue: dense -> bias_add -> requantize -> clip -> cast]');
    await runChecked(g);
  });

  it('runs on the host, saying why, a kernel whose input is not proven narrow', () => {
    const m = compile(narrowDense({ weightRange: [-8, 7], outClip: [-8, 7] }), { config: int4 });
    expect(m.kernels).toHaveLength(0);
    expect(m.partition[0]).toBe(
      'host fc (dense): input x is not proven to fit int4 [-8, 7]: its values span [-128, 127] (a clip to the narrow range before it, e.g. an INT4 QuantizeLinear, proves it)',
    );
  });

  it('the same graph with 8-bit weights, or an 8-bit output, runs on the host with that reason', () => {
    const wide = compile(narrowDense({ inputClip: [-8, 7], weightRange: [-9, 7], outClip: [-8, 7] }), { config: int4 });
    expect(wide.partition.find((l) => l.startsWith('host fc '))).toMatch(/^host fc \(dense\): weight w has values in \[-9, 7\], outside int4 \[-8, 7\]$/);
    const out8 = compile(narrowDense({ inputClip: [-8, 7], weightRange: [-8, 7], outClip: [-128, 127] }), { config: int4 });
    expect(out8.partition.find((l) => l.startsWith('host fc '))).toBe(
      'host fc (dense): its output fc_cast_out spans [-128, 127], but a 4-bit STORE keeps int4 [-8, 7] (clip it to that range before the cast)',
    );
  });

  it('the 8-bit default config offloads the unproven graph as before', () => {
    const m = compile(narrowDense({ weightRange: [-128, 127], outClip: [-128, 127] }));
    expect(m.kernels).toHaveLength(1);
  });

  it('2 bits: a clip after the cast (the 2-bit import form) is fused, and the kernel runs bit-exactly', async () => {
    const r = rng(3);
    const b = new GraphBuilder('two_bit', [{ name: 'x', shape: [2, 16, 6, 6], dtype: 'int8' }]);
    const x = b.node('clip', ['x'], { min: -2, max: 1 }, 'x2');
    let t = b.node('conv2d', [x, b.constant('w', randomTensor(r, [32, 16, 3, 3], 'int8', -1, 1))], { pad: [1, 1, 1, 1] }, 'conv');
    t = b.node('requantize', [t], { shift: 2 }, 'rq');
    t = b.node('clip', [t], { min: -128, max: 127 }, 'sat');
    t = b.node('cast', [t], { dtype: 'int8' }, 'cast');
    const g = b.output(b.node('clip', [t], { min: -2, max: 1 }, 'grid'));
    const m = compile(g, { config: int2 });
    expect(m.partition).toContain('vta  conv + rq + sat + cast + grid  [gemm-epilogue: conv2d -> requantize -> clip -> cast -> clip]');
    await runChecked(g, int2, 9);
  });

  it('element-wise adds stay on the host with a narrow config', () => {
    const b = new GraphBuilder('add', [{ name: 'a', shape: [1, 16, 4, 4], dtype: 'int8' }, { name: 'c', shape: [1, 16, 4, 4], dtype: 'int8' }]);
    const a = b.node('clip', ['a'], { min: -8, max: 7 });
    const c = b.node('clip', ['c'], { min: -8, max: 7 });
    const s = b.node('add', [a, c], undefined, 'sum');
    const g = b.output(b.node('cast', [b.node('clip', [s], { min: -8, max: 7 })], { dtype: 'int8' }));
    expect(compile(g, { config: int4 }).partition).toContain('host sum (add): element-wise adds load 8-bit operands (ACC_8BIT); with 4-bit inputs they run on the host');
  });
});

describe('value ranges', () => {
  it('carry clips, relus, requantizations and bias adds through the graph', () => {
    const b = new GraphBuilder('ranges', [{ name: 'x', shape: [1, 4], dtype: 'int32' }]);
    const c = b.node('clip', ['x'], { min: -1000, max: 3000 }, 'c');
    const rl = b.node('relu', [c], undefined, 'r');
    const q = b.node('requantize', [rl], { shift: 4, multiplier: 3, rounding: 'half_even' }, 'q');
    const bias = b.node('bias_add', [q, b.constant('bias', { shape: [4], dtype: 'int32', data: Int32Array.from([-5, 0, 2, 7]) })], undefined, 'bb');
    const g = b.output(b.node('cast', [bias], { dtype: 'int8' }, 'cast'));
    const ranges = valueRanges(g, inferShapes(g));
    expect(ranges.get(c)).toEqual({ min: -1000, max: 3000 });
    expect(ranges.get(rl)).toEqual({ min: 0, max: 3000 });
    // (3000·3 + 7 + bit) >> 4 = 562 (9000/16 = 562.5, a tie to even).
    expect(ranges.get(q)).toEqual({ min: 0, max: 562 });
    expect(ranges.get(bias)).toEqual({ min: -5, max: 569 });
    // The cast wraps 569: only the int8 range is known after it.
    expect(ranges.get(g.outputs[0]!)).toEqual({ min: -128, max: 127 });
  });
});

describe('packing at 4 and 2 bits', () => {
  it('packs weights two per byte, low nibble first (hand-computed bytes)', () => {
    // A 16x16 dense weight is one BLOCK x BLOCK tile: row o, column i at element o·16 + i.
    const data = new Int8Array(256);
    data[0] = 1; // o 0, i 0 → byte 0 low nibble
    data[1] = -2; // o 0, i 1 → byte 0 high nibble: 0xE
    data[2] = 7; // byte 1 low nibble
    data[3] = -8; // byte 1 high nibble: 0x8
    data[17] = -1; // o 1, i 1 → element 17: byte 8, high nibble 0xF
    const { bytes } = packWeight([16, 16], data, int4);
    expect(bytes.length).toBe(128);
    expect(Array.from(bytes.subarray(0, 2))).toEqual([0xe1, 0x87]);
    expect(bytes[8]).toBe(0xf0);
    expect(bytes.reduce((s, v) => s + v, 0)).toBe(0xe1 + 0x87 + 0xf0);
    // 2 bits: four per byte, value k at bits 2k.
    const two = new Int8Array(256);
    [1, -1, -2, 0].forEach((v, k) => (two[k] = v));
    const packed2 = packWeight([16, 16], two, int2).bytes;
    expect(packed2.length).toBe(64);
    expect(packed2[0]).toBe(0b00_10_11_01);
  });

  it('packs an activation at the INP width and unpacks it sign-extended', () => {
    const t: Tensor = { shape: [1, 20], dtype: 'int8', data: Int8Array.from({ length: 20 }, (_, i) => (i % 16) - 8) };
    const bytes = packActivation(t, int4);
    // Two channel tiles of 16 lanes at 4 bits: 16 bytes; the padded lanes of the second tile are 0.
    expect(bytes.length).toBe(16);
    expect(bytes[0]).toBe(0x98); // −8 (0x8) low, −7 (0x9) high
    expect(bytes[8]).toBe(0x98); // channel 16, 17: −8, −7 again
    expect(bytes[10]).toBe(0x00);
    expect(Array.from(unpackActivation(bytes, [1, 20], int4).data)).toEqual(Array.from(t.data));
  });
});

describe('.vtapkg of a narrow model', () => {
  it('is vtapkg/2, reads back and runs; 8-bit packages stay vtapkg/1', async () => {
    const g = narrowDense({ inputClip: [-8, 7], weightRange: [-8, 7], outClip: [-8, 7] });
    const model = compile(g, { config: int4 });
    const bytes = writePackage(model);
    const header = Buffer.from(bytes.subarray(12, 12 + new DataView(bytes.buffer).getUint32(8, true))).toString('utf8');
    expect(JSON.parse(header).format).toBe('vtapkg/2');
    const back = readPackage(bytes);
    expect(back.constImage).toEqual(model.constImage);
    const x = randomTensor(rng(1), [4, 40], 'int8');
    const out = await runCompiled(back, { x }, {});
    expect(Array.from(out.outputs[g.outputs[0]!]!.data)).toEqual(Array.from(runReference(g, { x })[g.outputs[0]!]!.data));

    const wide = writePackage(compile(narrowDense({ weightRange: [-128, 127], outClip: [-128, 127] })));
    expect(Buffer.from(wide.subarray(12, 40)).toString('utf8')).toContain('"format":"vtapkg/1"');
    // A narrow model whose header claims vtapkg/1 is refused.
    const forged = Buffer.from(bytes);
    const at = forged.indexOf('vtapkg/2');
    forged.write('vtapkg/1', at, 'latin1');
    expect(() => readPackage(forged, 'm.vtapkg')).toThrow(/format is "vtapkg\/1" but its config \(1x16_i4w4a32_15_14_17_17\) needs "vtapkg\/2"/);
  });
});

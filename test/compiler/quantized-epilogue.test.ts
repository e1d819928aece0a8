/**
 * The epilogues real quantized models need, on VTA bit for bit with the reference: half-even
 * rounding, per-channel multipliers (with the static int32 overflow proof), zero-point constant
 * adds in any order, and the rescaled element-wise add (each operand times its int32 scale).
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig, makeConfig, type VtaConfig } from '../../config/config.ts';
import { decodeInsn, OPCODE } from '../../isa/index.ts';
import { runReference } from '../../graph/reference.ts';
import type { Graph } from '../../graph/ir.ts';
import type { CompiledModel } from '../../compiler/compile.ts';
import { compileAndCheck } from './harness.ts';
import { compile, GraphBuilder, randInt, randomTensor, rng } from './helpers.ts';

const cfg = defaultVtaConfig();
const b2x8 = loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname);
const CONFIGS: [string, VtaConfig][] = [['default', cfg], ['b2x8', b2x8]];
const int32 = (values: number[]) => ({ shape: [values.length], dtype: 'int32' as const, data: Int32Array.from(values) });

/** Every step on VTA: one partition line per kernel, none on the host. */
const allOnVta = (m: CompiledModel) => expect(m.partition.filter((l) => !l.startsWith('vta'))).toEqual([]);

/** x [n, k] → dense by 8·I → requantize >>4 half even (many exact .5 ties) → + zp → clip → cast. */
function tiesGraph(n: number, k: number, multiplier = 1): Graph {
  const b = new GraphBuilder('ties', [{ name: 'x', shape: [n, k], dtype: 'int8' }]);
  const eye = new Int8Array(k * k);
  for (let i = 0; i < k; i++) eye[i * k + i] = 8;
  const w = b.constant('w', { shape: [k, k], dtype: 'int8', data: eye });
  let t = b.node('dense', ['x', w], undefined, 'fc');
  t = b.node('requantize', [t], { shift: 4, multiplier, rounding: 'half_even' }, 'rq');
  t = b.node('add', [t, b.constant('zp', int32([3]))], undefined, 'zp');
  t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
}

/** conv 3x3 → bias → requantize with per-channel multipliers as wide as the bound allows → + zp → clip → cast. */
function perChannelGraph(r: () => number, cin: number, cout: number, hw: number, shift: number, halfEven: boolean, limit = 2 ** 31): Graph {
  const b = new GraphBuilder('pc', [{ name: 'x', shape: [1, cin, hw, hw], dtype: 'int8' }]);
  const wt = randomTensor(r, [cout, cin, 3, 3], 'int8', -6, 6);
  const bias = randomTensor(r, [cout], 'int32', -2000, 2000);
  const per = cin * 9;
  const m: number[] = [];
  for (let c = 0; c < cout; c++) {
    let s = 0;
    for (let i = c * per; i < (c + 1) * per; i++) s += Math.abs(wt.data[i]!);
    const acc = s * 128 + Math.abs(bias.data[c]!);
    const most = Math.floor((limit - 2 ** (shift - 1) - 1) / acc);
    // Log-uniform from 1 to the largest the overflow proof admits: wide ranges across channels.
    m.push(Math.max(1, Math.floor(Math.exp(r() * Math.log(most)))) * (c % 5 === 4 ? -1 : 1));
  }
  m[0] = Math.floor((2 ** 31 - 2 ** (shift - 1) - 1) / (per * 6 * 128 + 2000)); // the widest channel
  const w = b.constant('w', wt);
  let t = b.node('conv2d', ['x', w], { pad: [1, 1, 1, 1] }, 'conv');
  t = b.node('bias_add', [t, b.constant('b', bias)], undefined, 'bias');
  t = b.node('requantize', [t, b.constant('m', int32(m))], { shift, ...(halfEven ? { rounding: 'half_even' } : {}) }, 'rq');
  t = b.node('add', [t, b.constant('zp', int32([-5]))], undefined, 'zp');
  t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
}

/** mul(a, ca) + mul(b, cb) + zpTerm → requantize half even → + zpOut → clip → cast: a residual add with rescaled inputs. */
function rescaledAdd(shape: number[], ca: number, cb: number, shift: number, caShape = [1]): Graph {
  const b = new GraphBuilder('radd', [{ name: 'a', shape, dtype: 'int8' }, { name: 'b', shape, dtype: 'int8' }]);
  const fill = (v: number) => ({ shape: caShape, dtype: 'int32' as const, data: new Int32Array(caShape.reduce((p, q) => p * q, 1)).fill(v) });
  const ma = b.node('mul', ['a', b.constant('ca', fill(ca))], undefined, 'mul_a');
  const mb = b.node('mul', [b.constant('cb', int32([cb])), 'b'], undefined, 'mul_b');
  let t = b.node('add', [ma, mb], undefined, 'sum');
  t = b.node('add', [t, b.constant('zin', int32([12345]))], undefined, 'zin');
  t = b.node('requantize', [t], { shift, rounding: 'half_even' }, 'rq');
  t = b.node('add', [b.constant('zout', int32([-7])), t], undefined, 'zout');
  t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
}

/** ALU instructions of a compiled model. */
function aluOps(m: CompiledModel, c: VtaConfig): number {
  let n = 0;
  for (let i = 0; i < m.insnCount; i++) {
    const insn = decodeInsn(c, m.code.subarray(i * 16, i * 16 + 16));
    if (insn.opcode === OPCODE.ALU) n++;
  }
  return n;
}

describe('half-even rounding on the ALU', () => {
  it('ties: 8·x >> 4 rounds odd halves to even, bit-exact on VTA', async () => {
    for (const [, c] of CONFIGS) {
      for (const multiplier of [1, 3, 7]) {
        const g = tiesGraph(4, 32, multiplier);
        const r = await compileAndCheck(g, c, 5);
        expect(r.races).toEqual([]);
        allOnVta(r.model);
      }
    }
    // The reference is round-half-even of the exact quotient: ±0.5 → 0, ±1.5 → ±2, 2.5 → 2.
    const g = tiesGraph(1, 8);
    const x = { shape: [1, 8], dtype: 'int8' as const, data: Int8Array.from([1, -1, 3, -3, 5, -5, 7, 2]) };
    expect(Array.from(runReference(g, { x })[g.outputs[0]!]!.data)).toEqual([0, 0, 2, -2, 2, -2, 4, 1].map((v) => v + 3));
  });

  it('costs 6 ALU ops per element (and one per kernel clearing the scratch) where half up costs 2 (shift ≤ 16, multiplier 1)', () => {
    const half = (rounding?: 'half_even') => {
      const b = new GraphBuilder('cost', [{ name: 'x', shape: [16, 16], dtype: 'int8' }]);
      let t = b.node('dense', ['x', b.constant('w', randomTensor(rng(1), [16, 16], 'int8'))], undefined, 'fc');
      t = b.node('requantize', [t], { shift: 8, ...(rounding ? { rounding } : {}) }, 'rq');
      return aluOps(compile(b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast')), { config: cfg }), cfg);
    };
    // Half even: ADD 2^(n−1), the tie bit (MAX, MUL, SHR 31, ADD), SHR; before the tie bit by MUL it was 8.
    expect([half(), half('half_even')]).toEqual([2, 6 + 1]);
  });
});

describe('per-channel multipliers', () => {
  for (const [name, c] of CONFIGS) {
    for (const halfEven of [true, false]) {
      it(`${name}, ${halfEven ? 'half even' : 'half up'}: multipliers from 1 to the overflow limit, bit-exact`, async () => {
        const r = rng(halfEven ? 21 : 22);
        const g = perChannelGraph(r, 16, 24, 6, 22, halfEven);
        const res = await compileAndCheck(g, c, 3);
        const out = Array.from(Object.values(res.outputs)[0]!.data);
        // Not all saturated: the multipliers spread the channels over the int8 range.
        expect(out.filter((v) => v > -128 && v < 127).length).toBeGreaterThan(out.length / 3);
        expect(res.races).toEqual([]);
        allOnVta(res.model);
      });
    }
  }

  it('a layer whose bound may overflow int32 runs its requantize on the host, saying why', async () => {
    const b = new GraphBuilder('ovf', [{ name: 'x', shape: [2, 64], dtype: 'int8' }]);
    let t = b.node('dense', ['x', b.constant('w', { shape: [8, 64], dtype: 'int8', data: new Int8Array(512).fill(127) })], undefined, 'fc');
    t = b.node('requantize', [t, b.constant('m', int32([1, 2, 3, 4, 5, 6, 7, 40000]))], { shift: 24, rounding: 'half_even' }, 'rq');
    t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
    const g = b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
    const res = await compileAndCheck(g, cfg, 2);
    expect(res.model.partition[0]).toMatch(/^vta {2}fc .*int32 as 4 byte planes/);
    expect(res.model.partition[1]).toBe(
      'host rq (requantize): int32 overflow not ruled out: |acc| ≤ 1040384 on channel 7, times multiplier 40000, plus 2^23 reaches 41623748608 ≥ 2^31',
    );
  });
});

describe('zero-point constant adds in any order', () => {
  it('add before requantize (wide and two-immediate constants), bias_add after it, add last: bit-exact', async () => {
    for (const [, c] of CONFIGS) {
      const r = rng(8);
      const b = new GraphBuilder('zp', [{ name: 'x', shape: [1, 16, 5, 5], dtype: 'int8' }]);
      let t = b.node('conv2d', ['x', b.constant('w', randomTensor(r, [16, 16, 3, 3], 'int8'))], { pad: [1, 1, 1, 1] }, 'conv');
      t = b.node('add', [t, b.constant('big', int32([100000]))], undefined, 'big');
      t = b.node('add', [b.constant('neg', int32([-40000])), t], undefined, 'neg');
      t = b.node('requantize', [t], { shift: 10, multiplier: 3, rounding: 'half_even' }, 'rq');
      t = b.node('bias_add', [t, b.constant('zb', int32(new Array(16).fill(-9)))], undefined, 'zb');
      t = b.node('add', [t, b.constant('zo', int32([4]))], undefined, 'zo');
      t = b.node('relu', [t], undefined, 'relu');
      const g = b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
      const res = await compileAndCheck(g, c, 4);
      expect(res.races).toEqual([]);
      expect(res.model.partition).toEqual(['vta  conv + big + neg + rq + zb + zo + relu + cast  [gemm-epilogue: conv2d -> add -> add -> requantize -> bias_add -> add -> relu -> cast]']);
    }
  });

  it('an add of a non-uniform constant is refused with the reason', () => {
    const b = new GraphBuilder('nu', [{ name: 'x', shape: [2, 16], dtype: 'int8' }]);
    let t = b.node('dense', ['x', b.constant('w', randomTensor(rng(2), [16, 16], 'int8'))], undefined, 'fc');
    t = b.node('add', [t, b.constant('v', int32([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]))], undefined, 'v');
    const g = b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
    expect(compile(g, { config: cfg }).partition[1]).toBe('host v (add): operand v is not a uniform int32 constant');
  });
});

describe('rescaled element-wise add', () => {
  for (const [name, c] of CONFIGS) {
    for (const shape of [[4, 40], [2, 20, 3, 5]]) {
      it(`${name}, rank ${shape.length}: narrow and wide scales, bit-exact in one kernel`, async () => {
        for (const [ca, cb, shift] of [[21000, -13000, 15], [100000, 3, 17], [1, -70001, 16]] as const) {
          const g = rescaledAdd(shape, ca, cb, shift);
          const res = await compileAndCheck(g, c, randInt(rng(ca), 1, 99));
          expect(res.races).toEqual([]);
          expect(res.model.partition).toEqual([
            'vta  mul_a + mul_b + sum + zin + rq + zout + clip + cast  [eltwise-add: mul -> mul -> add -> add -> requantize -> add -> clip -> cast]',
          ]);
        }
      });
    }
  }

  it('a scale that varies along an axis runs on the host, saying why', async () => {
    const g = rescaledAdd([4, 2], 3, 5, 4, [2]);
    g.tensors.ca!.data = [3, 4];
    const res = await compileAndCheck(g, cfg, 1);
    expect(res.model.partition).toContain('host sum (add): operand mul_a_out (mul_a) is not an int8 tensor times a uniform int32 constant');
  });
});

describe('random exact epilogues and rescaled adds (default, b2x8, tiny buffers)', () => {
  const tiny = makeConfig({ LOG_INP_WIDTH: 3, LOG_WGT_WIDTH: 3, LOG_ACC_WIDTH: 5, LOG_BATCH: 0, LOG_BLOCK: 3, LOG_UOP_BUFF_SIZE: 11, LOG_INP_BUFF_SIZE: 10, LOG_WGT_BUFF_SIZE: 12, LOG_ACC_BUFF_SIZE: 12 });
  const wide = (r: () => number) => (r() < 0.3 ? randInt(r, -3000000, 3000000) : randInt(r, -300, 300));

  /** conv2d with random shape, then bias / zero points / requantize (per-channel or not, either rounding) in random order. */
  function randomConv(r: () => number): Graph {
    const [c, o, h, k] = [randInt(r, 1, 40), randInt(r, 1, 40), randInt(r, 3, 9), randInt(r, 1, 3)];
    const b = new GraphBuilder('rc', [{ name: 'x', shape: [randInt(r, 1, 2), c, h, h], dtype: 'int8' }]);
    const p = randInt(r, 0, k - 1);
    let t = b.node('conv2d', ['x', b.constant('w', randomTensor(r, [o, c, k, k], 'int8', -20, 20))], { stride: [randInt(r, 1, 2), randInt(r, 1, 2)], pad: [p, p, p, p] }, 'conv');
    const shift = randInt(r, 0, 20);
    const steps = [
      () => b.node('bias_add', [t, b.constant('b', randomTensor(r, [o], 'int32', -3000, 3000))], undefined, 'bias'),
      () => b.node('add', [t, b.constant('zin', int32([wide(r)]))], undefined, 'zin'),
      () => {
        const perChannel = r() < 0.6;
        const attrs = { shift, ...(r() < 0.7 ? { rounding: 'half_even' } : {}), ...(perChannel ? {} : { multiplier: randInt(r, 1, 300) }) };
        const m = perChannel ? [t, b.constant('m', int32(Array.from({ length: o }, () => randInt(r, -400, 400))))] : [t];
        return b.node('requantize', m, attrs, 'rq');
      },
    ];
    for (let i = steps.length - 1; i > 0; i--) {
      const j = randInt(r, 0, i);
      [steps[i], steps[j]] = [steps[j]!, steps[i]!];
    }
    for (const step of steps) t = step();
    t = b.node('add', [t, b.constant('zout', int32([randInt(r, -20, 20)]))], undefined, 'zout');
    t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
    return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
  }

  for (const [name, c] of [...CONFIGS, ['tiny 1x8x8', tiny] as [string, VtaConfig]]) {
    it(`${name}: 6 random convolutions and 6 random rescaled adds, bit-exact and race-free`, async () => {
      const r = rng(name.length * 101);
      for (let i = 0; i < 6; i++) {
        const res = await compileAndCheck(randomConv(r), c, i);
        allOnVta(res.model);
        expect(res.races).toEqual([]);
        const rank4 = r() < 0.5;
        const shape = rank4 ? [randInt(r, 1, 2), randInt(r, 1, 30), randInt(r, 1, 7), randInt(r, 1, 7)] : [randInt(r, 1, 9), randInt(r, 1, 70)];
        const add = await compileAndCheck(rescaledAdd(shape, wide(r) || 1, wide(r) || 1, randInt(r, 8, 22)), c, i);
        expect(add.races).toEqual([]);
        expect(add.model.partition).toHaveLength(1);
      }
    });
  }
});

describe('bounds the epilogue values already satisfy', () => {
  /** dense (weights in ±wmax) → relu → requantize >>8 → clip [−128, 127] → cast: TVM's conv epilogue. */
  const reluClip = (wmax: number, rounding?: 'half_even') => {
    const b = new GraphBuilder('relu-clip', [{ name: 'x', shape: [16, 64], dtype: 'int8' }]);
    const w = randomTensor(rng(7), [16, 64], 'int8', -wmax, wmax);
    let t = b.node('dense', ['x', b.constant('w', w)], undefined, 'fc');
    t = b.node('relu', [t], undefined, 'relu');
    t = b.node('requantize', [t], { shift: 8, ...(rounding ? { rounding } : {}) }, 'rq');
    t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
    return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
  };

  it('relu then a requantize that cannot overflow: the clip needs no MAX −128 (one ALU op fewer), bit-exact', async () => {
    for (const rounding of [undefined, 'half_even'] as const) {
      const res = await compileAndCheck(reluClip(127, rounding), cfg, 4);
      expect(res.races).toEqual([]);
      allOnVta(res.model);
      const ops = aluOps(res.model, cfg);
      // relu MAX 0, the requantize (2, or 6 and the kernel's scratch clear), MIN 127: no MAX −128.
      expect(ops).toBe(1 + (rounding ? 6 + 1 : 2) + 1);
    }
  });

  it('keeps the MAX −128 when the relu is missing', () => {
    const b = new GraphBuilder('no-relu', [{ name: 'x', shape: [16, 64], dtype: 'int8' }]);
    let t = b.node('dense', ['x', b.constant('w', randomTensor(rng(7), [16, 64], 'int8'))], undefined, 'fc');
    t = b.node('requantize', [t], { shift: 8 }, 'rq');
    t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
    expect(aluOps(compile(b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast')), { config: cfg }), cfg)).toBe(2 + 2);
  });
});

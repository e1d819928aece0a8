/**
 * Half-even requantization on the ALU for fewer passes, bit for bit with the IR
 * (docs/compiler.md "Exact requantization"):
 * - the tie bit by MUL (epilogue.ts AluOn.requantizeExact): MAX c, MUL, SHR 31, ADD, where copying
 *   the product and negating its bit took six passes;
 * - ties settled statically (fold-epilogue.ts resolveTies): an element-wise add's sums tried for
 *   every int8 pair, a GEMM's product bounded away from every tie: then no tie bit at all;
 * - a zero point after the shift merged into the constant before it (mergeShiftedConstants).
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, type VtaConfig } from '../../config/config.ts';
import { tieBitMultiplier } from '../../compiler/epilogue.ts';
import { resolveTies } from '../../compiler/fold-epilogue.ts';
import type { EpilogueOp } from '../../compiler/fuse.ts';
import type { CompiledModel } from '../../compiler/compile.ts';
import { runCompiled } from '../../compiler/execute.ts';
import { runReference } from '../../graph/reference.ts';
import { roundingShift } from '../../graph/semantics/rounding.ts';
import type { Graph, Tensor } from '../../graph/ir.ts';
import { ALU_OP, decodeInsn, OPCODE } from '../../isa/index.ts';
import { RaceChecker } from '../../sim/race-checker.ts';
import { compile, GraphBuilder, randomTensor, rng } from './helpers.ts';

const cfg = defaultVtaConfig();
const int32 = (values: number[]) => ({ shape: [values.length], dtype: 'int32' as const, data: Int32Array.from(values) });
const node = { name: 'n', op: 'requantize', inputs: [], output: 'o' } as never;

/** ALU instructions of a compiled model. */
function aluOps(m: CompiledModel, c: VtaConfig): number {
  let n = 0;
  for (let i = 0; i < m.insnCount; i++) if (decodeInsn(c, m.code.subarray(i * 16, i * 16 + 16)).opcode === OPCODE.ALU) n++;
  return n;
}

/** ALU MULs of one ACC tile by another: the tie bit's (operand scales and multipliers are immediates here). */
function tensorMuls(m: CompiledModel, c: VtaConfig): number {
  let n = 0;
  for (let i = 0; i < m.insnCount; i++) {
    const insn = decodeInsn(c, m.code.subarray(i * 16, i * 16 + 16)) as unknown as Record<string, number>;
    if (insn.opcode === OPCODE.ALU && insn.alu_opcode === ALU_OP.MUL && !insn.use_imm) n++;
  }
  return n;
}

/** Run on fsim with the race checker and compare every output with the reference executor. */
async function bitExact(g: Graph, inputs: Record<string, Tensor>): Promise<CompiledModel> {
  const model = compile(g, { config: cfg });
  expect(model.partition.filter((l) => !l.startsWith('vta'))).toEqual([]);
  const checkers: RaceChecker[] = [];
  const out = await runCompiled(model, inputs, { observe: (_k, base) => (checkers.push(new RaceChecker(cfg, { insnBase: base })), checkers.at(-1)!) });
  const want = runReference(model.graph, inputs);
  for (const o of g.outputs) {
    const a = Array.from(out.outputs[o]!.data);
    const b = Array.from(want[o]!.data);
    const first = a.findIndex((v, i) => v !== b[i]);
    expect(first, `first difference at ${first}: got ${a[first]}, want ${b[first]}`).toBe(-1);
  }
  expect(checkers.flatMap((c) => c.report())).toEqual([]);
  return model;
}

/** The ALU sequence of a half-even shift by n on one int32 lane, emulated: ADD 2^(n−1); S = MAX(S, c) · w; SHR 31; ADD; SHR n. */
function tieBitSequence(p: number, n: number, scratch: number): number {
  const w = (p + 2 ** (n - 1)) | 0;
  const s = Math.imul(Math.max(scratch, tieBitMultiplier(n)), w) >> 31;
  return ((w + s) | 0) >> n;
}

describe('the tie bit by MUL', () => {
  it('equals the IR’s half-even shift mod 2^32 on ties of both parities, extremes and wrapping sums', () => {
    const r = rng(5);
    for (let n = 1; n <= 31; n++) {
      const half = 2 ** (n - 1);
      const values = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), half, -half, 3 * half, -3 * half, 2 ** 31 - half, -(2 ** 31) + half, 2 ** 31 - half - 1];
      for (let i = 0; i < 200; i++) values.push((Math.floor(r() * 2 ** 32) | 0), ((Math.floor(r() * 2 ** 20) * 2 ** n + half) | 0));
      for (const p of values) {
        // Whatever the scratch held before, as long as it is not above the multiplier (0, or the last tie bits).
        for (const scratch of [0, -1, -(2 ** 31)]) expect(tieBitSequence(p | 0, n, scratch), `p ${p} >> ${n}`).toBe(roundingShift(p | 0, n, true));
      }
    }
  });
});

/** a·sa + b·sb + zin → requantize >> shift half even → + zout → clip → cast, for every int8 pair (a, b). */
function everyPairAdd(sa: number, sb: number, zin: number, shift: number, zout: number): { graph: Graph; inputs: Record<string, Tensor> } {
  const shape = [1, 16, 64, 64];
  const b = new GraphBuilder('pairs', [{ name: 'a', shape, dtype: 'int8' }, { name: 'b', shape, dtype: 'int8' }]);
  const ma = b.node('mul', ['a', b.constant('sa', int32([sa]))], undefined, 'mul_a');
  const mb = b.node('mul', ['b', b.constant('sb', int32([sb]))], undefined, 'mul_b');
  let t = b.node('add', [ma, mb], undefined, 'sum');
  t = b.node('add', [t, b.constant('zin', int32([zin]))], undefined, 'zin');
  t = b.node('requantize', [t], { shift, rounding: 'half_even' }, 'rq');
  t = b.node('add', [t, b.constant('zout', int32([zout]))], undefined, 'zout');
  t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
  const graph = b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
  const a = new Int8Array(65536);
  const bb = new Int8Array(65536);
  for (let i = 0; i < 65536; i++) {
    a[i] = (i >> 8) - 128;
    bb[i] = (i & 255) - 128;
  }
  return { graph, inputs: { a: { shape, dtype: 'int8', data: a }, b: { shape, dtype: 'int8', data: bb } } };
}

describe('ties settled statically', () => {
  const add = (): EpilogueOp[] => [
    { kind: 'addConst', node, value: 0 },
    { kind: 'addConst', node, value: 0 },
    { kind: 'requantize', node, shift: 1, multiplier: 1, halfEven: true },
  ];
  const cx = (scales: number[], bound = Infinity) => ({ boundBefore: [Infinity, bound, bound], biasLanes: () => [], outWidth: 8, sumScales: scales });

  it('an add whose sums are all even has no tie at a shift by 1; one with odd sums keeps its tie bit', () => {
    expect(resolveTies(add(), cx([2, 2]))[2]).toMatchObject({ ties: 'none' });
    expect(resolveTies(add(), cx([1, 1]))[2]).not.toHaveProperty('ties');
  });

  // ResNet-18's layer1.1 and layer4.1 adds: their few ties all round down, or all up.
  for (const [sa, sb, zin, shift, ties] of [[32291, 29606, 3240621, 15, 'down'], [26399, 30604, 3917312, 15, 'up'], [18310, 15329, 1888872, 14, undefined]] as const) {
    it(`rescaled add ${sa}·a + ${sb}·b + ${zin} >> ${shift}: ties ${ties ?? 'both ways (tie bit kept)'}, every int8 pair bit-exact`, async () => {
      const { graph, inputs } = everyPairAdd(sa, sb, zin, shift, -128);
      const model = await bitExact(graph, inputs);
      if (ties === undefined) expect(tensorMuls(model, cfg)).toBeGreaterThan(0);
      else expect(tensorMuls(model, cfg)).toBe(0);
    });
  }

  it('a per-channel product bounded below 2^(n−1−t) meets no tie: no tie bit, no scratch', async () => {
    const conv = (m: number[]) => {
      const r = rng(9);
      const b = new GraphBuilder('pc', [{ name: 'x', shape: [1, 16, 4, 4], dtype: 'int8' }]);
      let t = b.node('conv2d', ['x', b.constant('w', randomTensor(r, [16, 16, 3, 3], 'int8', -6, 6))], { pad: [1, 1, 1, 1] }, 'conv');
      t = b.node('requantize', [t, b.constant('m', int32(m))], { shift: 20, rounding: 'half_even' }, 'rq');
      t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
      return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
    };
    const odd = Array.from({ length: 16 }, (_, c) => 1001 + 2 * c * 97);
    // |acc| ≤ 16·9·6·128 < 2^17: odd multipliers (t = 0) need |acc| ≥ 2^19 for a tie; 2^12·odd only 2^7.
    const even = odd.map((m, c) => (c === 3 ? 4096 * 3 : m));
    const x = randomTensor(rng(3), [1, 16, 4, 4], 'int8');
    const settled = await bitExact(conv(odd), { x });
    const kept = await bitExact(conv(even), { x });
    const saved = aluOps(kept, cfg) - aluOps(settled, cfg);
    // Four passes per tile (MAX, MUL, SHR 31, ADD) and the kernel's scratch clear.
    expect(saved).toBeGreaterThanOrEqual(5);
    expect((saved - 1) % 4).toBe(0);
  });
});

describe('a zero point after the shift', () => {
  /** x → dense by 8·I → >> 4 half even (a tie for every odd x) → + zp → clip → cast. */
  const ties = (zp: number) => {
    const b = new GraphBuilder('zp', [{ name: 'x', shape: [16, 16], dtype: 'int8' }]);
    const eye = new Int8Array(256);
    for (let i = 0; i < 16; i++) eye[i * 16 + i] = 8;
    let t = b.node('dense', ['x', b.constant('w', { shape: [16, 16], dtype: 'int8', data: eye })], undefined, 'fc');
    t = b.node('requantize', [t], { shift: 4, rounding: 'half_even' }, 'rq');
    t = b.node('add', [t, b.constant('zp', int32([zp]))], undefined, 'zp');
    t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
    return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
  };
  const x = { shape: [16, 16], dtype: 'int8' as const, data: Int8Array.from({ length: 256 }, (_, i) => (i % 256) - 128) };

  it('joins the constant before it when even (the tie’s parity is kept), bit-exact on every int8 input', async () => {
    const even = await bitExact(ties(4), { x });
    const odd = await bitExact(ties(3), { x });
    // An odd zero point would flip bit n of the sum, the tie's parity: it stays a separate ADD.
    expect(aluOps(odd, cfg) - aluOps(even, cfg)).toBe(1);
  });
});

/**
 * conv 3x3 + bias → clip ±C → >> 3 half even → ·m[c] >> 20 half even → + zp → clip [−128, 127] →
 * cast: the ONNX importer's QDQ requantization (ResNet-18's), with saturating biases on some
 * channels so that both clips bite.
 */
function qdqConv(m: number[], zp: number, saturate: number, size = 6): Graph {
  const r = rng(41);
  const cout = m.length;
  const b = new GraphBuilder('qdq', [{ name: 'x', shape: [1, 16, size, size], dtype: 'int8' }]);
  let t = b.node('conv2d', ['x', b.constant('w', randomTensor(r, [cout, 16, 3, 3], 'int8'))], { pad: [1, 1, 1, 1] }, 'conv');
  const bias = randomTensor(r, [cout], 'int32', -40000, 40000);
  bias.data[0] = 600000; // saturates high
  bias.data[1] = -600000; // saturates low
  t = b.node('bias_add', [t, b.constant('bias', bias)], undefined, 'bias');
  t = b.node('clip', [t], { min: -saturate, max: saturate }, 'saturate');
  t = b.node('requantize', [t], { shift: 3, rounding: 'half_even' }, 'preshift');
  t = b.node('requantize', [t, b.constant('m', int32(m))], { shift: 20, rounding: 'half_even' }, 'rq');
  t = b.node('bias_add', [t, b.constant('zp', int32(new Array<number>(cout).fill(zp)))], undefined, 'zp');
  t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
}

/** ALU instructions with an immediate of this op and value (an output clip's MIN 127, say). */
function aluImm(m: CompiledModel, c: VtaConfig, aluOp: number, imm: number): number {
  let n = 0;
  for (let i = 0; i < m.insnCount; i++) {
    const insn = decodeInsn(c, m.code.subarray(i * 16, i * 16 + 16)) as unknown as Record<string, number>;
    if (insn.opcode === OPCODE.ALU && insn.alu_opcode === aluOp && insn.use_imm && insn.imm === imm) n++;
  }
  return n;
}

describe('the QDQ requantization with one clip, on y', () => {
  const inputs = [randomTensor(rng(1), [1, 16, 6, 6], 'int8'), randomTensor(rng(2), [1, 16, 6, 6], 'int8'),
    { shape: [1, 16, 6, 6], dtype: 'int8' as const, data: new Int8Array(576).fill(127) }, { shape: [1, 16, 6, 6], dtype: 'int8' as const, data: new Int8Array(576).fill(-128) }];
  const odd = Array.from({ length: 32 }, (_, c) => 5001 + 2 * 311 * c);

  it('odd multipliers, even zero point: no output clip, no second tie bit, bit-exact at both saturations', async () => {
    for (const x of inputs) {
      const model = await bitExact(qdqConv(odd, -128, 392177), { x });
      expect(aluImm(model, cfg, ALU_OP.MIN, 127)).toBe(0);
      // Per output tile: the first shift's tie-bit MUL and the multiplier vector's, no second tie bit.
      expect(tensorMuls(model, cfg)).toBe(2 * aluImm(model, cfg, ALU_OP.SHR, 3));
    }
  });

  it('a multiplier 2^12·odd (ties both ways): the tie bit on its channel tile only, bit-exact', async () => {
    const m = odd.map((v, c) => (c === 20 ? 4096 * 5 : v));
    for (const x of inputs) {
      const model = await bitExact(qdqConv(m, 4, 392177), { x });
      expect(aluImm(model, cfg, ALU_OP.MIN, 127)).toBe(0);
      // A second tie-bit MUL, on the output tiles holding channel 20 only (the other channel tile's need none).
      const tiles = aluImm(model, cfg, ALU_OP.SHR, 3);
      expect(tensorMuls(model, cfg)).toBeGreaterThan(2 * tiles);
      expect(tensorMuls(model, cfg)).toBeLessThanOrEqual(3 * tiles);
    }
  });

  it('the bias initialises the accumulator by one MAX once its tiles hold final values: fewer GEMM resets than tiles, bit-exact', async () => {
    const x = randomTensor(rng(4), [1, 16, 40, 40], 'int8');
    const model = await bitExact(qdqConv(odd, -128, 392177, 40), { x });
    let resets = 0;
    for (let i = 0; i < model.insnCount; i++) {
      const insn = decodeInsn(cfg, model.code.subarray(i * 16, i * 16 + 16)) as unknown as Record<string, number>;
      if (insn.opcode === OPCODE.GEMM && insn.reset_reg) resets++;
    }
    const tiles = aluImm(model, cfg, ALU_OP.SHR, 3);
    expect(tiles).toBeGreaterThan(2);
    expect(resets).toBeLessThan(tiles);
  });

  it('ties both ways and an odd zero point: zp − 1 in the rounding vector (the tie’s parity kept), ADD 1 after the shift, bit-exact', async () => {
    const m = odd.map((v, c) => (c === 20 ? 4096 * 5 : v));
    for (const x of inputs) {
      const model = await bitExact(qdqConv(m, 3, 392177), { x });
      expect(aluImm(model, cfg, ALU_OP.MIN, 127)).toBe(0);
      expect(aluImm(model, cfg, ALU_OP.ADD, 1)).toBe(aluImm(model, cfg, ALU_OP.SHR, 3));
    }
  });
});

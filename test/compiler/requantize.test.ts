/**
 * requantize with a multiplier on VTA's ALU (ADD pre, MUL m, ADD post, SHR s): random ratios and
 * accumulator ranges. VTA must equal the reference bit for bit (wraparound included), and where the
 * frontend's fixed-point choice applies, the reference must stay within the stated bound of the
 * exact float requantization round_half_even(acc · r).
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { roundingSplit } from '../../lib/rounding.ts';
import { runReference } from '../../graph/reference.ts';
import { chooseFixedPoint } from '../../frontend/fixed-point.ts';
import { compileAndCheck } from './harness.ts';
import { compile, GraphBuilder, randomTensor, rng } from './helpers.ts';

const cfg = defaultVtaConfig();
const randInt = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const roundHalfEven = (v: number) => {
  const f = Math.floor(v);
  return v - f > 0.5 || (v - f === 0.5 && f % 2 !== 0) ? f + 1 : f;
};

/** x → dense (weights within ±wMax) → bias → requantize {m, s} → clip → cast int8. */
function graph(r: () => number, k: number, m: number, wMax: number, rq: { shift: number; multiplier: number }, int32Out = false) {
  const b = new GraphBuilder('rq', [{ name: 'x', shape: [3, k], dtype: 'int8' }]);
  const w = b.constant('w', randomTensor(r, [m, k], 'int8', -wMax, wMax));
  const bias = b.constant('b', randomTensor(r, [m], 'int32', -5000, 5000));
  let t = b.node('dense', ['x', w], undefined, 'fc');
  t = b.node('bias_add', [t, bias], undefined, 'bias');
  t = b.node('requantize', [t], rq, 'rq');
  if (int32Out) return b.output(t);
  t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
}

describe('requantize with a multiplier', () => {
  it('the rounding split is exact: pre·m + post = 2^(s−1), 0 ≤ post < m', () => {
    const r = rng(7);
    for (let i = 0; i < 500; i++) {
      const m = randInt(r, 1, 32767);
      const s = randInt(r, 1, 31);
      const { pre, post } = roundingSplit(s, m);
      expect(pre * m + post).toBe(2 ** (s - 1));
      expect(post >= 0 && post < m).toBe(true);
    }
  });

  it('fuses into the ALU epilogue as ADD, MUL, ADD, SHR', () => {
    const g = graph(rng(1), 32, 16, 20, { shift: 20, multiplier: 20843 });
    const m = compile(g, { config: cfg });
    expect(m.partition).toEqual(['vta  fc + bias + rq + clip + cast  [gemm-epilogue: dense -> bias_add -> requantize -> clip -> cast]']);
  });

  it('random (m, s), overflow included: VTA = reference bit for bit', async () => {
    const r = rng(11);
    for (let i = 0; i < 12; i++) {
      const rq = { shift: randInt(r, 0, 31), multiplier: randInt(r, 2, 32767) };
      const g = graph(r, randInt(r, 1, 80), randInt(r, 1, 40), 127, rq, i % 3 === 0);
      const res = await compileAndCheck(g, cfg, i);
      expect(res.races).toEqual([]);
      // Wrapping products are exercised too: the reference defines them and VTA must agree.
      expect(res.model.kernels).toHaveLength(1);
    }
  });

  it('random ratios and accumulator ranges: the chosen m/2^s is bit-exact on VTA and within the stated bound', async () => {
    const r = rng(23);
    let worst = 0;
    for (let i = 0; i < 16; i++) {
      const k = randInt(r, 1, 300);
      const wMax = randInt(r, 1, 127);
      const ratio = 10 ** (-1 - 4 * r()); // 1e-5 .. 1e-1
      const rows = 24;
      const g = graph(r, k, rows, wMax, { shift: 1, multiplier: 1 });
      const w = g.tensors.w!.data as number[];
      const bias = g.tensors.b!.data as number[];
      let acc = 0;
      for (let o = 0; o < rows; o++) {
        let s = Math.abs(bias[o]!);
        for (let j = 0; j < k; j++) s += 128 * Math.abs(w[o * k + j]!);
        acc = Math.max(acc, s);
      }
      const fp = chooseFixedPoint(ratio, acc);
      if (typeof fp === 'string') throw new Error(fp);
      expect(acc * fp.multiplier + 2 ** (fp.shift - 1)).toBeLessThan(2 ** 31);
      g.nodes.find((n) => n.name === 'rq')!.attrs = { shift: fp.shift, multiplier: fp.multiplier };
      const res = await compileAndCheck(g, cfg, i);
      expect(res.model.kernels).toHaveLength(1);
      // Against the exact requantization, on many random inputs (the reference = VTA, checked above).
      const inputs = { x: randomTensor(r, [3, k], 'int8') };
      const all = runReference(g, inputs);
      const accs = all[g.nodes.find((n) => n.name === 'bias')!.output]!.data;
      const got = all[g.nodes.find((n) => n.name === 'rq')!.output]!.data;
      for (let e = 0; e < accs.length; e++) {
        const exact = roundHalfEven(accs[e]! * ratio);
        const d = Math.abs(got[e]! - exact);
        worst = Math.max(worst, d);
        expect(d).toBeLessThanOrEqual(fp.outputBound);
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
  });
});

/**
 * Folded epilogues (compiler/fold-epilogue.ts): a half-up requantize's rounding term joins the bias
 * (one ALU ADD fewer per tile), and the bias initialises the accumulator with one MAX over the
 * final values an earlier tile left there (no GEMM reset, no bias ADD). Bit-exact with the
 * reference and race-free on fsim; test/hw/fold-epilogue-tsim.test.ts runs the same on the RTL.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig, type VtaConfig } from '../../config/config.ts';
import { foldRounding, initByMax } from '../../compiler/fold-epilogue.ts';
import type { EpilogueOp } from '../../compiler/fuse.ts';
import type { CompiledModel } from '../../compiler/compile.ts';
import { ALU_OP, decodeInsn, OPCODE } from '../../isa/index.ts';
import { compileAndCheck } from './harness.ts';
import { foldConvGraph as convGraph } from './helpers.ts';

const cfg = defaultVtaConfig();
const b2x8 = loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname);
const node = { name: 'n', op: 'relu', inputs: [], output: 'o' } as never;

/** bias, [relu], >> shift (half up), clip, as fuse.ts builds them. */
function chain(relu: boolean, noOverflow: boolean, shift = 8): EpilogueOp[] {
  return [
    { kind: 'bias', node, bias: 'b' },
    ...(relu ? [{ kind: 'max' as const, node, value: 0 }] : []),
    { kind: 'requantize', node, shift, multiplier: 1, ...(noOverflow ? { noOverflow } : {}) },
    { kind: 'max', node, value: -128 },
    { kind: 'min', node, value: 127 },
  ];
}

describe('foldRounding', () => {
  it('adds 2^(n−1) to the bias and to the bounds it crosses, and drops the requantize’s ADD', () => {
    const out = foldRounding(chain(true, true));
    expect(out[0]).toMatchObject({ kind: 'bias', offset: 128 });
    expect(out[1]).toMatchObject({ kind: 'max', value: 128 });
    expect(out[2]).toMatchObject({ kind: 'requantize', roundingFolded: true });
    expect(out.slice(3)).toEqual(chain(true, true).slice(3));
  });

  it('crosses a relu only when the accumulator bound rules out overflow', () => {
    expect(foldRounding(chain(true, false))).toEqual(chain(true, false));
    // Next to the bias, ADD is a ring operation: no bound needed.
    expect(foldRounding(chain(false, false))[0]).toMatchObject({ offset: 128 });
  });

  it('leaves per-channel requantizations alone', () => {
    const ep = chain(false, true).map((e) => (e.kind === 'requantize' ? { ...e, perChannel: 'm' } : e));
    expect(foldRounding(ep)).toEqual(ep);
  });

  it('folds a half-even shift’s 2^(n−1) too: its tie bit is taken from the sum after it', () => {
    const ep = chain(false, true).map((e) => (e.kind === 'requantize' ? { ...e, halfEven: true } : e));
    const out = foldRounding(ep);
    expect(out[0]).toMatchObject({ kind: 'bias', offset: 128 });
    expect(out[1]).toMatchObject({ kind: 'requantize', halfEven: true, roundingFolded: true });
  });
});

describe('initByMax', () => {
  const lanes = (values: number[]) => () => values;
  const cx = (bias: number[], bound = 1e6) => ({ boundBefore: [bound, bound, bound, bound, bound], biasLanes: lanes(bias), outWidth: 8 });

  it('raises the values before the shift by K·2^n and the bounds after it by K (K a multiple of 256)', () => {
    const out = initByMax(foldRounding(chain(true, true)), cx([-100, 5000]))!;
    expect(out[0]).toMatchObject({ kind: 'bias', offset: 128 + 256 * 256, initMax: true });
    expect(out[1]).toMatchObject({ kind: 'max', value: 128 + 256 * 256 });
    expect(out[3]).toMatchObject({ kind: 'max', value: -128 + 256 });
    expect(out[4]).toMatchObject({ kind: 'min', value: 127 + 256 });
  });

  it('takes a larger K when a bias lane would sit below the final values', () => {
    const out = initByMax(foldRounding(chain(false, true)), cx([-200_000, 0]))!;
    const offset = (out[0] as { offset: number }).offset - 128;
    const K = offset / 256;
    expect(K % 256).toBe(0);
    expect(K).toBeGreaterThan(256);
    expect(-200_000 + 128 + offset).toBeGreaterThanOrEqual(127 + K);
  });

  it('refuses when the raised values could leave int32, or without a folded plain shift', () => {
    expect(initByMax(foldRounding(chain(false, true)), cx([0], 2 ** 31 - 1000))).toBeUndefined();
    expect(initByMax(chain(false, true), cx([0]))).toBeUndefined();
    expect(initByMax(foldRounding(chain(false, true, 0)), cx([0]))).toBeUndefined();
  });
});

/** ALU MAX instructions with a tensor operand (the accumulator init), GEMM resets, and ADDs of an immediate 128. */
function initOps(m: CompiledModel, c: VtaConfig): { maxInits: number; resets: number; roundingAdds: number } {
  let maxInits = 0;
  let resets = 0;
  let roundingAdds = 0;
  for (let i = 0; i < m.insnCount; i++) {
    const insn = decodeInsn(c, m.code.subarray(i * 16, i * 16 + 16)) as unknown as Record<string, number>;
    if (insn.opcode === OPCODE.ALU && insn.alu_opcode === ALU_OP.MAX && !insn.use_imm) maxInits++;
    if (insn.opcode === OPCODE.GEMM && insn.reset_reg) resets++;
    if (insn.opcode === OPCODE.ALU && insn.alu_opcode === ALU_OP.ADD && insn.use_imm && insn.imm === 128) roundingAdds++;
  }
  return { maxInits, resets, roundingAdds };
}

describe('folded epilogues end to end (fsim, race checker on)', () => {
  for (const [name, c] of [['default', cfg], ['b2x8', b2x8]] as const) {
    for (const relu of [true, false]) {
      for (const bias of [[-(1 << 14), 1 << 14], [-3_000_000, -2_000_000]] as [number, number][]) {
        it(`${name}, ${relu ? 'relu' : 'no relu'}, bias in [${bias}]: bit-exact, MAX inits after the first tiles, no rounding ADD`, async () => {
          const r = await compileAndCheck(convGraph(relu, bias), c, 3);
          expect(r.races).toEqual([]);
          const ops = initOps(r.model, c);
          expect(ops.roundingAdds).toBe(0);
          expect(ops.maxInits).toBeGreaterThan(0);
          // Only the first tile of each accumulator slot starts with a reset.
          expect(ops.resets).toBeLessThanOrEqual(2 * 2);
        });
      }
    }
  }
});

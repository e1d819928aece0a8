/**
 * A rescaled element-wise add whose scales fit a weight runs on the GEMM (lower/eltwise-add.ts
 * gemmScales): both operands as INP tiles, one GEMM over scale·identity weights, the accumulator
 * initialised by a MAX with the folded rounding constant once a slot holds final values. Bit-exact
 * with the reference and race-free on fsim (test/hw/fold-epilogue-tsim.test.ts: on tsim).
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig, type VtaConfig } from '../../config/config.ts';
import type { CompiledModel } from '../../compiler/compile.ts';
import { ALU_OP, decodeInsn, MEM_TYPE, OPCODE } from '../../isa/index.ts';
import { compileAndCheck } from './harness.ts';
import { scaledAddGraph } from './helpers.ts';

const cfg = defaultVtaConfig();
const b2x8 = loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname);

function counts(m: CompiledModel, c: VtaConfig): { gemms: number; acc8Loads: number; muls: number; maxInits: number } {
  const n = { gemms: 0, acc8Loads: 0, muls: 0, maxInits: 0 };
  for (let i = 0; i < m.insnCount; i++) {
    const insn = decodeInsn(c, m.code.subarray(i * 16, i * 16 + 16)) as unknown as Record<string, number>;
    if (insn.opcode === OPCODE.GEMM && !insn.reset_reg) n.gemms++;
    if (insn.opcode === OPCODE.LOAD && insn.memory_type === MEM_TYPE.ACC_8BIT) n.acc8Loads++;
    if (insn.opcode === OPCODE.ALU && insn.alu_opcode === ALU_OP.MUL) n.muls++;
    if (insn.opcode === OPCODE.ALU && insn.alu_opcode === ALU_OP.MAX && !insn.use_imm) n.maxInits++;
  }
  return n;
}

describe('rescaled add on the GEMM', () => {
  for (const [name, c] of [['default', cfg], ['b2x8', b2x8]] as const) {
    for (const [sa, sb, shift, relu] of [[2, 1, 1, true], [4, 1, 2, false], [-3, 127, 7, true], [-128, 5, 3, false]] as const) {
      it(`${name}: (${sa}·a + ${sb}·b) >> ${shift}${relu ? ', relu' : ''}: bit-exact, race-free, no ACC_8BIT load or MUL`, async () => {
        const r = await compileAndCheck(scaledAddGraph(sa, sb, shift, relu), c, 9);
        expect(r.races).toEqual([]);
        const n = counts(r.model, c);
        expect(n.acc8Loads).toBe(0);
        expect(n.muls).toBe(0);
        expect(n.gemms).toBeGreaterThan(0);
        expect(n.maxInits).toBeGreaterThan(0);
      });
    }
  }

  it('a scale wider than a weight keeps the ACC_8BIT form', async () => {
    const r = await compileAndCheck(scaledAddGraph(300, 1, 9, false), cfg, 9);
    expect(r.races).toEqual([]);
    const n = counts(r.model, cfg);
    expect(n.acc8Loads).toBeGreaterThan(0);
    expect(n.gemms).toBe(0);
  });
});

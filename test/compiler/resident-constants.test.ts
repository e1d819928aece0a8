/**
 * Epilogue constants wider than the ALU's immediates (a saturating clip's bounds, a half-even
 * rounding term of 2^19 − 1, a wide zero point) are resident accumulator tiles, loaded once per
 * kernel and applied with a source factor of 0: one ALU pass each, bit-exact with the reference.
 * The epilogue is the ONNX importer's per-channel QDQ requantization (ResNet-18's): bias, saturate,
 * preshift, per-channel multiplier, zero point, clip.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig, type VtaConfig } from '../../config/config.ts';
import { residentConstants } from '../../compiler/epilogue.ts';
import { ALU_OP, decodeInsn, MEM_TYPE, OPCODE } from '../../isa/index.ts';
import type { CompiledModel } from '../../compiler/compile.ts';
import type { Graph } from '../../graph/ir.ts';
import { compileAndCheck } from './harness.ts';
import { GraphBuilder, randomTensor, rng } from './helpers.ts';

const cfg = defaultVtaConfig();
const b2x8 = loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname);
const int32 = (values: number[]) => ({ shape: [values.length], dtype: 'int32' as const, data: Int32Array.from(values) });
const SATURATE = 392177;

/** conv 3x3 16->32 + bias → clip ±392177 → >>3 half even → ·m_c >>20 half even → + zp → clip → cast (+ a wide zero point). */
function qdqConv(wideZeroPoint: boolean): Graph {
  const r = rng(wideZeroPoint ? 31 : 32);
  const b = new GraphBuilder('qdq-conv', [{ name: 'x', shape: [1, 16, 6, 7], dtype: 'int8' }]);
  let t = b.node('conv2d', ['x', b.constant('w', randomTensor(r, [32, 16, 3, 3], 'int8'))], { pad: [1, 1, 1, 1] }, 'conv');
  t = b.node('bias_add', [t, b.constant('bias', randomTensor(r, [32], 'int32', -20000, 20000))], undefined, 'bias');
  t = b.node('clip', [t], { min: -SATURATE, max: SATURATE }, 'saturate');
  if (wideZeroPoint) t = b.node('add', [t, b.constant('wide', int32([70001]))], undefined, 'wide');
  t = b.node('requantize', [t], { shift: 3, rounding: 'half_even' }, 'preshift');
  const m = Array.from({ length: 32 }, (_, i) => 1000 + i * 1000);
  t = b.node('requantize', [t, b.constant('m', int32(m))], { shift: 20, rounding: 'half_even' }, 'rq');
  t = b.node('bias_add', [t, b.constant('zp', randomTensor(r, [32], 'int32', -10, 10))], undefined, 'zp');
  t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
}

/** ACC loads of one tile from a uniform buffer, and the SHR −16 a constant built in scratch needs. */
function constantTraffic(m: CompiledModel, c: VtaConfig): { uniformLoads: number; builtInScratch: number } {
  const uniform = Object.entries(m.buffers).filter(([name]) => name.startsWith('const:uniform:')).map(([, b]) => b.offset / (c.batch * c.blockOut * 4));
  let uniformLoads = 0;
  let builtInScratch = 0;
  for (let i = 0; i < m.insnCount; i++) {
    const insn = decodeInsn(c, m.code.subarray(i * 16, i * 16 + 16)) as unknown as Record<string, number>;
    if (insn.opcode === OPCODE.LOAD && insn.memory_type === MEM_TYPE.ACC && uniform.includes(insn.dram_base!)) uniformLoads++;
    if (insn.opcode === OPCODE.ALU && insn.alu_opcode === ALU_OP.SHR && insn.use_imm && insn.imm === -16) builtInScratch++;
  }
  return { uniformLoads, builtInScratch };
}

describe('resident epilogue constants', () => {
  it('lists each wide value once: clip bounds, the 2^19 − 1 rounding term, a wide zero point', () => {
    expect(residentConstants([{ kind: 'max', value: -SATURATE }, { kind: 'min', value: SATURATE }, { kind: 'max', value: 0 }] as never)).toEqual([-SATURATE, SATURATE]);
  });

  for (const [name, c] of [['default', cfg], ['b2x8', b2x8]] as const) {
    for (const wide of [false, true]) {
      it(`${name}${wide ? ', wide zero point' : ''}: bit-exact, race-free, each constant loaded once and never built in scratch`, async () => {
        const r = await compileAndCheck(qdqConv(wide), c, 4);
        expect(r.races).toEqual([]);
        expect(r.model.partition.filter((l) => !l.startsWith('vta'))).toEqual([]);
        // ±392177 (plus the folded 2^2), 2^19 (+ the zero point · 2^20 when it merges), the tie
        // multipliers of the two shifts (epilogue.ts tieBitMultiplier), and the wide zero point.
        expect(constantTraffic(r.model, c)).toEqual({ uniformLoads: wide ? 6 : 5, builtInScratch: 0 });
      });
    }
  }
});

/** --check: bit-exact comparison with the reference, naming layer, element, values and writer. */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { checkAgainstReference, describeMismatch } from '../../compiler/check.ts';
import { DEFAULT_PASSES, insertPass, type Pass } from '../../compiler/compile.ts';
import type { Emitted } from '../../compiler/passes/emit.ts';
import { runCompiled } from '../../compiler/execute.ts';
import { ALU_OP, OPCODE } from '../../isa/index.ts';
import { RaceChecker } from '../../sim/race-checker.ts';
import { compile, GraphBuilder, convGraph, randomTensor, rng } from './helpers.ts';

const cfg = defaultVtaConfig();

describe('check against the reference', () => {
  it('passes for a correct model and counts the tensors compared', async () => {
    const b = new GraphBuilder('two', [{ name: 'x', shape: [1, 16, 4, 4], dtype: 'int8' }]);
    let t = b.node('conv2d', ['x', b.constant('w', randomTensor(rng(1), [16, 16, 1, 1], 'int8'))], {}, 'c1');
    t = b.node('requantize', [t], { shift: 7 });
    t = b.node('cast', [t], { dtype: 'int8' });
    t = b.node('max_pool', [t], { kernel: [2, 2] }, 'pool');
    const g = b.output(t);
    const model = compile(g, { config: cfg });
    const inputs = { x: randomTensor(rng(2), [1, 16, 4, 4], 'int8') };
    const rc = new RaceChecker(cfg);
    const out = await runCompiled(model, inputs, { keepAll: true, observe: () => rc });
    expect(rc.report()).toEqual([]);
    expect(checkAgainstReference(model, inputs, out.tensors)).toEqual({ compared: 2 });
  });

  it('names the layer, the first differing element, both values and the STORE that wrote it', async () => {
    const g = convGraph(rng(3), { n: 1, c: 16, h: 6, w: 6, o: 32, k: 3, stride: 1, pad: 1 }, { shift: 8, clip: [-128, 127] });
    // Sabotage: shift by 7 instead of 8 in the emitted program.
    const sabotage: Pass<Emitted, Emitted> = {
      name: 'sabotage',
      run(s) {
        for (const k of s.kernels) {
          for (const i of k.emitted.insns) if (i.opcode === OPCODE.ALU && i.alu_opcode === ALU_OP.SHR) i.imm = 7;
        }
        return s;
      },
    };
    const model = compile(g, { config: cfg, passes: insertPass(DEFAULT_PASSES, 'link', sabotage) });
    const inputs = { x: randomTensor(rng(4), [1, 16, 6, 6], 'int8') };
    const out = await runCompiled(model, inputs, { keepAll: true });
    const r = checkAgainstReference(model, inputs, out.tensors);
    expect(r.mismatch).toBeDefined();
    const m = r.mismatch!;
    expect(m.layer).toBe('k0_conv (conv + requantize0 + clip1 + cast2)');
    expect(m.got).not.toBe(m.want);
    expect(m.writer?.text).toMatch(/^store\.out /);
    expect(describeMismatch(m)).toMatch(
      /^layer k0_conv \(conv \+ requantize0 \+ clip1 \+ cast2\): cast2_out\[0,\d+,\d+,\d+\] \(flat \d+\) is -?\d+ on VTA, -?\d+ in the reference; written by insn #\d+ \(store\.out .*\)$/,
    );
  });
});

/** The pass list: names and order, typed states that passes do not modify, the IR check and --dump-after. */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../../config/config.ts';
import { DEFAULT_PASSES, compileGraph, createSource, insertPass, passNames, replacePass, runPasses, type Pass } from '../../../compiler/compile.ts';
import type { Placed } from '../../../compiler/passes/place-buffers.ts';
import type { Synced } from '../../../compiler/passes/sync.ts';
import type { Tensorized } from '../../../compiler/passes/tensorize.ts';
import type { Linked } from '../../../compiler/passes/link.ts';
import { VtaError } from '../../../lib/errors.ts';
import { addGraph, convGraph, denseGraph, groupedConvGraph, rng } from '../helpers.ts';

const cfg = defaultVtaConfig();
const g = convGraph(rng(1), { n: 1, c: 16, h: 6, w: 6, o: 32, k: 3, stride: 1, pad: 1 }, { bias: true, shift: 8, relu: true });

function thrown(f: () => unknown): VtaError {
  try {
    f();
  } catch (e) {
    return e as VtaError;
  }
  throw new Error('did not throw');
}

describe('DEFAULT_PASSES', () => {
  it('are the lowering stages in order', () => {
    expect(passNames()).toEqual([
      'shapes', 'partition', 'offload-check', 'name-kernels', 'build-problems', 'pack-constants',
      'place-buffers', 'choose-tilings', 'tensorize', 'sync', 'emit', 'link',
    ]);
  });

  it('each pass returns a new state and leaves its input as it was', () => {
    let state: unknown = createSource(g, { config: cfg });
    for (const pass of DEFAULT_PASSES) {
      const before = JSON.stringify(Object.keys(state as object));
      const kernelsBefore = (state as { kernels?: object[] }).kernels?.map((k) => Object.keys(k).join());
      const next = pass.run(state);
      expect(next === state && pass.name !== 'offload-check', pass.name).toBe(false);
      expect(JSON.stringify(Object.keys(state as object)), pass.name).toBe(before);
      expect((state as { kernels?: object[] }).kernels?.map((k) => Object.keys(k).join()), pass.name).toEqual(kernelsBefore);
      state = next;
    }
    expect((state as Linked).model.kernels.map((k) => k.name)).toEqual(['k0_conv']);
  });

  it('the result of every pass passes its IR check, on a dense, a conv, a grouped conv and an add', () => {
    const graphs = [g, denseGraph(rng(2), 8, 40, 24, { bias: true, shift: 6 }), groupedConvGraph(rng(3), 2), addGraph()];
    for (const graph of graphs) {
      let state: unknown = createSource(graph, { config: cfg });
      for (const pass of DEFAULT_PASSES) {
        state = pass.run(state);
        expect(pass.verify?.(state), pass.name).toBeUndefined();
      }
    }
  });

  it('insertPass and replacePass name the pass they could not find', () => {
    const p: Pass = { name: 'x', run: (s) => s };
    expect(insertPass(DEFAULT_PASSES, 'link', p).map((q) => q.name).slice(-2)).toEqual(['x', 'link']);
    expect(replacePass(DEFAULT_PASSES, 'sync', p).map((q) => q.name)[9]).toBe('x');
    expect(replacePass(DEFAULT_PASSES, 'sync', p)[9]!.verify).toBe(DEFAULT_PASSES[9]!.verify);
    expect(() => insertPass(DEFAULT_PASSES, 'nope', p)).toThrow(/no pass named nope \(passes: shapes, partition/);
  });
});

describe('verify: the IR check between passes', () => {
  it('names the pass after which two buffers overlap', () => {
    const overlap: Pass<Placed, Placed> = {
      name: 'squeeze',
      run(s) {
        const plan = s.plan.clone();
        const [first, second] = [...plan.buffers.values()].filter((b) => b.segment === 'const');
        second!.offset = first!.offset;
        return { ...s, plan };
      },
    };
    const e = thrown(() => compileGraph(g, { config: cfg, verify: true, passes: insertPass(DEFAULT_PASSES, 'choose-tilings', overlap) }));
    expect(e.code).toBe('E_INTERNAL');
    expect(e.message).toMatch(/^IR check after pass squeeze: internal compiler error: buffers const:\S+ and const:\S+ overlap in the const segment$/);
  });

  it('finds unbalanced tokens after the sync pass', () => {
    const dropPops: Pass<Tensorized, Synced> = {
      name: 'sync',
      run: (s) => {
        const synced = DEFAULT_PASSES.find((p) => p.name === 'sync')!.run(s) as Synced;
        return { ...synced, kernels: synced.kernels.map((k) => ({ ...k, flags: k.flags.map((f) => ({ ...f, pop_prev: 0, pop_next: 0 })) })) };
      },
    };
    const e = thrown(() => compileGraph(g, { config: cfg, verify: true, passes: replacePass(DEFAULT_PASSES, 'sync', dropPops) }));
    expect(e.message).toMatch(/^IR check after pass sync: internal compiler error: kernel k0_conv: .*tokens left at FINISH/);
  });

  it('finds an op outside its SRAM buffer after tensorize', () => {
    const outOfRange: Pass<Tensorized, Tensorized> = {
      name: 'shift-loads',
      run: (s) => ({ ...s, kernels: s.kernels.map((k) => ({ ...k, ops: k.ops.map((op) => (op.kind === 'load' ? { ...op, sram: op.sram + s.cfg.inpDepth } : op)) })) }),
    };
    const e = thrown(() => compileGraph(g, { config: cfg, verify: true, passes: insertPass(DEFAULT_PASSES, 'sync', outOfRange) }));
    expect(e.message).toMatch(/^IR check after pass shift-loads: internal compiler error: kernel k0_conv op 0 \(load\): acc\[\d+, \d+\) lies outside/);
  });

  it('is off unless asked for', () => {
    const overlap: Pass<Placed, Placed> = { name: 'nothing', run: (s) => s, verify: () => 'always wrong' };
    expect(() => compileGraph(g, { config: cfg, passes: insertPass(DEFAULT_PASSES, 'link', overlap) })).not.toThrow();
    expect(() => compileGraph(g, { config: cfg, verify: true, passes: insertPass(DEFAULT_PASSES, 'link', overlap) })).toThrow(/after pass nothing: .*always wrong/);
  });
});

describe('dumpAfter', () => {
  const dump = (pass: string) => {
    let text = '';
    runPasses(createSource(g, { config: cfg, dumpAfter: { pass, write: (t) => (text = t) } }), DEFAULT_PASSES);
    return text;
  };

  it('prints a readable text of every pass result', () => {
    expect(dump('shapes')).toMatch(/^x: int8\[1,16,6,6\]$/m);
    expect(dump('partition')).toMatch(/^vta +conv \+ bias_add0 .*\[gemm-epilogue: conv2d -> /);
    expect(dump('name-kernels')).toBe('k0_conv: conv [conv + bias_add0 + requantize1 + relu2 + cast3] reads x, writes cast3_out');
    expect(dump('build-problems')).toMatch(/^k0_conv: NB1 CT1 6x6 -> OT2 6x6, kernel 3x3 stride 1,1 pad 1,1,1,1, 1 bias$/);
    expect(dump('pack-constants')).toMatch(/^k0_conv: const:conv_b:bias, act:cast3_out, const:w, act:x$/m);
    expect(dump('place-buffers')).toMatch(/^const +0 \+\d+  const:conv_b:bias$/m);
    expect(dump('choose-tilings')).toMatch(/^k0_conv: oc\d+ ic1 h\d+ w\d+ x[12]/);
    expect(dump('tensorize')).toMatch(/^ +\d+  load\.inp sram \d+ <- act:x\+\d+ y \d+ x \d+ stride 6 pad /m);
    expect(dump('sync')).toMatch(/ push_next$/m);
    expect(dump('emit')).toMatch(/^ +\d+  gemm /m);
    expect(dump('link')).toMatch(/^k0_conv: insns 0\+\d+, \d+ uops/m);
  });

  it('refuses an unknown pass name, listing the valid ones', () => {
    const e = thrown(() => compileGraph(g, { config: cfg, dumpAfter: { pass: 'lower', write: () => {} } }));
    expect(e.code).toBe('E_USAGE');
    expect(e.message).toBe(`unknown pass 'lower' (the passes are ${passNames().join(', ')})`);
  });
});

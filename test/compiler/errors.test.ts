/** Every user-caused compiler error: a stable code and one line naming the node, op and why. */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { errorTable } from '../../compiler/errors.ts';
import { loadFusionRules } from '../../compiler/fuse.ts';
import { runCompiled } from '../../compiler/execute.ts';
import type { Graph } from '../../graph/ir.ts';
import { compileAndCheck } from './harness.ts';
import { compile, GraphBuilder, convGraph, randomTensor, rng } from './helpers.ts';

const cfg = defaultVtaConfig();
/** The default rules without store_int32: int32 results the host needs leave their chain on the host. */
const int8OnlyRules = loadFusionRules();
for (const r of int8OnlyRules.rules) delete r.store_int32;

function codeAndMessage(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    const err = e as { code: string; message: string };
    expect(err.message).not.toContain('\n');
    return { code: err.code, message: err.message };
  }
  throw new Error('expected an error');
}

function convWith(attrs: object, wShape = [16, 8, 3, 3]): Graph {
  const b = new GraphBuilder('bad', [{ name: 'x', shape: [1, 16, 8, 8], dtype: 'int8' }]);
  let t = b.node('conv2d', ['x', b.constant('w', randomTensor(rng(1), wShape, 'int8'))], attrs, 'c');
  t = b.node('requantize', [t], { shift: 8 }, 'rq');
  t = b.node('cast', [t], { dtype: 'int8' }, 'cast');
  return b.output(t);
}

describe('compiler errors', () => {
  it('has a message for every code', () => {
    expect(errorTable().map(([c]) => c)).toEqual([
      'E_UNKNOWN_OP', 'E_UNTILEABLE', 'E_MODEL', 'E_NOT_OFFLOADED', 'E_RULES', 'E_PACKAGE', 'E_INPUT', 'E_MISMATCH', 'E_INTERNAL',
    ]);
    for (const [, m] of errorTable()) expect(m).toMatch(/^[a-z]/);
  });

  it('unknown op: E_MODEL naming the node and the op', () => {
    const b = new GraphBuilder('m', [{ name: 'x', shape: [1, 16], dtype: 'int8' }]);
    const g = b.output(b.node('frobnicate' as never, ['x'], undefined, 'sm'));
    const e = codeAndMessage(() => compile(g, { config: cfg }));
    expect(e.code).toBe('E_MODEL');
    expect(e.message).toMatch(/^node sm: unknown op "frobnicate"/);
  });

  it('malformed model: an input defined nowhere', () => {
    const b = new GraphBuilder('m', [{ name: 'x', shape: [2, 16], dtype: 'int8' }]);
    const g = b.output(b.node('dense', ['x', 'nowhere'], undefined, 'fc'));
    const e = codeAndMessage(() => compile(g, { config: cfg }));
    expect(e.code).toBe('E_MODEL');
    expect(e.message).toMatch(/^node fc \(dense\): input 'nowhere' is not defined/);
  });

  it('grouped conv2d runs on VTA (it used to fall back to the host) and computes right', async () => {
    const g = convWith({ groups: 2 });
    const r = await compileAndCheck(g, cfg);
    expect(r.model.kernels).toHaveLength(1);
    expect(r.model.partition[0]).toBe('vta  c + rq + cast  [gemm-epilogue: conv2d -> requantize -> cast]');
    expect(r.races).toEqual([]);
  });

  it('a grouped conv2d band that cannot be tiled: E_UNTILEABLE naming the node and the limit', () => {
    // A 33x33 kernel needs 1089 weight tiles per output tile: more than the 1024-tile WGT buffer.
    const b = new GraphBuilder('bad', [{ name: 'x', shape: [1, 32, 33, 33], dtype: 'int8' }]);
    let t = b.node('conv2d', ['x', b.constant('w', randomTensor(rng(1), [32, 16, 33, 33], 'int8'))], { groups: 2 }, 'c');
    t = b.node('cast', [b.node('requantize', [t], { shift: 8 }, 'rq')], { dtype: 'int8' }, 'cast');
    const e = codeAndMessage(() => compile(b.output(t), { config: cfg }));
    expect(e).toEqual({
      code: 'E_UNTILEABLE',
      message: 'node c (conv2d): cannot be tiled for this VTA config: group band of 1 input x 1 output channel tiles: weights 1x1x33x33 tiles exceed the 1024-tile WGT slot',
    });
  });

  it('padding wider than the DMA pad field or the kernel', () => {
    const g = convWith({ pad: [3, 3, 3, 3] }, [16, 16, 3, 3]);
    const e = codeAndMessage(() => compile(g, { config: cfg, offload: 'all' }));
    expect(e.message).toBe('node c (conv2d): cannot run on VTA: padding [3,3,3,3] is not smaller than the 3x3 kernel');
  });

  it('an epilogue VTA cannot do (shift > 16) leaves the chain on the host, with the reason', () => {
    const b = new GraphBuilder('m', [{ name: 'x', shape: [2, 16], dtype: 'int8' }]);
    let t = b.node('dense', ['x', b.constant('w', randomTensor(rng(2), [16, 16], 'int8'))], undefined, 'fc');
    t = b.node('requantize', [t], { shift: 20 }, 'rq');
    const g = b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
    // The default rules keep the dense on VTA and hand its int32 result to the host requantize.
    expect(compile(g, { config: cfg }).partition).toEqual([
      'vta  fc  [gemm-epilogue: dense -> int32 as 4 byte planes]',
      'host rq (requantize): shift 20 > 16: the rounding term 2^(shift-1) needs more than two 16-bit ALU immediates',
      'host cast (cast): cast is not part of any fused VTA kernel',
    ]);
    const m = compile(g, { config: cfg, rules: int8OnlyRules });
    expect(m.partition).toEqual([
      'host fc (dense): epilogue rq (requantize): shift 20 > 16: the rounding term 2^(shift-1) needs more than two 16-bit ALU immediates',
      'host rq (requantize): shift 20 > 16: the rounding term 2^(shift-1) needs more than two 16-bit ALU immediates',
      'host cast (cast): cast is not part of any fused VTA kernel',
    ]);
    const e = codeAndMessage(() => compile(g, { config: cfg, offload: 'all', rules: int8OnlyRules }));
    expect(e.code).toBe('E_NOT_OFFLOADED');
    expect(e.message).toMatch(/^node fc \(dense\): cannot run on VTA: epilogue rq \(requantize\): shift 20 > 16/);
  });

  it('an int32 result used directly is stored as byte planes, or left on the host by rules without store_int32', () => {
    const b = new GraphBuilder('m', [{ name: 'x', shape: [2, 16], dtype: 'int8' }]);
    const g = b.output(b.node('dense', ['x', b.constant('w', randomTensor(rng(2), [16, 16], 'int8'))], undefined, 'fc'));
    expect(compile(g, { config: cfg }).partition).toEqual(['vta  fc  [gemm-epilogue: dense -> int32 as 4 byte planes]']);
    expect(compile(g, { config: cfg, rules: int8OnlyRules }).partition).toEqual([
      'host fc (dense): its int32 result fc_out is used directly; VTA stores int8 only (end the chain with cast int8)',
    ]);
  });

  it('untileable shape: E_UNTILEABLE naming the node and the limit', () => {
    const g = convGraph(rng(3), { n: 1, c: 16, h: 40, w: 40, o: 16, k: 33, stride: 1, pad: 0 }, { shift: 8 });
    const e = codeAndMessage(() => compile(g, { config: cfg }));
    expect(e).toEqual({
      code: 'E_UNTILEABLE',
      message: 'node conv (conv2d): cannot be tiled for this VTA config: weights 1x1x33x33 tiles exceed the 1024-tile WGT slot',
    });
  });

  it('bad fusion rules: E_RULES naming the rule', () => {
    const g = convWith({}, [16, 16, 3, 3]);
    const rules = { format: 'vta-fusion-rules/1', rules: [{ name: 'mine', anchor: ['softmax'], epilogue: [], end: 'cast' }] };
    const e = codeAndMessage(() => compile(g, { config: cfg, rules: rules as never }));
    expect(e).toEqual({ code: 'E_RULES', message: 'fusion rules: bad fusion rules: rule mine: anchor must be a list drawn from dense, conv2d, add' });
  });

  it('a run with a wrongly shaped input: E_INPUT', async () => {
    const m = compile(convWith({}, [16, 16, 3, 3]), { config: cfg });
    await expect(runCompiled(m, { x: randomTensor(rng(1), [1, 16, 4, 4], 'int8') })).rejects.toThrow(
      'bad input: input x is int8[1,16,4,4], the model expects int8[1,16,8,8]',
    );
  });
});

describe('host fallbacks keep odd graphs working', () => {
  it('an add of rank-3 tensors runs on the host', async () => {
    const b = new GraphBuilder('r3', [
      { name: 'x', shape: [2, 3, 20], dtype: 'int8' },
      { name: 'y', shape: [2, 3, 20], dtype: 'int8' },
    ]);
    const g = b.output(b.node('cast', [b.node('add', ['x', 'y'], undefined, 'a')], { dtype: 'int8' }, 'c'));
    const r = await compileAndCheck(g, cfg);
    expect(r.model.partition[0]).toBe('host a (add): rank-3 operands have no packed layout (VTA kernels take rank 2 or 4)');
  });
});

/**
 * Golden instruction streams: the disassembly (with uops) of a few small kernels. A change to
 * tiling, tensorization, token insertion or emission shows up here as a readable diff.
 * Update deliberately with `npx vitest run test/compiler/snapshots -u`.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig, type VtaConfig } from '../../config/config.ts';
import { type CompiledModel } from '../../compiler/compile.ts';
import type { Graph } from '../../graph/ir.ts';
import { decodeUop, disasmInsn, formatUop } from '../../isa/index.ts';
import { compile, GraphBuilder, convGraph, denseGraph, randomTensor, rng, addGraph, groupedConvGraph } from './helpers.ts';

function listing(model: CompiledModel, cfg: VtaConfig): string {
  const lines: string[] = [];
  for (const step of model.partition) lines.push(`# ${step}`);
  for (const k of model.kernels) {
    lines.push(`\n## ${k.name}: ${k.nodes.join(' + ')}`);
    for (let i = k.insnStart; i < k.insnStart + k.insnCount; i++) {
      const reloc = model.relocs.find(([n]) => n === i);
      lines.push(`${String(i).padStart(4)}  ${disasmInsn(cfg, model.code, i * 16)}${reloc ? `  @${reloc[1]}` : ''}`);
    }
    const ub = model.buffers[`${k.name}.uops`]!;
    const dv = new DataView(model.code.buffer, model.code.byteOffset);
    lines.push(`## ${k.name} uops`);
    for (let u = 0; u < k.uopCount; u++) lines.push(`${String(u).padStart(4)}  ${formatUop(decodeUop(cfg, dv.getUint32(ub.offset + u * 4, true)))}`);
  }
  return lines.join('\n') + '\n';
}

const cfg = defaultVtaConfig();
const b2x8 = loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname);

function twoLayer(): Graph {
  const r = rng(3);
  const b = new GraphBuilder('two-layer', [{ name: 'x', shape: [1, 16, 6, 6], dtype: 'int8' }]);
  let t = b.node('conv2d', ['x', b.constant('w1', randomTensor(r, [16, 16, 3, 3], 'int8'))], { pad: [1, 1, 1, 1] }, 'conv1');
  t = b.node('requantize', [t], { shift: 8 }, 'rq1');
  t = b.node('relu', [t], undefined, 'relu1');
  t = b.node('cast', [t], { dtype: 'int8' }, 'cast1');
  t = b.node('global_avg_pool', [t], undefined, 'gap');
  t = b.node('flatten', [t], { axis: 1 }, 'flat');
  t = b.node('dense', [t, b.constant('w2', randomTensor(r, [10, 16], 'int8'))], undefined, 'fc');
  t = b.node('requantize', [t], { shift: 4 }, 'rq2');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast2'));
}

const int32 = (values: number[]) => ({ shape: [values.length], dtype: 'int32' as const, data: Int32Array.from(values) });

/** dense 4x32x32 + bias, per-channel multipliers, half-even >>12, + zero point, clip, cast. */
function perChannelHalfEven(): Graph {
  const r = rng(5);
  const b = new GraphBuilder('pc-he', [{ name: 'x', shape: [4, 32], dtype: 'int8' }]);
  let t = b.node('dense', ['x', b.constant('w', randomTensor(r, [32, 32], 'int8', -8, 8))], undefined, 'fc');
  t = b.node('bias_add', [t, b.constant('b', randomTensor(r, [32], 'int32', -300, 300))], undefined, 'bias');
  t = b.node('requantize', [t, b.constant('m', int32(Array.from({ length: 32 }, (_, c) => 50 + 37 * c)))], { shift: 12, rounding: 'half_even' }, 'rq');
  t = b.node('add', [t, b.constant('zp', int32([-3]))], undefined, 'zp');
  t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
}

/** mul(a, 3000) + mul(b, 70000) + zero-point term, half-even >>12, + zero point, clip, cast on [2, 32]. */
function rescaledAdd(): Graph {
  const b = new GraphBuilder('radd', [{ name: 'a', shape: [2, 32], dtype: 'int8' }, { name: 'b', shape: [2, 32], dtype: 'int8' }]);
  const ma = b.node('mul', ['a', b.constant('ca', int32([3000]))], undefined, 'mul_a');
  const mb = b.node('mul', ['b', b.constant('cb', int32([70000]))], undefined, 'mul_b');
  let t = b.node('add', [ma, mb], undefined, 'sum');
  t = b.node('add', [t, b.constant('zin', int32([777]))], undefined, 'zin');
  t = b.node('requantize', [t], { shift: 12, rounding: 'half_even' }, 'rq');
  t = b.node('add', [t, b.constant('zout', int32([5]))], undefined, 'zout');
  t = b.node('clip', [t], { min: -128, max: 127 }, 'clip');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'cast'));
}

describe('golden instruction streams', () => {
  it('dense 4x32x32 + bias, per-channel half-even requantize, zero point', async () => {
    await expect(listing(compile(perChannelHalfEven(), { config: cfg }), cfg)).toMatchFileSnapshot('__snapshots__/dense-per-channel-half-even.txt');
  });
  it('rescaled element-wise add (one wide scale), half-even requantize, zero points', async () => {
    await expect(listing(compile(rescaledAdd(), { config: cfg }), cfg)).toMatchFileSnapshot('__snapshots__/rescaled-add.txt');
  });
  it('dense 4x32x32 + bias, >>8, relu, clip', async () => {
    const m = compile(denseGraph(rng(1), 4, 32, 32, { bias: true, shift: 8, relu: true, clip: [0, 127] }), { config: cfg });
    await expect(listing(m, cfg)).toMatchFileSnapshot('__snapshots__/dense-4x32x32.txt');
  });
  it('conv2d 3x3 pad 1 stride 2, 16->32 on 6x6', async () => {
    const m = compile(convGraph(rng(2), { n: 1, c: 16, h: 6, w: 6, o: 32, k: 3, stride: 2, pad: 1 }, { shift: 6, clip: [-128, 127] }), { config: cfg });
    await expect(listing(m, cfg)).toMatchFileSnapshot('__snapshots__/conv-3x3-s2.txt');
  });
  it('grouped conv2d 3x3 pad 1, 32->32 in 2 groups on 4x4', async () => {
    await expect(listing(compile(groupedConvGraph(rng(4), 2), { config: cfg }), cfg)).toMatchFileSnapshot('__snapshots__/group-conv-g2.txt');
  });
  it('element-wise add with clip', async () => {
    await expect(listing(compile(addGraph(), { config: cfg }), cfg)).toMatchFileSnapshot('__snapshots__/add.txt');
  });
  it('two-layer network (conv, host pooling, dense) on b2x8', async () => {
    await expect(listing(compile(twoLayer(), { config: b2x8 }), b2x8)).toMatchFileSnapshot('__snapshots__/two-layer-b2x8.txt');
  });
});

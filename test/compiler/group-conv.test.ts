/**
 * Grouped and depthwise conv2d on VTA: the band lowering (compiler/group-bands.ts) end to end on
 * fsim with the race checker, bit-exact against the reference, on the default and b2x8 configs;
 * MobileNet's grouped layers (TVM's test_benchmark_topi_group_conv2d, small ones here, all of them
 * in bench/compiler-bench.ts); and the GEMM work, which must equal the grouped conv's own MACs when
 * the channels per group are multiples of BLOCK.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig, type VtaConfig } from '../../config/config.ts';
import { type CompiledModel } from '../../compiler/compile.ts';
import { groupBands, packGroupedWeight } from '../../compiler/group-bands.ts';
import type { Graph } from '../../graph/ir.ts';
import { OPCODE, decodeInsn } from '../../isa/index.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOnnxModel, type ModelSpec } from '../../frontend/onnx-builder.ts';
import { importOnnx } from '../../frontend/onnx/import.ts';
import { runReference } from '../../graph/reference.ts';
import { compareWithOrt } from '../frontend/ort-compare.ts';
import { compileAndCheck } from './harness.ts';
import { compile, GraphBuilder, epilogue, randInt, randomTensor, rng, type EpilogueSpec } from './helpers.ts';

const cfg = defaultVtaConfig();
const b2x8 = loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname);

export interface GroupConvSpec {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  groups: number;
  k: number;
  stride: number;
  pad: number;
}

export function groupConvGraph(r: () => number, s: GroupConvSpec, e: EpilogueSpec): Graph {
  const b = new GraphBuilder(`gconv_${s.h}x${s.w}_${s.c}to${s.o}_g${s.groups}_k${s.k}s${s.stride}p${s.pad}`, [
    { name: 'x', shape: [s.n, s.c, s.h, s.w], dtype: 'int8' },
  ]);
  const w = b.constant('w', randomTensor(r, [s.o, s.c / s.groups, s.k, s.k], 'int8'));
  const y = b.node('conv2d', ['x', w], { stride: [s.stride, s.stride], pad: [s.pad, s.pad, s.pad, s.pad], groups: s.groups }, 'conv');
  return b.output(epilogue(b, r, y, s.o, e, 'conv'));
}

/** GEMM uop-iterations of a compiled model (reset GEMMs excluded): the MAC work in tiles. */
export function gemmWork(model: CompiledModel, c: VtaConfig): number {
  let n = 0;
  for (let i = 0; i < model.insnCount; i++) {
    const insn = decodeInsn(c, model.code, i * c.insnBytes);
    if (insn.opcode === OPCODE.GEMM && !insn.reset_reg) n += insn.iter_out * insn.iter_in * (insn.uop_end - insn.uop_bgn);
  }
  return n;
}

/** The grouped conv's own MACs, in GEMM uop-iterations (BATCH·BLOCK_IN·BLOCK_OUT MACs each). */
export function groupConvMacTiles(s: GroupConvSpec, c: VtaConfig): number {
  const oh = Math.floor((s.h + 2 * s.pad - s.k) / s.stride) + 1;
  const ow = Math.floor((s.w + 2 * s.pad - s.k) / s.stride) + 1;
  const macs = s.n * s.o * oh * ow * (s.c / s.groups) * s.k * s.k;
  return macs / (c.batch * c.blockIn * c.blockOut);
}

const tvmEpilogue: EpilogueSpec = { shift: 8, bias: true, shiftFirst: true, clip: [0, 127] };

describe('group bands', () => {
  it('aligned groups: one band per group, exactly the diagonal blocks', () => {
    expect(groupBands(64, 128, 2, 3, 3, cfg)).toEqual([
      { oc0: 0, OT: 4, ic0: 0, CT: 2, wgtOffset: 0 },
      { oc0: 4, OT: 4, ic0: 2, CT: 2, wgtOffset: 72 },
    ]);
  });
  it('depthwise: one band per output tile reading its own input tile', () => {
    expect(groupBands(40, 40, 40, 3, 3, cfg).map((b) => [b.oc0, b.OT, b.ic0, b.CT])).toEqual([[0, 1, 0, 1], [1, 1, 1, 1], [2, 1, 2, 1]]);
  });
  it('groups straddling tiles: each output tile reads the range of its groups', () => {
    // 3 channels per group: output tile 1 (channels 16..23) holds groups 5..7, input channels 15..23.
    expect(groupBands(24, 24, 8, 1, 1, cfg).map((b) => [b.oc0, b.OT, b.ic0, b.CT])).toEqual([[0, 2, 0, 2]]);
    // Output tile 1 (channels 16..31) holds groups 5..10: input channels 15..32, tiles 0..2.
    expect(groupBands(48, 48, 16, 1, 1, cfg).map((b) => [b.oc0, b.OT, b.ic0, b.CT])).toEqual([[0, 1, 0, 2], [1, 1, 0, 3], [2, 1, 1, 2]]);
  });
  it('packs each weight element once, in its group, and nothing else', () => {
    const r = rng(5);
    const [cin, cout, groups] = [24, 12, 4];
    const w = randomTensor(r, [cout, cin / groups, 3, 3], 'int8', 1, 127);
    const bands = groupBands(cin, cout, groups, 3, 3, b2x8);
    const packed = new Int8Array(packGroupedWeight(w.shape, w.data as Int8Array, cin, groups, bands, b2x8).buffer);
    const nonzero = packed.filter((v) => v !== 0).length;
    expect(nonzero).toBe(w.data.length);
    expect(packed.reduce((a, v) => a + v, 0)).toBe((w.data as Int8Array).reduce((a, v) => a + v, 0));
  });
});

describe('grouped conv2d end to end on fsim (race checker on, bit-exact)', () => {
  const cases: [string, GroupConvSpec, VtaConfig][] = [
    ['MobileNet D1 shape scaled: 16x16 32->32 groups 2, stride 1', { n: 1, c: 32, h: 16, w: 16, o: 32, groups: 2, k: 3, stride: 1, pad: 1 }, cfg],
    ['MobileNet D2 shape scaled: 14x14 64->64 groups 4, stride 2', { n: 1, c: 64, h: 14, w: 14, o: 64, groups: 4, k: 3, stride: 2, pad: 1 }, cfg],
    ['MobileNet D9: 7x7 1024->1024 groups 64', { n: 1, c: 1024, h: 7, w: 7, o: 1024, groups: 64, k: 3, stride: 1, pad: 1 }, cfg],
    ['depthwise 3x3 stride 1, 48 channels on 9x9', { n: 1, c: 48, h: 9, w: 9, o: 48, groups: 48, k: 3, stride: 1, pad: 1 }, cfg],
    ['depthwise 3x3 stride 2, 40 channels on 11x10', { n: 1, c: 40, h: 11, w: 10, o: 40, groups: 40, k: 3, stride: 2, pad: 1 }, cfg],
    ['depthwise multiplier 2 (groups = Cin, Cout = 2 Cin)', { n: 1, c: 20, h: 6, w: 6, o: 40, groups: 20, k: 3, stride: 1, pad: 1 }, cfg],
    ['3 channels per group, straddling tiles, 24->36 groups 8', { n: 1, c: 24, h: 7, w: 7, o: 36, groups: 12, k: 3, stride: 1, pad: 1 }, cfg],
    ['b2x8 batch 3, 32->32 groups 4, stride 2', { n: 3, c: 32, h: 8, w: 8, o: 32, groups: 4, k: 3, stride: 2, pad: 1 }, b2x8],
    ['b2x8 depthwise 3x3 stride 1, 20 channels', { n: 2, c: 20, h: 6, w: 7, o: 20, groups: 20, k: 3, stride: 1, pad: 1 }, b2x8],
  ];
  for (const [name, spec, c] of cases) {
    it(name, async () => {
      const g = groupConvGraph(rng(spec.c * 7 + spec.groups), spec, tvmEpilogue);
      const r = await compileAndCheck(g, c);
      expect(r.races).toEqual([]);
      expect(r.model.partition.some((l) => l.startsWith('host'))).toBe(false);
    });
  }
});

describe('GEMM work of grouped convs', () => {
  it('equals the grouped conv MACs when channels per group are multiples of BLOCK (MobileNet D1-D9 shapes)', () => {
    // All nine layers compile quickly; only their GEMM work is counted here (the bench runs them).
    const layers: GroupConvSpec[] = [
      { n: 1, c: 32, h: 112, w: 112, o: 32, groups: 2, k: 3, stride: 1, pad: 1 },
      { n: 1, c: 64, h: 112, w: 112, o: 64, groups: 4, k: 3, stride: 2, pad: 1 },
      { n: 1, c: 128, h: 56, w: 56, o: 128, groups: 8, k: 3, stride: 1, pad: 1 },
      { n: 1, c: 1024, h: 7, w: 7, o: 1024, groups: 64, k: 3, stride: 1, pad: 1 },
    ];
    for (const s of layers) {
      const m = compile(groupConvGraph(rng(1), s, tvmEpilogue), { config: cfg });
      expect(gemmWork(m, cfg)).toBe(groupConvMacTiles(s, cfg));
    }
  });
  it('aligned groups of two tiles on b2x8 (16 channels per group, BLOCK 8)', () => {
    const s: GroupConvSpec = { n: 2, c: 64, h: 6, w: 6, o: 64, groups: 4, k: 3, stride: 1, pad: 1 };
    const m = compile(groupConvGraph(rng(2), s, tvmEpilogue), { config: b2x8 });
    expect(gemmWork(m, b2x8)).toBe(groupConvMacTiles(s, b2x8));
  });
  it('depthwise costs BLOCK_IN times its MACs (one diagonal weight tile per channel tile)', () => {
    const s: GroupConvSpec = { n: 1, c: 64, h: 10, w: 10, o: 64, groups: 64, k: 3, stride: 1, pad: 1 };
    const m = compile(groupConvGraph(rng(3), s, tvmEpilogue), { config: cfg });
    expect(gemmWork(m, cfg)).toBe(groupConvMacTiles(s, cfg) * cfg.blockIn);
  });
});

describe('random grouped convs on both configs', () => {
  for (const [cname, c] of [['1x16x16', cfg], ['b2x8', b2x8]] as const) {
    for (let seed = 1; seed <= 6; seed++) {
      it(`${cname}: grouped conv2d #${seed}`, async () => {
        const r = rng(seed * 104729 + cname.length);
        const groups = randInt(r, 2, 8);
        const k = randInt(r, 1, 3);
        const depthwise = r() < 0.3;
        const cg = depthwise ? 1 : randInt(r, 1, 12);
        const og = depthwise ? randInt(r, 1, 2) : randInt(r, 1, 12);
        const spec: GroupConvSpec = {
          n: randInt(r, 1, 3),
          c: cg * groups,
          h: randInt(r, k, 10),
          w: randInt(r, k, 10),
          o: og * groups,
          groups,
          k,
          stride: randInt(r, 1, 2),
          pad: randInt(r, 0, k - 1),
        };
        const e: EpilogueSpec = { bias: r() < 0.6, shift: randInt(r, 0, 10), relu: r() < 0.4, clip: r() < 0.7 ? [-100, 120] : undefined, shiftFirst: r() < 0.5 };
        const res = await compileAndCheck(groupConvGraph(r, spec, e), c, seed);
        expect(res.races, JSON.stringify(spec)).toEqual([]);
      });
    }
  }
});

describe('grouped ONNX convs import and run on VTA', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vta-gconv-'));
  const zp = { name: 'zp', type: 'int8' as const, dims: [], values: [0] };
  const sc = (name: string, v: number) => ({ name, type: 'float' as const, dims: [], values: [v] });
  const ints = (n: number, seed: number) => Array.from(randomTensor(rng(seed), [n], 'int8', -20, 20).data);

  /** int8 x [1,C,6,6] -> QLinearConv(3x3 pad 1, group, bias) -> int8 y; power-of-two scales. */
  function qlinearGrouped(c: number, o: number, group: number, stride: number): ModelSpec {
    const oh = Math.floor((6 + 2 - 3) / stride) + 1;
    return {
      name: `qlinear-g${group}`,
      inputs: [{ name: 'x', type: 'int8', shape: [1, c, 6, 6] }],
      outputs: [{ name: 'y', type: 'int8', shape: [1, o, oh, oh] }],
      initializers: [
        zp, sc('sx', 0.5), sc('sw', 0.25), sc('sy', 4),
        { name: 'w', type: 'int8', dims: [o, c / group, 3, 3], values: ints((o * c * 9) / group, group) },
        { name: 'b', type: 'int32', dims: [o], values: Array.from({ length: o }, (_, k) => (k * 37) % 101 - 50) },
      ],
      nodes: [
        {
          op: 'QLinearConv', inputs: ['x', 'sx', 'zp', 'w', 'sw', 'zp', 'sy', 'zp', 'b'], outputs: ['y'], name: 'gconv',
          attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3], strides: [stride, stride], group },
        },
      ],
    };
  }

  for (const [c, o, group, stride] of [[32, 32, 4, 1], [24, 24, 24, 2], [16, 32, 16, 1]] as const) {
    it(`QLinearConv ${c}->${o} group ${group} stride ${stride}: on VTA, bit-exact with the reference, which matches onnxruntime`, async () => {
      const path = join(dir, `g${group}s${stride}.onnx`);
      writeFileSync(path, buildOnnxModel(qlinearGrouped(c, o, group, stride)));
      // VTA's hardware rounding (half up): every step runs on VTA today.
      const imp = importOnnx(path, { rounding: 'half_up' });
      expect(imp.graph.nodes.find((n) => n.op === 'conv2d')!.attrs).toMatchObject({ groups: group });
      const r = await compileAndCheck(imp.graph, cfg);
      expect(r.races).toEqual([]);
      expect(r.model.partition.filter((l) => l.startsWith('host'))).toEqual([]);
      // ONNX's rounding (the default import) matches onnxruntime exactly.
      const exact = importOnnx(path);
      const x = randomTensor(rng(c + group), [1, c, 6, 6], 'int8');
      const [ort] = await compareWithOrt(path, exact.graph, { x }, runReference(exact.graph, { x }));
      expect(ort!.exact).toBe(true);
    });
  }
});

/** Convolution tensorization, step by step: padded input tiles, weights, GEMM uop loops, epilogue, stores. */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { ALU_OP, MEM_TYPE } from '../../isa/index.ts';
import type { KOp } from '../../compiler/kernel-ir.ts';
import { freshCounters, tensorizeConv, wholeTensors } from '../../compiler/tensorize.ts';
import type { ConvProblem, ConvTiling } from '../../compiler/tile.ts';
import type { EpilogueOp } from '../../compiler/fuse.ts';

const cfg = defaultVtaConfig();
// 1 batch tile, 2 input channel tiles of 4x4, 2 output channel tiles, 3x3 kernel, padding 1.
const p: ConvProblem = { NB: 1, CT: 2, H: 4, W: 4, OT: 2, KH: 3, KW: 3, sh: 1, sw: 1, pt: 1, pl: 1, pb: 1, pr: 1, OH: 4, OW: 4, biasCount: 0 };
const tiling = (over: Partial<ConvTiling>): ConvTiling => ({ tOC: 2, tIC: 1, tOH: 2, tOW: 4, slots: 2, weightsResident: false, bytes: 0, insns: 0, ...over });
const bufs = { input: 'act:x', weight: 'const:w', bias: new Map<string, string>(), output: 'act:y' };
const node = { name: 'rq', op: 'requantize' as const, inputs: [], output: 'o' };
const ep: EpilogueOp[] = [{ kind: 'requantize', node, shift: 8, multiplier: 1 }];
const ops = (t: ConvTiling) => tensorizeConv(p, t, bufs, ep, cfg, wholeTensors(p), freshCounters());
const loads = (o: KOp[], memType: number) => o.filter((x): x is Extract<KOp, { kind: 'load' }> => x.kind === 'load' && x.memType === memType);

describe('tensorizeConv', () => {
  it('loads each input tile with its border as DMA padding: top rows for the first tile, bottom for the last', () => {
    const inp = loads(ops(tiling({})), MEM_TYPE.INP);
    // 2 row tiles x 2 reduction steps, one load per channel tile of the step.
    expect(inp.map((l) => l.pad)).toEqual([[1, 0, 1, 1], [1, 0, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1]]);
    expect(inp.map((l) => [l.y, l.x])).toEqual([[3, 4], [3, 4], [3, 4], [3, 4]]);
  });

  it('loads weights per reduction step, or once per channel block when resident', () => {
    expect(loads(ops(tiling({})), MEM_TYPE.WGT)).toHaveLength(4);
    const resident = loads(ops(tiling({ tIC: 2, weightsResident: true })), MEM_TYPE.WGT);
    expect(resident).toHaveLength(1);
    expect([resident[0]!.y, resident[0]!.x]).toEqual([2, 2 * 9]);
  });

  it('folds output channels and rows into the GEMM loops around (ic, kh, kw, ow) uops', () => {
    const gemms = ops(tiling({})).filter((o): o is Extract<KOp, { kind: 'gemm' }> => o.kind === 'gemm' && !o.reset);
    expect(gemms).toHaveLength(4);
    const g = gemms[0]!;
    expect(g.uops).toHaveLength(1 * 3 * 3 * 4);
    expect(g.loop).toMatchObject({ iterOut: 2, dstOut: 8, wgtOut: 9, iterIn: 2, dstIn: 4, srcIn: 6 });
  });

  it('resets, reduces, runs the epilogue on the ALU and stores each tile, alternating slots', () => {
    const o = ops(tiling({}));
    const kinds = o.map((x) => (x.kind === 'alu' ? `alu${x.aluOp}` : x.kind === 'gemm' ? (x.reset ? 'reset' : 'gemm') : x.kind));
    const tile = ['reset', 'load', 'load', 'gemm', 'load', 'load', 'gemm', `alu${ALU_OP.ADD}`, `alu${ALU_OP.SHR}`, 'store', 'store'];
    expect(kinds).toEqual([...tile, ...tile]);
    const stores = o.filter((x) => x.kind === 'store');
    expect(stores.map((s) => s.sram)).toEqual([0, 8, cfg.accDepth / 2, cfg.accDepth / 2 + 8]);
  });
});

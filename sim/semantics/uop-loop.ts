/**
 * The uop loop nest shared by GEMM and ALU (spec §3.4/§3.5): decode the uops of [uop_bgn, uop_end)
 * once and prove every index the nest will form is inside its SRAM, so the kernels run unchecked.
 * Zero loop counts or an empty uop range do nothing (Decision 6).
 */
import type { VtaConfig } from '../../config/config.ts';
import type { LoopFields } from '../../isa/index.ts';
import { uopFieldShifts } from '../../isa/index.ts';
import { sramRange } from '../errors.ts';
import type { LoopNest } from '../../isa/pipeline.ts';
import type { ExecContext } from './context.ts';

/** One index stream of the nest: which uop field, its loop factors, and the SRAM it addresses. */
interface IndexRole {
  field: 'dst' | 'src' | 'wgt';
  buffer: string;
  depth: number;
  factorOut: number;
  factorIn: number;
}

const shiftsByConfig = new WeakMap<VtaConfig, ReturnType<typeof uopFieldShifts>>();
function shifts(cfg: VtaConfig): ReturnType<typeof uopFieldShifts> {
  let s = shiftsByConfig.get(cfg);
  if (!s) shiftsByConfig.set(cfg, (s = uopFieldShifts(cfg)));
  return s;
}

/**
 * Decode the uops into ctx.uops and check the roles' indices. Returns the loop nest, or undefined
 * when the instruction does nothing.
 */
export function prepareUopLoop(ctx: ExecContext, insn: LoopFields, roles: readonly IndexRole[], wgtFactors?: [number, number]): LoopNest | undefined {
  const { uop_bgn: bgn, uop_end: end, iter_out: iterOut, iter_in: iterIn } = insn;
  if (iterOut === 0 || iterIn === 0 || bgn >= end) return undefined;
  const depth = ctx.cfg.uopDepth;
  if (end > depth) throw sramRange('uop', end - 1, depth, ` for uop_end ${end}`);
  const sh = shifts(ctx.cfg);
  const u = ctx.uops;
  const words = ctx.machine.uop;
  const n = end - bgn;
  const [dShift, dMask] = sh.dst;
  const [sShift, sMask] = sh.src;
  const [wShift, wMask] = sh.wgt;
  const { dst, src, wgt } = u;
  let maxDst = 0;
  let maxSrc = 0;
  let maxWgt = 0;
  for (let k = 0; k < n; k++) {
    const w = words[bgn + k]!;
    const d = (w >>> dShift) & dMask;
    const s = (w >>> sShift) & sMask;
    const g = (w >>> wShift) & wMask;
    dst[k] = d;
    src[k] = s;
    wgt[k] = g;
    if (d > maxDst) maxDst = d;
    if (s > maxSrc) maxSrc = s;
    if (g > maxWgt) maxWgt = g;
  }
  u.count = n;
  // Factors are unsigned, so the largest index of a uop is at the last (i, j), and the largest of
  // the instruction is the largest uop's.
  const largest = { dst: maxDst, src: maxSrc, wgt: maxWgt };
  for (const r of roles) {
    const span = (iterOut - 1) * r.factorOut + (iterIn - 1) * r.factorIn;
    if (largest[r.field] + span >= r.depth) throw firstOutOfRange(u[r.field], n, r, iterOut, iterIn, bgn);
  }
  return {
    iterOut,
    iterIn,
    dstOut: insn.dst_factor_out,
    dstIn: insn.dst_factor_in,
    srcOut: insn.src_factor_out,
    srcIn: insn.src_factor_in,
    wgtOut: wgtFactors?.[0] ?? 0,
    wgtIn: wgtFactors?.[1] ?? 0,
  };
}

/** The first out-of-range index in execution order (i, then j, then uop), for the message. */
function firstOutOfRange(arr: Int32Array, n: number, r: IndexRole, iterOut: number, iterIn: number, bgn: number): Error {
  for (let i = 0; i < iterOut; i++) {
    let best: { j: number; k: number } | undefined;
    for (let k = 0; k < n; k++) {
      const base = arr[k]! + i * r.factorOut;
      let j: number;
      if (base >= r.depth) j = 0;
      else if (r.factorIn === 0) continue;
      else j = Math.ceil((r.depth - base) / r.factorIn);
      if (j < iterIn && (!best || j < best.j)) best = { j, k };
    }
    if (best) {
      const index = arr[best.k]! + i * r.factorOut + best.j * r.factorIn;
      return sramRange(r.buffer, index, r.depth, ` at uop ${bgn + best.k}, i=${i}, j=${best.j}`);
    }
  }
  return new Error('unreachable: an index was out of range but none was found');
}

export type { IndexRole };

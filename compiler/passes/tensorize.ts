/** Pass `tensorize`: each kernel's kernel-IR ops (kernel-ir.ts), by its kind (compiler/tensorize.ts for convolutions). */
import { footprints, type KOp } from '../kernel-ir.ts';
import { loweringOf } from '../lower/table.ts';
import type { MemoryPlan } from '../memplan.ts';
import type { VtaConfig } from '../../config/config.ts';
import { ALU_OP_NAMES, memElemBytes, MEM_TYPE, MEM_TYPE_NAMES } from '../../isa/index.ts';
import type { TiledKernel, Tiled } from './choose-tilings.ts';
import { firstProblem, type Pass } from './pass.ts';

export interface TensorizedKernel extends TiledKernel {
  ops: KOp[];
}

export interface Tensorized extends Tiled {
  kernels: TensorizedKernel[];
}

const sramDepth = (cfg: VtaConfig) => ({ inp: cfg.inpDepth, wgt: cfg.wgtDepth, acc: cfg.accDepth });

/** Why one op is out of bounds: an SRAM range past its buffer, or a DRAM access past its placed buffer. */
function opProblem(op: KOp, plan: MemoryPlan, cfg: VtaConfig): string | undefined {
  for (const f of footprints(op, cfg.accDepth)) {
    if (f.lo < 0 || f.hi > sramDepth(cfg)[f.buf]) return `${f.buf}[${f.lo}, ${f.hi}) lies outside the ${sramDepth(cfg)[f.buf]}-entry buffer`;
  }
  if (op.kind !== 'load' && op.kind !== 'store') return undefined;
  const b = plan.buffers.get(op.dram.buffer);
  if (!b) return `reads or writes ${op.dram.buffer}, which is not placed`;
  const elem = memElemBytes(cfg, op.kind === 'load' ? op.memType : MEM_TYPE.OUT);
  const end = (op.dram.offset + (op.y - 1) * op.stride + op.x) * elem;
  return op.dram.offset < 0 || end > b.bytes ? `reaches byte ${end} of the ${b.bytes}-byte buffer ${op.dram.buffer}` : undefined;
}

/** Every op inside its SRAM and DRAM buffers; every kernel ends with FINISH. */
export function checkOps(s: Tensorized): string | undefined {
  for (const k of s.kernels) {
    if (k.ops[k.ops.length - 1]?.kind !== 'finish') return `kernel ${k.name} does not end with FINISH`;
    const why = firstProblem(k.ops.map((op, i) => {
      const p = opProblem(op, s.plan, s.cfg);
      return p && `kernel ${k.name} op ${i} (${op.kind}): ${p}`;
    }));
    if (why) return why;
  }
  return undefined;
}

/** One line per op: `load.inp sram 0 <- act:x+16 y 3 x 6 stride 8 pad 1,0,1,0`. */
export function formatOp(op: KOp): string {
  switch (op.kind) {
    case 'load':
      return `load.${MEM_TYPE_NAMES[op.memType]!.toLowerCase()} sram ${op.sram} <- ${op.dram.buffer}+${op.dram.offset} y ${op.y} x ${op.x} stride ${op.stride} pad ${op.pad.join(',')}`;
    case 'store':
      return `store sram ${op.sram} -> ${op.dram.buffer}+${op.dram.offset} y ${op.y} x ${op.x} stride ${op.stride}`;
    case 'gemm':
    case 'alu': {
      const l = op.loop;
      const what = op.kind === 'gemm' ? `gemm${op.reset ? ' reset' : ''}` : `alu.${ALU_OP_NAMES[op.aluOp]!.toLowerCase()}${op.imm === undefined ? '' : ` imm ${op.imm}`}`;
      return `${what} ${op.uops.length} uops [${l.iterOut}x${l.iterIn} dst ${l.dstOut},${l.dstIn} src ${l.srcOut},${l.srcIn} wgt ${l.wgtOut},${l.wgtIn}]`;
    }
    case 'finish':
      return 'finish';
  }
}

export const dumpOps = (name: string, ops: KOp[], suffix: (i: number) => string = () => '') =>
  [`${name}:`, ...ops.map((op, i) => `${String(i).padStart(6)}  ${formatOp(op)}${suffix(i)}`)].join('\n');

export const tensorizePass: Pass<Tiled, Tensorized> = {
  name: 'tensorize',
  run: (s) => ({ ...s, kernels: s.kernels.map((k) => ({ ...k, ops: loweringOf(k.kind).tensorize(k.group, k.problem, k.tiling, k.buffers, s.cfg) })) }),
  verify: checkOps,
  dump: (s) => s.kernels.map((k) => dumpOps(k.name, k.ops)).join('\n'),
};

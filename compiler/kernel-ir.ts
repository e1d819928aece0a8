/**
 * Kernel IR: what tensorization produces and the sync and emit passes consume. One op is one VTA
 * instruction (plus, for GEMM/ALU, the uop load the emitter adds when the kernel's uops are not
 * resident). DRAM addresses are symbolic (buffer name + element offset) until the memory plan.
 */
import { MEM_TYPE, OPCODE, type MemType } from '../isa/index.ts';
import { type LoopNest, type Stage, stageOf } from '../isa/pipeline.ts';

export type SramBuffer = 'inp' | 'wgt' | 'acc';

/** A DRAM location: a planned buffer and an offset in elements of the access's memory type. */
export interface DramRef {
  buffer: string;
  offset: number;
}

/** Two hardware loops around the uop list: the machine's loop nest (isa/pipeline.ts). */
export type UopLoop = LoopNest;

export interface KUop {
  dst: number;
  src: number;
  wgt: number;
}

export type KOp =
  | {
      kind: 'load';
      memType: MemType;
      sram: number;
      dram: DramRef;
      y: number;
      x: number;
      stride: number;
      /** [y_pad_0, y_pad_1, x_pad_0, x_pad_1] */
      pad: [number, number, number, number];
    }
  | { kind: 'store'; sram: number; dram: DramRef; y: number; x: number; stride: number }
  | { kind: 'gemm'; reset: boolean; uops: KUop[]; loop: UopLoop }
  | { kind: 'alu'; aluOp: number; imm: number | undefined; uops: KUop[]; loop: UopLoop }
  | { kind: 'finish' };

/** A half-open range of SRAM elements an op reads or writes. */
export interface Footprint {
  buf: SramBuffer;
  lo: number;
  hi: number;
  write: boolean;
}

/** The stage that runs the op's instruction (the machine's routing rule, isa/pipeline.ts). */
export function stageOfOp(op: KOp): Stage {
  const stage = stageOf(OPCODE_OF[op.kind], op.kind === 'load' ? op.memType : MEM_TYPE.OUT);
  if (stage === undefined) throw new Error(`internal: no stage runs a ${op.kind} op`);
  return stage;
}

/** Least and greatest value of each uop field of a list: [dst lo, dst hi, src lo, src hi, wgt lo, wgt hi]. */
type FieldBounds = [number, number, number, number, number, number];

/** Per long uop list (lists are shared between ops and never changed after tensorization). */
const boundsOfList = new WeakMap<KUop[], FieldBounds>();
/** Shorter lists are scanned each time: cheaper than a weak-map entry each. */
const CACHED_FROM = 16;

function fieldBounds(uops: KUop[]): FieldBounds {
  const known = uops.length >= CACHED_FROM ? boundsOfList.get(uops) : undefined;
  if (known) return known;
  const b: FieldBounds = [Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < uops.length; i++) {
    const u = uops[i]!;
    b[0] = Math.min(b[0], u.dst);
    b[1] = Math.max(b[1], u.dst);
    b[2] = Math.min(b[2], u.src);
    b[3] = Math.max(b[3], u.src);
    b[4] = Math.min(b[4], u.wgt);
    b[5] = Math.max(b[5], u.wgt);
  }
  if (uops.length >= CACHED_FROM) boundsOfList.set(uops, b);
  return b;
}

const FIELD_AT = { dst: 0, src: 2, wgt: 4 } as const;

/** The footprint of one uop field over the loops: [min, max] of `base + i*fo + j*fi`. */
function span(buf: SramBuffer, write: boolean, uops: KUop[], field: 'dst' | 'src' | 'wgt', fo: number, fi: number, loop: UopLoop): Footprint {
  const b = fieldBounds(uops);
  const at = FIELD_AT[field];
  return { buf, lo: b[at]!, hi: b[at + 1]! + (loop.iterOut - 1) * fo + (loop.iterIn - 1) * fi + 1, write };
}

/** Bounding SRAM ranges of an op: what the token insertion orders against other stages. */
export function footprints(op: KOp, accDepth: number): Footprint[] {
  switch (op.kind) {
    case 'load': {
      const n = (op.y + op.pad[0] + op.pad[1]) * (op.x + op.pad[2] + op.pad[3]);
      if (op.x === 0) return [];
      const buf: SramBuffer | undefined =
        op.memType === MEM_TYPE.INP ? 'inp' : op.memType === MEM_TYPE.WGT ? 'wgt' : op.memType === MEM_TYPE.UOP ? undefined : 'acc';
      return buf ? [{ buf, lo: op.sram, hi: op.sram + n, write: true }] : [];
    }
    case 'store':
      return [{ buf: 'acc', lo: op.sram, hi: op.sram + op.x * op.y, write: false }];
    case 'gemm': {
      const l = op.loop;
      const acc = span('acc', true, op.uops, 'dst', l.dstOut, l.dstIn, l);
      if (op.reset) return [acc];
      return [acc, span('inp', false, op.uops, 'src', l.srcOut, l.srcIn, l), span('wgt', false, op.uops, 'wgt', l.wgtOut, l.wgtIn, l)];
    }
    case 'alu': {
      const l = op.loop;
      return [span('acc', true, op.uops, 'dst', l.dstOut, l.dstIn, l), span('acc', false, op.uops, 'src', l.srcOut, l.srcIn, l)];
    }
    case 'finish':
      // FINISH must follow every store: model it as overwriting the whole accumulator.
      return [{ buf: 'acc', lo: 0, hi: accDepth, write: true }];
  }
}

export const OPCODE_OF: Record<KOp['kind'], number> = {
  load: OPCODE.LOAD,
  store: OPCODE.STORE,
  gemm: OPCODE.GEMM,
  alu: OPCODE.ALU,
  finish: OPCODE.FINISH,
};

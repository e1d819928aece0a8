/**
 * Emission: kernel-IR ops plus their sync flags become encoded-ready instructions. GEMM/ALU uop
 * kernels are deduplicated, kept resident in uop SRAM (a ring, as VTA's runtime does) and loaded
 * by a compute-stage LOAD UOP only when not resident; uop loads and their users share the compute
 * stage, so reusing uop SRAM needs no token. DRAM addresses stay symbolic (relocations) until the
 * memory plan places the buffers.
 */
import type { VtaConfig } from '../config/config.ts';
import { type Insn, type LoopFields, MEM_TYPE, aluInsn, finishInsn, gemmInsn, memElemBytes, memInsn, OPCODE } from '../isa/index.ts';
import { compileError } from './errors.ts';
import type { KOp, KUop, UopLoop } from './kernel-ir.ts';
import type { SyncFlags } from './sync.ts';

/** dram_base of instruction `insn` is `offset` elements into `buffer` until relocated. */
export interface SymbolicReloc {
  insn: number;
  buffer: string;
  offset: number;
  elemBytes: number;
}

export interface EmittedKernel {
  insns: Insn[];
  relocs: SymbolicReloc[];
  /** The kernel's uop image (32-bit words) for its own `<kernel>.uops` DRAM buffer. */
  uops: KUop[];
  /** Index of the kernel-IR op each instruction came from (-1 for added uop loads / NOPs). */
  opOfInsn: number[];
}

interface Resident {
  bgn: number;
  end: number;
}

/** The uop range and loop fields GEMM and ALU instructions share (wgt factors are GEMM's own). */
function loopFields(r: { bgn: number; end: number }, l: UopLoop): Omit<LoopFields, 'reset_reg'> {
  return {
    uop_bgn: r.bgn,
    uop_end: r.end,
    iter_out: l.iterOut,
    iter_in: l.iterIn,
    dst_factor_out: l.dstOut,
    dst_factor_in: l.dstIn,
    src_factor_out: l.srcOut,
    src_factor_in: l.srcIn,
  };
}

export function emitKernel(name: string, ops: KOp[], flags: SyncFlags[], cfg: VtaConfig): EmittedKernel {
  const insns: Insn[] = [];
  const relocs: SymbolicReloc[] = [];
  const opOfInsn: number[] = [];
  const image: KUop[] = [];
  const imageAt = new Map<string, number>();
  const resident = new Map<string, Resident>();
  let ringEnd = 0;
  const uopBuffer = `${name}.uops`;

  const push = (insn: Insn, op: number, reloc?: Omit<SymbolicReloc, 'insn'>) => {
    if (reloc) relocs.push({ insn: insns.length, ...reloc });
    insns.push(insn);
    opOfInsn.push(op);
  };

  /** Make the uop kernel resident, loading it if needed; returns its SRAM range. */
  const ensureUops = (uops: KUop[]): Resident => {
    const key = uops.map((u) => `${u.dst},${u.src},${u.wgt}`).join(';');
    const hit = resident.get(key);
    if (hit) return hit;
    if (uops.length > cfg.uopDepth) {
      throw compileError('E_INTERNAL', undefined, `kernel ${name}: a uop kernel of ${uops.length} uops exceeds the uop buffer (${cfg.uopDepth})`);
    }
    let at = imageAt.get(key);
    if (at === undefined) {
      at = image.length;
      image.push(...uops);
      imageAt.set(key, at);
    }
    if (ringEnd + uops.length > cfg.uopDepth) ringEnd = 0;
    const range = { bgn: ringEnd, end: ringEnd + uops.length };
    for (const [k, r] of resident) if (r.bgn < range.end && range.bgn < r.end) resident.delete(k);
    ringEnd = range.end;
    resident.set(key, range);
    push(
      memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.UOP, sram_base: range.bgn, y_size: 1, x_size: uops.length, x_stride: uops.length }),
      -1,
      { buffer: uopBuffer, offset: at, elemBytes: cfg.uopElemBytes },
    );
    return range;
  };

  ops.forEach((op, i) => {
    const f = flags[i]!;
    switch (op.kind) {
      case 'load':
      case 'store':
        push(
          memInsn({
            ...f,
            opcode: op.kind === 'load' ? OPCODE.LOAD : OPCODE.STORE,
            memory_type: op.kind === 'load' ? op.memType : MEM_TYPE.OUT,
            sram_base: op.sram,
            dram_base: 0,
            y_size: op.y,
            x_size: op.x,
            x_stride: op.stride,
            ...(op.kind === 'load' ? { y_pad_0: op.pad[0], y_pad_1: op.pad[1], x_pad_0: op.pad[2], x_pad_1: op.pad[3] } : {}),
          }),
          i,
          { buffer: op.dram.buffer, offset: op.dram.offset, elemBytes: memElemBytes(cfg, op.kind === 'load' ? op.memType : MEM_TYPE.OUT) },
        );
        break;
      case 'gemm': {
        const r = ensureUops(op.uops);
        const l = op.loop;
        push(
          gemmInsn({
            ...f,
            reset_reg: op.reset ? 1 : 0,
            ...loopFields(r, l),
            wgt_factor_out: l.wgtOut,
            wgt_factor_in: l.wgtIn,
          }),
          i,
        );
        break;
      }
      case 'alu': {
        const r = ensureUops(op.uops);
        const l = op.loop;
        push(
          aluInsn({
            ...f,
            alu_opcode: op.aluOp,
            use_imm: op.imm === undefined ? 0 : 1,
            imm: op.imm ?? 0,
            ...loopFields(r, l),
          }),
          i,
        );
        break;
      }
      case 'finish':
        // FINISH carries no dependency flags (the runtime's rule): a compute-stage no-op does the pops.
        if (f.pop_prev || f.pop_next || f.push_prev || f.push_next) {
          push(memInsn({ ...f, opcode: OPCODE.LOAD, memory_type: MEM_TYPE.UOP }), i);
        }
        push(finishInsn(), i);
        break;
    }
  });
  return { insns, relocs, uops: image, opOfInsn };
}

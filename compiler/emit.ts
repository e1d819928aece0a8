/**
 * Emission: kernel-IR ops plus their sync flags become encoded-ready instructions, built with the
 * runtime's pieces (runtime/): GEMM/ALU uop kernels are deduplicated and kept resident in uop SRAM
 * by the runtime's uop cache and loaded by a compute-stage LOAD UOP only when not resident (uop
 * loads and their users share the compute stage, so reusing uop SRAM needs no token); FINISH ends
 * the stream by the runtime's token-NOP rule. DRAM addresses stay symbolic (relocations) until the
 * memory plan places the buffers.
 */
import type { VtaConfig } from '../config/config.ts';
import { type Insn, MEM_TYPE, aluInsn, gemmInsn, memElemBytes, memInsn, OPCODE } from '../isa/index.ts';
import { finishWithTokens } from '../runtime/insn-queue.ts';
import { UopCache, type UopRange, uopLoadInsn } from '../runtime/uop-cache.ts';
import { loopFields } from '../runtime/uop-kernel.ts';
import { compileError } from './errors.ts';
import type { KOp, KUop } from './kernel-ir.ts';
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

export function emitKernel(name: string, ops: KOp[], flags: SyncFlags[], cfg: VtaConfig): EmittedKernel {
  const insns: Insn[] = [];
  const relocs: SymbolicReloc[] = [];
  const opOfInsn: number[] = [];
  // The kernel's uop image is a file of the package: a kernel is stored once, reloads read it.
  const cache = new UopCache<string, KUop>({ uopDepth: cfg.uopDepth, reuseImage: true });
  const uopBuffer = `${name}.uops`;

  const push = (insn: Insn, op: number, reloc?: Omit<SymbolicReloc, 'insn'>) => {
    if (reloc) relocs.push({ insn: insns.length, ...reloc });
    insns.push(insn);
    opOfInsn.push(op);
  };

  /** Make the uop kernel resident, loading it if needed; returns its SRAM range. */
  const ensureUops = (uops: KUop[]): UopRange => {
    if (uops.length > cfg.uopDepth) {
      throw compileError('E_INTERNAL', undefined, `kernel ${name}: a uop kernel of ${uops.length} uops exceeds the uop buffer (${cfg.uopDepth})`);
    }
    const { range, load } = cache.place(uops.map((u) => `${u.dst},${u.src},${u.wgt}`).join(';'), uops);
    if (load) push(uopLoadInsn(load, 0), -1, { buffer: uopBuffer, offset: load.imageOffset, elemBytes: cfg.uopElemBytes });
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
        for (const insn of finishWithTokens(f)) push(insn, i);
        break;
    }
  });
  return { insns, relocs, uops: [...cache.image()], opOfInsn };
}

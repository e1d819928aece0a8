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

/**
 * Equal uop lists as one key: the first list seen with the same uops stands for all of them (the
 * uop cache's key), found through a hash of the fields without building a string per list.
 */
class UopListTable {
  private readonly byHash = new Map<number, KUop[][]>();
  /** Lists already looked up (tensorization shares one array between steps with the same uops). */
  private readonly seen = new WeakMap<KUop[], KUop[]>();

  canonical(uops: KUop[]): KUop[] {
    // Short lists (most ALU ops have one uop) are hashed again: cheaper than a weak-map entry.
    if (uops.length < 16) return this.find(uops);
    const known = this.seen.get(uops);
    if (known) return known;
    const found = this.find(uops);
    this.seen.set(uops, found);
    return found;
  }

  private find(uops: KUop[]): KUop[] {
    const h = hashUops(uops);
    const lists = this.byHash.get(h);
    if (!lists) {
      this.byHash.set(h, [uops]);
      return uops;
    }
    const same = lists.find((l) => sameUopList(l, uops));
    if (same) return same;
    lists.push(uops);
    return uops;
  }
}

function hashUops(uops: KUop[]): number {
  let h = uops.length | 0;
  for (let i = 0; i < uops.length; i++) {
    const u = uops[i]!;
    h = Math.imul(h ^ u.dst, 0x01000193);
    h = Math.imul(h ^ u.src, 0x01000193);
    h = Math.imul(h ^ u.wgt, 0x01000193);
  }
  return h;
}

function sameUopList(a: KUop[], b: KUop[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.dst !== y.dst || x.src !== y.src || x.wgt !== y.wgt) return false;
  }
  return true;
}

/** `insn` with the dependency flags `f` (fields it already has: no new hidden class). */
function withDeps<I extends Insn>(insn: I, f: SyncFlags): I {
  insn.pop_prev = f.pop_prev;
  insn.pop_next = f.pop_next;
  insn.push_prev = f.push_prev;
  insn.push_next = f.push_next;
  return insn;
}

export function emitKernel(name: string, ops: KOp[], flags: SyncFlags[], cfg: VtaConfig): EmittedKernel {
  const insns: Insn[] = [];
  const relocs: SymbolicReloc[] = [];
  const opOfInsn: number[] = [];
  // The kernel's uop image is a file of the package: a kernel is stored once, reloads read it.
  const cache = new UopCache<KUop[], KUop>({ uopDepth: cfg.uopDepth, reuseImage: true });
  const uopBuffer = `${name}.uops`;
  const sameUops = new UopListTable();

  const push = (insn: Insn, op: number, reloc?: Omit<SymbolicReloc, 'insn'>) => {
    if (reloc) relocs.push({ insn: insns.length, buffer: reloc.buffer, offset: reloc.offset, elemBytes: reloc.elemBytes });
    insns.push(insn);
    opOfInsn.push(op);
  };

  /** Make the uop kernel resident, loading it if needed; returns its SRAM range. */
  const ensureUops = (uops: KUop[]): UopRange => {
    if (uops.length > cfg.uopDepth) {
      throw compileError('E_INTERNAL', undefined, `kernel ${name}: a uop kernel of ${uops.length} uops exceeds the uop buffer (${cfg.uopDepth})`);
    }
    const { range, load } = cache.place(sameUops.canonical(uops), uops);
    if (load) push(uopLoadInsn(load, 0), -1, { buffer: uopBuffer, offset: load.imageOffset, elemBytes: cfg.uopElemBytes });
    return range;
  };

  // Fields are passed one by one, not spread (see isa/encoding.ts memInsn): this loop builds
  // every instruction of the model.
  ops.forEach((op, i) => {
    const f = flags[i]!;
    switch (op.kind) {
      case 'load':
      case 'store': {
        const insn = memInsn({
          opcode: op.kind === 'load' ? OPCODE.LOAD : OPCODE.STORE,
          memory_type: op.kind === 'load' ? op.memType : MEM_TYPE.OUT,
          sram_base: op.sram,
          dram_base: 0,
          y_size: op.y,
          x_size: op.x,
          x_stride: op.stride,
        });
        if (op.kind === 'load') [insn.y_pad_0, insn.y_pad_1, insn.x_pad_0, insn.x_pad_1] = op.pad;
        push(withDeps(insn, f), i, { buffer: op.dram.buffer, offset: op.dram.offset, elemBytes: memElemBytes(cfg, op.kind === 'load' ? op.memType : MEM_TYPE.OUT) });
        break;
      }
      case 'gemm': {
        const r = ensureUops(op.uops);
        const l = op.loop;
        push(withDeps(Object.assign(gemmInsn({ reset_reg: op.reset ? 1 : 0, wgt_factor_out: l.wgtOut, wgt_factor_in: l.wgtIn }), loopFields(r, l)), f), i);
        break;
      }
      case 'alu': {
        const r = ensureUops(op.uops);
        push(withDeps(Object.assign(aluInsn({ alu_opcode: op.aluOp, use_imm: op.imm === undefined ? 0 : 1, imm: op.imm ?? 0 }), loopFields(r, op.loop)), f), i);
        break;
      }
      case 'finish':
        for (const insn of finishWithTokens(f)) push(insn, i);
        break;
    }
  });
  return { insns, relocs, uops: [...cache.image()], opOfInsn };
}

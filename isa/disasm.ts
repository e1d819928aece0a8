/**
 * Disassembler: one line of text per instruction, generated from the field table. The syntax is
 * `MNEMONIC [flags] field=value ...`, e.g.
 *   load.inp pop_next sram_base=5 dram_base=0x203 y_size=4 x_size=4 x_stride=16 y_pad_0=1
 *   gemm pop_prev push_prev uop_bgn=0 uop_end=1 iter_out=4 iter_in=4 dst_factor_in=1
 *   alu.shr uop_bgn=1 uop_end=2 iter_out=1 iter_in=8 use_imm=1 imm=-3
 * Anything that is not a canonical encoding (unknown opcode, non-zero padding bits) prints as
 * `.insn 0xW0 0xW1`, so every line round-trips through the assembler (asm.ts).
 */
import type { VtaConfig } from '../config/config.ts';
import { type Insn, type Uop, decodeInsn, insnWordsHex, isCanonicalInsn } from './encoding.ts';
import { ALU_OP_NAMES, type FieldLayout, MEM_TYPE_NAMES, OPCODE, OPCODE_NAMES, formatOfOpcode, layouts } from './fields.ts';

/** The mnemonic of a decoded instruction: `load.inp`, `store.out`, `gemm`, `alu.add`, `finish`. */
export function mnemonic(insn: Insn): string {
  const op = OPCODE_NAMES[insn.opcode]!.toLowerCase();
  if (insn.opcode === OPCODE.LOAD || insn.opcode === OPCODE.STORE) {
    const t = MEM_TYPE_NAMES[insn.memory_type];
    return `${op}.${t ? t.toLowerCase() : `mem${insn.memory_type}`}`;
  }
  if (insn.opcode === OPCODE.ALU) {
    const a = ALU_OP_NAMES[insn.alu_opcode];
    return `alu.${a ? a.toLowerCase() : `op${insn.alu_opcode}`}`;
  }
  return op;
}

function operand(fl: FieldLayout, value: number): string | undefined {
  if (fl.def.inMnemonic) return undefined;
  if (fl.def.flag) return value ? fl.name : undefined;
  if (fl.def.omitZero && value === 0) return undefined;
  return `${fl.name}=${fl.def.hex ? '0x' + value.toString(16) : String(value)}`;
}

/** Text of a decoded instruction (assumed canonical: known opcode and enum values). */
export function formatInsn(cfg: VtaConfig, insn: Insn): string {
  const layout = layouts(cfg)[formatOfOpcode(insn.opcode)!];
  const parts = [mnemonic(insn)];
  const fields = insn as unknown as Record<string, number>;
  // Flags first, then operands, in field-table order.
  for (const fl of layout.fields) if (fl.def.flag && fields[fl.name]) parts.push(fl.name);
  for (const fl of layout.fields) {
    if (fl.def.flag) continue;
    const o = operand(fl, fields[fl.name] ?? 0);
    if (o) parts.push(o);
  }
  return parts.join(' ');
}

/** Disassemble the 16 bytes at `bytes[offset..]`. */
export function disasmInsn(cfg: VtaConfig, bytes: Uint8Array, offset = 0): string {
  if (!isCanonicalInsn(cfg, bytes, offset)) {
    const [w0, w1] = insnWordsHex(bytes, offset);
    return `.insn ${w0} ${w1}`;
  }
  const insn = decodeInsn(cfg, bytes, offset);
  const enumBad =
    ((insn.opcode === OPCODE.LOAD || insn.opcode === OPCODE.STORE) && MEM_TYPE_NAMES[insn.memory_type] === undefined) ||
    (insn.opcode === OPCODE.ALU && ALU_OP_NAMES[insn.alu_opcode] === undefined);
  if (enumBad) {
    const [w0, w1] = insnWordsHex(bytes, offset);
    return `.insn ${w0} ${w1}  # ${mnemonic(insn)}`;
  }
  return formatInsn(cfg, insn);
}

/** Disassemble a whole instruction stream (length a multiple of 16). */
export function disasmProgram(cfg: VtaConfig, bytes: Uint8Array): string[] {
  const lines: string[] = [];
  for (let off = 0; off + 16 <= bytes.length; off += 16) lines.push(disasmInsn(cfg, bytes, off));
  return lines;
}

export function formatUop(uop: Uop): string {
  return `uop dst_idx=${uop.dst_idx} src_idx=${uop.src_idx} wgt_idx=${uop.wgt_idx}`;
}

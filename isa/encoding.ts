/**
 * Encoder and decoder for instructions (128 bits, little-endian) and micro-ops (32 bits), driven by
 * the field table in fields.ts. Instructions are handled as four 32-bit words so that no BigInt is
 * needed; a field is at most 32 bits wide and spans at most two words.
 */
import type { VtaConfig } from '../config/config.ts';
import { VtaError } from '../lib/errors.ts';
import { type Format, type FormatLayout, OPCODE, formatOfOpcode, layouts } from './fields.ts';

export interface DepFlags {
  pop_prev: number;
  pop_next: number;
  push_prev: number;
  push_next: number;
}

export interface MemInsn extends DepFlags {
  opcode: typeof OPCODE.LOAD | typeof OPCODE.STORE;
  memory_type: number;
  sram_base: number;
  dram_base: number;
  y_size: number;
  x_size: number;
  x_stride: number;
  y_pad_0: number;
  y_pad_1: number;
  x_pad_0: number;
  x_pad_1: number;
}

export interface LoopFields {
  reset_reg: number;
  uop_bgn: number;
  uop_end: number;
  iter_out: number;
  iter_in: number;
  dst_factor_out: number;
  dst_factor_in: number;
  src_factor_out: number;
  src_factor_in: number;
}

export interface GemmInsn extends DepFlags, LoopFields {
  opcode: typeof OPCODE.GEMM;
  wgt_factor_out: number;
  wgt_factor_in: number;
}

export interface AluInsn extends DepFlags, LoopFields {
  opcode: typeof OPCODE.ALU;
  alu_opcode: number;
  use_imm: number;
  imm: number;
}

export interface FinishInsn extends DepFlags {
  opcode: typeof OPCODE.FINISH;
}

export type Insn = MemInsn | GemmInsn | AluInsn | FinishInsn;

export interface Uop {
  dst_idx: number;
  src_idx: number;
  wgt_idx: number;
}

export const NO_DEPS: DepFlags = Object.freeze({ pop_prev: 0, pop_next: 0, push_prev: 0, push_next: 0 });

/** Raised for bit patterns that are not an instruction (unknown opcode) or fields that do not fit. */
export class EncodingError extends VtaError {
  constructor(message: string) {
    super('E_ENCODING', message);
  }
}

/** The `width`-bit field at bit `offset` of `w` (bit 0 is the low bit of w[0]). */
export function getBits(w: Uint32Array, offset: number, width: number): number {
  const i = offset >>> 5;
  const sh = offset & 31;
  let v = w[i]! >>> sh;
  if (sh + width > 32) v = (v | (w[i + 1]! << (32 - sh))) >>> 0;
  return width === 32 ? v >>> 0 : (v & ((1 << width) - 1)) >>> 0;
}

/** Store `value` (its low `width` bits) in the field at bit `offset` of `w`. */
export function setBits(w: Uint32Array, offset: number, width: number, value: number): void {
  const i = offset >>> 5;
  const sh = offset & 31;
  const mask = width === 32 ? 0xffffffff : (1 << width) - 1;
  const v = value & mask;
  w[i] = (w[i]! & ~((mask << sh) >>> 0)) | ((v << sh) >>> 0);
  if (sh + width > 32) {
    const hiBits = sh + width - 32;
    const hiMask = (1 << hiBits) - 1;
    w[i + 1] = (w[i + 1]! & ~hiMask) | ((v >>> (32 - sh)) & hiMask);
  }
}

function checkRange(fl: FormatLayout['fields'][number], value: number, format: Format): void {
  const lo = fl.signed ? -(2 ** (fl.width - 1)) : 0;
  const hi = fl.signed ? 2 ** (fl.width - 1) - 1 : 2 ** fl.width - 1;
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new EncodingError(`${format} field ${fl.name} = ${value} does not fit in ${fl.width} bits (${lo}..${hi})`);
  }
}

/** Each field's [lo, hi] of a layout, in field order, computed once (encoding is per instruction and uop). */
const fieldRanges = new WeakMap<FormatLayout, Float64Array>();

function rangesOf(layout: FormatLayout): Float64Array {
  let r = fieldRanges.get(layout);
  if (!r) {
    r = new Float64Array(layout.fields.length * 2);
    layout.fields.forEach((fl, i) => {
      r![2 * i] = fl.signed ? -(2 ** (fl.width - 1)) : 0;
      r![2 * i + 1] = fl.signed ? 2 ** (fl.width - 1) - 1 : 2 ** fl.width - 1;
    });
    fieldRanges.set(layout, r);
  }
  return r;
}

function encodeFields(layout: FormatLayout, fields: Record<string, number>, words: Uint32Array): void {
  const ranges = rangesOf(layout);
  const list = layout.fields;
  for (let i = 0; i < list.length; i++) {
    const fl = list[i]!;
    const value = fields[fl.name] ?? 0;
    // The quick test passes only for an integer in range; anything else gets checkRange's error.
    if (!(value >= ranges[2 * i]! && value <= ranges[2 * i + 1]!) || !Number.isInteger(value)) checkRange(fl, value, layout.format);
    setBits(words, fl.offset, fl.width, value);
  }
}

function decodeFields(layout: FormatLayout, words: Uint32Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (const fl of layout.fields) {
    let v = getBits(words, fl.offset, fl.width);
    if (fl.signed && v >= 2 ** (fl.width - 1)) v -= 2 ** fl.width;
    out[fl.name] = v;
  }
  return out;
}

export function formatOf(insn: Insn): Format {
  const fmt = formatOfOpcode(insn.opcode);
  if (!fmt) throw new EncodingError(`unknown opcode ${insn.opcode}`);
  return fmt;
}

/** Encode one instruction into 16 bytes at `out[offset..]` (a fresh array when `out` is omitted). */
export function encodeInsn(cfg: VtaConfig, insn: Insn, out?: Uint8Array, offset = 0): Uint8Array {
  // One scratch array for every call: a compiler encodes tens of thousands of instructions.
  const words = INSN_WORDS.fill(0);
  encodeFields(layouts(cfg)[formatOf(insn)], insn as unknown as Record<string, number>, words);
  const bytes = out ?? new Uint8Array(16);
  if (offset < 0 || offset + 16 > bytes.length) throw new RangeError(`instruction bytes ${offset}..${offset + 16} lie outside the ${bytes.length}-byte array`);
  for (let i = 0; i < 4; i++) {
    const w = words[i]!;
    const at = offset + 4 * i; // little-endian
    bytes[at] = w & 0xff;
    bytes[at + 1] = (w >>> 8) & 0xff;
    bytes[at + 2] = (w >>> 16) & 0xff;
    bytes[at + 3] = w >>> 24;
  }
  return bytes;
}

const INSN_WORDS = new Uint32Array(4);
const UOP_WORD = new Uint32Array(1);

/** Encode a list of instructions into one contiguous byte array. */
export function encodeProgram(cfg: VtaConfig, insns: readonly Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * 16);
  insns.forEach((insn, i) => encodeInsn(cfg, insn, out, i * 16));
  return out;
}

function readWords(bytes: Uint8Array, offset: number): Uint32Array {
  if (offset + 16 > bytes.length) throw new EncodingError(`instruction at byte ${offset} is cut short`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = dv.getUint32(offset + 4 * i, true);
  return w;
}

/** Decode the instruction at `bytes[offset..offset+16)`. Throws EncodingError for an unknown opcode. */
export function decodeInsn(cfg: VtaConfig, bytes: Uint8Array, offset = 0): Insn {
  const w = readWords(bytes, offset);
  const opcode = w[0]! & 7;
  const fmt = formatOfOpcode(opcode);
  if (!fmt) throw new EncodingError(`unknown opcode ${opcode}`);
  return decodeFields(layouts(cfg)[fmt], w) as unknown as Insn;
}

/**
 * True when the 16 bytes are exactly what encodeInsn gives for their decoding: a known opcode and
 * zero padding bits. The disassembler prints anything else as a raw `.insn` so that text always
 * round-trips through the assembler.
 */
export function isCanonicalInsn(cfg: VtaConfig, bytes: Uint8Array, offset = 0): boolean {
  const w = readWords(bytes, offset);
  const fmt = formatOfOpcode(w[0]! & 7);
  if (!fmt) return false;
  const pad = layouts(cfg)[fmt].paddingMask;
  return pad.every((m, i) => (w[i]! & m) === 0);
}

/** The two little-endian 64-bit words of an instruction, as hex strings (for `.insn` and messages). */
export function insnWordsHex(bytes: Uint8Array, offset = 0): [string, string] {
  const w = readWords(bytes, offset);
  const hex = (hi: number, lo: number) => '0x' + hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
  return [hex(w[1]!, w[0]!), hex(w[3]!, w[2]!)];
}

/** Build 16 bytes from two 64-bit words given as BigInt (the form of spec §2.7's vectors). */
export function insnFromWords(w0: bigint, w1: bigint): Uint8Array {
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt.asUintN(64, w0), true);
  dv.setBigUint64(8, BigInt.asUintN(64, w1), true);
  return out;
}

export function encodeUop(cfg: VtaConfig, uop: Uop): number {
  const w = UOP_WORD.fill(0);
  encodeFields(layouts(cfg).uop, uop as unknown as Record<string, number>, w);
  return w[0]!;
}

export function decodeUop(cfg: VtaConfig, word: number): Uop {
  return decodeFields(layouts(cfg).uop, Uint32Array.of(word >>> 0)) as unknown as Uop;
}

/** Field accessor for hot paths that decode uops in bulk: [shift, mask] per field. */
export function uopFieldShifts(cfg: VtaConfig): { dst: [number, number]; src: [number, number]; wgt: [number, number] } {
  const u = layouts(cfg).uop.byName;
  const pair = (n: string): [number, number] => [u[n]!.offset, u[n]!.width === 32 ? 0xffffffff : (1 << u[n]!.width) - 1];
  return { dst: pair('dst_idx'), src: pair('src_idx'), wgt: pair('wgt_idx') };
}

/**
 * Convenience constructors with every field defaulted to zero. Each field is written out rather
 * than spread from defaults: V8 gives every object built by spreading into a literal with more
 * fields its own hidden class, kilobytes per instruction in a compiler that builds thousands.
 */
export function memInsn(p: Partial<MemInsn> & Pick<MemInsn, 'opcode' | 'memory_type'>): MemInsn {
  return {
    pop_prev: p.pop_prev ?? 0,
    pop_next: p.pop_next ?? 0,
    push_prev: p.push_prev ?? 0,
    push_next: p.push_next ?? 0,
    sram_base: p.sram_base ?? 0,
    dram_base: p.dram_base ?? 0,
    y_size: p.y_size ?? 0,
    x_size: p.x_size ?? 0,
    x_stride: p.x_stride ?? 0,
    y_pad_0: p.y_pad_0 ?? 0,
    y_pad_1: p.y_pad_1 ?? 0,
    x_pad_0: p.x_pad_0 ?? 0,
    x_pad_1: p.x_pad_1 ?? 0,
    opcode: p.opcode,
    memory_type: p.memory_type,
  };
}

/** The dependency flags and loop fields GEMM and ALU share, in that order (then each adds its own). */
function loopInsnFields(p: Partial<DepFlags & LoopFields>): DepFlags & LoopFields {
  return {
    pop_prev: p.pop_prev ?? 0,
    pop_next: p.pop_next ?? 0,
    push_prev: p.push_prev ?? 0,
    push_next: p.push_next ?? 0,
    reset_reg: p.reset_reg ?? 0,
    uop_bgn: p.uop_bgn ?? 0,
    uop_end: p.uop_end ?? 0,
    iter_out: p.iter_out ?? 0,
    iter_in: p.iter_in ?? 0,
    dst_factor_out: p.dst_factor_out ?? 0,
    dst_factor_in: p.dst_factor_in ?? 0,
    src_factor_out: p.src_factor_out ?? 0,
    src_factor_in: p.src_factor_in ?? 0,
  };
}

export function gemmInsn(p: Partial<GemmInsn>): GemmInsn {
  const insn = loopInsnFields(p) as GemmInsn;
  insn.wgt_factor_out = p.wgt_factor_out ?? 0;
  insn.wgt_factor_in = p.wgt_factor_in ?? 0;
  insn.opcode = OPCODE.GEMM;
  return insn;
}

export function aluInsn(p: Partial<AluInsn> & Pick<AluInsn, 'alu_opcode'>): AluInsn {
  const insn = loopInsnFields(p) as AluInsn;
  insn.use_imm = p.use_imm ?? 0;
  insn.imm = p.imm ?? 0;
  insn.alu_opcode = p.alu_opcode;
  insn.opcode = OPCODE.ALU;
  return insn;
}

export function finishInsn(p: Partial<DepFlags> = {}): FinishInsn {
  return { pop_prev: p.pop_prev ?? 0, pop_next: p.pop_next ?? 0, push_prev: p.push_prev ?? 0, push_next: p.push_next ?? 0, opcode: OPCODE.FINISH };
}

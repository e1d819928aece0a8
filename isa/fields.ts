/**
 * The one field table of the VTA ISA (HW_VER 0.0.2, spec §2). Encoder, decoder, disassembler,
 * assembler, simulator checks and the RTL parameter package are all derived from it.
 *
 * Widths that depend on the configuration are functions of it. Bit offsets are not written down
 * anywhere: they follow from the packing rule of spec §2.0 (fields are laid LSB-first in order; a
 * field that would straddle bit 64 starts at bit 64 instead), exactly as a C compiler packs
 * `hw_spec.h`'s uint64_t bit-fields.
 */
import { type VtaConfig, configSource } from '../config/config.ts';
import { ConfigError } from '../lib/errors.ts';

export const OPCODE = { LOAD: 0, STORE: 1, GEMM: 2, FINISH: 3, ALU: 4 } as const;
export const MEM_TYPE = { UOP: 0, WGT: 1, INP: 2, ACC: 3, OUT: 4, ACC_8BIT: 5 } as const;
export const ALU_OP = { MIN: 0, MAX: 1, ADD: 2, SHR: 3, MUL: 4 } as const;

export type Opcode = (typeof OPCODE)[keyof typeof OPCODE];
export type MemType = (typeof MEM_TYPE)[keyof typeof MEM_TYPE];
export type AluOp = (typeof ALU_OP)[keyof typeof ALU_OP];

export const OPCODE_NAMES: readonly string[] = ['LOAD', 'STORE', 'GEMM', 'FINISH', 'ALU'];
export const MEM_TYPE_NAMES: readonly string[] = ['UOP', 'WGT', 'INP', 'ACC', 'OUT', 'ACC_8BIT'];
export const ALU_OP_NAMES: readonly string[] = ['MIN', 'MAX', 'ADD', 'SHR', 'MUL'];

/** Fixed widths of hw_spec_const.h. */
export const WIDTH = {
  opcode: 3,
  memoryType: 3,
  sramAddr: 16,
  dramAddr: 32,
  size: 16,
  stride: 16,
  pad: 4,
  loopIter: 14,
  aluOpcode: 3,
  aluImm: 16,
} as const;

export type Format = 'mem' | 'gemm' | 'alu' | 'finish' | 'uop';

export interface FieldDef {
  readonly name: string;
  readonly width: (c: VtaConfig) => number;
  /** Two's complement when true (only the ALU immediate). */
  readonly signed?: boolean;
  /** The disassembler leaves the field out when it is zero (pads, loop factors, flags). */
  readonly omitZero?: boolean;
  /** Printed in hexadecimal by the disassembler. */
  readonly hex?: boolean;
  /** Part of the mnemonic rather than a `name=value` operand (opcode, memory_type, alu_opcode). */
  readonly inMnemonic?: boolean;
  /** A dependency flag, printed as a bare word. */
  readonly flag?: boolean;
}

const fixed = (w: number) => (): number => w;
const f = (name: string, width: (c: VtaConfig) => number, opts: Omit<FieldDef, 'name' | 'width'> = {}): FieldDef => ({
  name,
  width,
  ...opts,
});

const HEADER: readonly FieldDef[] = [
  f('opcode', fixed(WIDTH.opcode), { inMnemonic: true }),
  f('pop_prev', fixed(1), { flag: true }),
  f('pop_next', fixed(1), { flag: true }),
  f('push_prev', fixed(1), { flag: true }),
  f('push_next', fixed(1), { flag: true }),
];

/** GEMM and ALU share everything up to and including dst_factor_in. */
const COMPUTE_PREFIX: readonly FieldDef[] = [
  ...HEADER,
  f('reset_reg', fixed(1), { omitZero: true }),
  f('uop_bgn', (c) => c.logUopDepth),
  f('uop_end', (c) => c.logUopDepth + 1),
  f('iter_out', fixed(WIDTH.loopIter)),
  f('iter_in', fixed(WIDTH.loopIter)),
  f('dst_factor_out', (c) => c.logAccDepth, { omitZero: true }),
  f('dst_factor_in', (c) => c.logAccDepth, { omitZero: true }),
];

export const FORMATS: Readonly<Record<Format, readonly FieldDef[]>> = {
  mem: [
    ...HEADER,
    f('memory_type', fixed(WIDTH.memoryType), { inMnemonic: true }),
    f('sram_base', fixed(WIDTH.sramAddr)),
    f('dram_base', fixed(WIDTH.dramAddr), { hex: true }),
    f('y_size', fixed(WIDTH.size)),
    f('x_size', fixed(WIDTH.size)),
    f('x_stride', fixed(WIDTH.stride)),
    f('y_pad_0', fixed(WIDTH.pad), { omitZero: true }),
    f('y_pad_1', fixed(WIDTH.pad), { omitZero: true }),
    f('x_pad_0', fixed(WIDTH.pad), { omitZero: true }),
    f('x_pad_1', fixed(WIDTH.pad), { omitZero: true }),
  ],
  gemm: [
    ...COMPUTE_PREFIX,
    f('src_factor_out', (c) => c.logInpDepth, { omitZero: true }),
    f('src_factor_in', (c) => c.logInpDepth, { omitZero: true }),
    f('wgt_factor_out', (c) => c.logWgtDepth, { omitZero: true }),
    f('wgt_factor_in', (c) => c.logWgtDepth, { omitZero: true }),
  ],
  alu: [
    ...COMPUTE_PREFIX,
    f('src_factor_out', (c) => c.logAccDepth, { omitZero: true }),
    f('src_factor_in', (c) => c.logAccDepth, { omitZero: true }),
    f('alu_opcode', fixed(WIDTH.aluOpcode), { inMnemonic: true }),
    f('use_imm', fixed(1), { omitZero: true }),
    f('imm', fixed(WIDTH.aluImm), { signed: true, omitZero: true }),
  ],
  finish: [...HEADER],
  uop: [
    f('dst_idx', (c) => c.logAccDepth),
    f('src_idx', (c) => Math.max(c.logAccDepth, c.logInpDepth)),
    f('wgt_idx', (c) => c.logWgtDepth),
  ],
};

/** Total bits of each format's container. */
export const FORMAT_BITS: Readonly<Record<Format, number>> = { mem: 128, gemm: 128, alu: 128, finish: 128, uop: 32 };

export interface FieldLayout {
  readonly name: string;
  readonly offset: number;
  readonly width: number;
  readonly signed: boolean;
  readonly def: FieldDef;
}

export interface FormatLayout {
  readonly format: Format;
  readonly fields: readonly FieldLayout[];
  readonly byName: Readonly<Record<string, FieldLayout>>;
  /** Bits that no field covers: they must be zero in a canonical encoding (one mask per 32-bit word). */
  readonly paddingMask: readonly number[];
}

export type Layouts = Readonly<Record<Format, FormatLayout>>;

function layoutFormat(format: Format, cfg: VtaConfig): FormatLayout | string {
  const total = FORMAT_BITS[format];
  const fields: FieldLayout[] = [];
  let pos = 0;
  for (const def of FORMATS[format]) {
    const width = def.width(cfg);
    // A field never straddles a 64-bit word boundary (spec §2.0).
    if (total > 64 && pos < 64 && pos + width > 64) pos = 64;
    if (pos + width > total) {
      return `${format} field ${def.name} (${width} bits) ends at bit ${pos + width}, past the ${total}-bit ${format === 'uop' ? 'micro-op' : 'instruction'}`;
    }
    fields.push({ name: def.name, offset: pos, width, signed: def.signed ?? false, def });
    pos += width;
  }
  const covered = new Array<number>(total / 32).fill(0);
  for (const fl of fields) {
    for (let b = fl.offset; b < fl.offset + fl.width; b++) covered[b >> 5]! |= 1 << (b & 31);
  }
  const paddingMask = covered.map((m) => ~m >>> 0);
  const byName: Record<string, FieldLayout> = {};
  for (const fl of fields) byName[fl.name] = fl;
  return { format, fields, byName, paddingMask };
}

const cache = new WeakMap<VtaConfig, Layouts>();

/**
 * The bit layouts of every format for a config (computed once per config object). A config whose
 * fields do not fit the 128-bit instruction or 32-bit uop is refused here, naming the keys to change.
 */
export function layouts(cfg: VtaConfig): Layouts {
  let l = cache.get(cfg);
  if (!l) {
    const out: Partial<Record<Format, FormatLayout>> = {};
    for (const format of Object.keys(FORMATS) as Format[]) {
      const r = layoutFormat(format, cfg);
      if (typeof r === 'string') throw misfitError(cfg, r);
      out[format] = r;
    }
    l = out as Layouts;
    cache.set(cfg, l);
  }
  return l;
}

function misfitError(cfg: VtaConfig, why: string): ConfigError {
  return new ConfigError(
    `${configSource(cfg)}: ${why}; with LOG_BATCH ${cfg.json.LOG_BATCH}, LOG_BLOCK ${cfg.json.LOG_BLOCK}, ` +
      `LOG_INP_WIDTH ${cfg.json.LOG_INP_WIDTH} and LOG_WGT_WIDTH ${cfg.json.LOG_WGT_WIDTH} the buffer depths ` +
      `(uop 2^${cfg.logUopDepth}, inp 2^${cfg.logInpDepth}, wgt 2^${cfg.logWgtDepth}, acc 2^${cfg.logAccDepth}) ` +
      `need smaller LOG_*_BUFF_SIZE values`,
  );
}

/** Which format an opcode uses. Unknown opcodes (5..7) have none. */
export function formatOfOpcode(opcode: number): Format | undefined {
  switch (opcode) {
    case OPCODE.LOAD:
    case OPCODE.STORE:
      return 'mem';
    case OPCODE.GEMM:
      return 'gemm';
    case OPCODE.ALU:
      return 'alu';
    case OPCODE.FINISH:
      return 'finish';
    default:
      return undefined;
  }
}

/** Element size in bytes of a memory type: the unit of dram_base and x_stride (spec §2.2). */
export function memElemBytes(cfg: VtaConfig, memType: number): number {
  switch (memType) {
    case MEM_TYPE.UOP:
      return cfg.uopElemBytes;
    case MEM_TYPE.WGT:
      return cfg.wgtElemBytes;
    case MEM_TYPE.INP:
      return cfg.inpElemBytes;
    case MEM_TYPE.ACC:
      return cfg.accElemBytes;
    case MEM_TYPE.OUT:
      return cfg.outElemBytes;
    case MEM_TYPE.ACC_8BIT:
      return cfg.accElemBytes / 4;
    default:
      return 0;
  }
}

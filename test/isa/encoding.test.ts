import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig, makeConfig } from '../../config/config.ts';
import {
  ALU_OP,
  MEM_TYPE,
  OPCODE,
  aluInsn,
  assembleInsn,
  assembleUop,
  decodeInsn,
  decodeUop,
  disasmInsn,
  encodeInsn,
  encodeUop,
  finishInsn,
  gemmInsn,
  insnFromWords,
  insnWordsHex,
  layouts,
  memInsn,
  type Insn,
} from '../../isa/index.ts';

const cfg = defaultVtaConfig();

const hex64 = (b: Uint8Array) => insnWordsHex(b);
const words = (w0: bigint, w1: bigint): [string, string] => [
  '0x' + w0.toString(16).padStart(16, '0'),
  '0x' + w1.toString(16).padStart(16, '0'),
];

// Spec §2.7: encodings produced by compiling hw_spec.h with the default config.
const VECTORS: [string, Insn, bigint, bigint][] = [
  [
    'LOAD UOP',
    memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.UOP, dram_base: 0x400, y_size: 1, x_size: 4, x_stride: 4 }),
    0x0000001000000000n,
    0x0000000400040001n,
  ],
  [
    'LOAD INP padded',
    memInsn({
      opcode: OPCODE.LOAD,
      memory_type: MEM_TYPE.INP,
      pop_next: 1,
      sram_base: 5,
      dram_base: 0x203,
      y_size: 4,
      x_size: 4,
      x_stride: 16,
      y_pad_0: 1,
      y_pad_1: 1,
      x_pad_0: 1,
      x_pad_1: 1,
    }),
    0x000000080c001510n,
    0x1111001000040004n,
  ],
  [
    'STORE OUT',
    memInsn({
      opcode: OPCODE.STORE,
      memory_type: MEM_TYPE.OUT,
      pop_prev: 1,
      push_prev: 1,
      dram_base: 0x300,
      y_size: 1,
      x_size: 8,
      x_stride: 8,
    }),
    0x0000000c00000229n,
    0x0000000800080001n,
  ],
  [
    'GEMM',
    gemmInsn({
      pop_prev: 1,
      push_prev: 1,
      uop_bgn: 0,
      uop_end: 1,
      iter_out: 4,
      iter_in: 4,
      dst_factor_in: 1,
      src_factor_out: 1,
      wgt_factor_out: 1,
      wgt_factor_in: 4,
    }),
    0x000800200020002an,
    0x0100100000400800n,
  ],
  [
    'ALU SHR imm',
    aluInsn({
      alu_opcode: ALU_OP.SHR,
      use_imm: 1,
      imm: -3,
      uop_bgn: 1,
      uop_end: 2,
      iter_out: 1,
      iter_in: 8,
      dst_factor_in: 1,
      src_factor_in: 1,
    }),
    0x0010000800400104n,
    0xfffdb00200000800n,
  ],
  ['FINISH', finishInsn(), 0x3n, 0n],
  [
    'compute NOP',
    memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.UOP, pop_prev: 1, pop_next: 1 }),
    0x18n,
    0n,
  ],
];

describe('spec §2.7 worked encodings', () => {
  for (const [name, insn, w0, w1] of VECTORS) {
    it(`encodes ${name}`, () => {
      expect(hex64(encodeInsn(cfg, insn))).toEqual(words(w0, w1));
    });
    it(`decodes ${name} back to the same fields`, () => {
      expect(decodeInsn(cfg, insnFromWords(w0, w1))).toEqual(insn);
    });
    it(`disassembles ${name} to text that assembles to the same bytes`, () => {
      const bytes = insnFromWords(w0, w1);
      const text = disasmInsn(cfg, bytes);
      expect(assembleInsn(cfg, text)).toEqual(bytes);
    });
  }

  it('encodes the uop dst 3, src 5, wgt 7 as 0x01c02803', () => {
    const u = { dst_idx: 3, src_idx: 5, wgt_idx: 7 };
    expect(encodeUop(cfg, u)).toBe(0x01c02803);
    expect(decodeUop(cfg, 0x01c02803)).toEqual(u);
    expect(encodeUop(cfg, assembleUopText())).toBe(0x01c02803);
  });
});

function assembleUopText() {
  return decodeUop(cfg, assembleUop(cfg, 'uop dst_idx=3 src_idx=5 wgt_idx=7'));
}

describe('field layout follows the §2.0 packing rule', () => {
  it('moves y_size to bit 64 for memory instructions and dst_factor_out for GEMM/ALU', () => {
    const l = layouts(cfg);
    expect(l.mem.byName.y_size!.offset).toBe(64);
    expect(l.mem.byName.dram_base!.offset).toBe(26);
    expect(l.gemm.byName.dst_factor_out!.offset).toBe(64);
    expect(l.gemm.byName.wgt_factor_in!.offset).toBe(118);
    expect(l.alu.byName.imm!.offset).toBe(112);
    expect(l.uop.byName.wgt_idx!.offset).toBe(22);
  });

  it('derives narrower fields for a LOG_BATCH 1, LOG_BLOCK 3 config', () => {
    const c = loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname);
    expect(c.batch).toBe(2);
    expect(c.blockIn).toBe(8);
    const l = layouts(c);
    expect(l.gemm.byName.uop_end!.width).toBe(c.logUopDepth + 1);
    expect(l.uop.byName.src_idx!.width).toBe(Math.max(c.logAccDepth, c.logInpDepth));
  });

  it('refuses a config whose fields do not fit the 128-bit instruction', () => {
    const raw = { ...cfg.json, LOG_BLOCK: 3 };
    // config/ sits below isa/: the ISA refuses the config the first time it lays out its fields.
    expect(() => layouts(makeConfig(raw, 'cfg.json'))).toThrow(/past the 128-bit instruction; .* need smaller LOG_\*_BUFF_SIZE values/);
    expect(() => layouts(makeConfig(raw, 'cfg.json'))).toThrow(/^cfg\.json: /);
  });
});

describe('round trips over random valid instructions', () => {
  it('decode(encode(x)) == x and asm(disasm(x)) == encode(x)', () => {
    let seed = 12345;
    const rnd = (bits: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const r = (seed >>> 8) / 2 ** 24;
      return Math.floor(r * 2 ** bits);
    };
    for (let n = 0; n < 2000; n++) {
      const opcode = [0, 1, 2, 3, 4][rnd(8) % 5]!;
      const fmt = opcode <= 1 ? 'mem' : opcode === 2 ? 'gemm' : opcode === 4 ? 'alu' : 'finish';
      const fields: Record<string, number> = {};
      for (const fl of layouts(cfg)[fmt].fields) {
        let v = rnd(fl.width);
        if (fl.signed) v -= 2 ** (fl.width - 1);
        fields[fl.name] = v;
      }
      fields.opcode = opcode;
      if (fmt === 'mem') fields.memory_type = rnd(8) % 6;
      if (fmt === 'alu') fields.alu_opcode = rnd(8) % 5;
      const insn = fields as unknown as Insn;
      const bytes = encodeInsn(cfg, insn);
      expect(decodeInsn(cfg, bytes)).toEqual(insn);
      expect(assembleInsn(cfg, disasmInsn(cfg, bytes))).toEqual(bytes);
    }
  });

  it('prints non-canonical bytes as .insn and assembles them back', () => {
    const bytes = insnFromWords(0x7n, 0xdeadbeefn);
    const text = disasmInsn(cfg, bytes);
    expect(text).toMatch(/^\.insn /);
    expect(assembleInsn(cfg, text)).toEqual(bytes);
  });
});

describe('assembler errors name the line and the problem', () => {
  it.each([
    ['gemm uop_bgn=9000', /uop_bgn = 9000 does not fit in 13 bits/],
    ['load.foo x_size=1', /unknown mnemonic 'load.foo'/],
    ['gemm bogus=1', /unknown gemm field 'bogus'/],
    ['gemm iter_in=1 iter_in=2', /iter_in given twice/],
    ['alu.add imm=abc', /not a number/],
    ['alu.add imm=40000', /imm = 40000 does not fit/],
  ])('%s', (line, re) => {
    expect(() => assembleInsn(cfg, line, 'prog.s:3')).toThrow(re);
    expect(() => assembleInsn(cfg, line, 'prog.s:3')).toThrow(/^prog\.s:3: /);
  });
});

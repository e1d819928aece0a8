/**
 * Assembler: the inverse of disasm.ts. Each non-empty line (after `#` comments) is one instruction
 * `MNEMONIC [flags] field=value ...` or a raw `.insn W0 W1`; fields not given are zero. Values may
 * be decimal, negative, or 0x-hex. Every error names the line and what is wrong with it.
 */
import type { VtaConfig } from '../config/config.ts';
import { VtaError } from '../lib/errors.ts';
import { type Insn, type Uop, EncodingError, encodeInsn, encodeUop, insnFromWords } from './encoding.ts';
import { ALU_OP_NAMES, type Format, MEM_TYPE_NAMES, OPCODE, OPCODE_NAMES, formatOfOpcode, layouts } from './fields.ts';
import { byName } from '../lib/named.ts';

export class AsmError extends VtaError {
  constructor(message: string) {
    super('E_ASM', message);
  }
}

function parseNumber(text: string): number | undefined {
  if (/^-?0x[0-9a-f]+$/i.test(text)) {
    const neg = text.startsWith('-');
    const v = parseInt(text.slice(neg ? 3 : 2), 16);
    return neg ? -v : v;
  }
  if (/^-?\d+$/.test(text)) return parseInt(text, 10);
  return undefined;
}

/** Split a mnemonic into the fields it fixes: opcode, and memory_type or alu_opcode. */
function parseMnemonic(m: string): Record<string, number> | undefined {
  const [op, sub, extra] = m.toLowerCase().split('.');
  if (extra !== undefined || op === undefined) return undefined;
  const opcode = OPCODE_NAMES.findIndex((n) => n.toLowerCase() === op);
  if (opcode < 0) return undefined;
  if (opcode === OPCODE.LOAD || opcode === OPCODE.STORE) {
    const t = MEM_TYPE_NAMES.findIndex((n) => n.toLowerCase() === sub);
    return t < 0 ? undefined : { opcode, memory_type: t };
  }
  if (opcode === OPCODE.ALU) {
    const a = ALU_OP_NAMES.findIndex((n) => n.toLowerCase() === sub);
    return a < 0 ? undefined : { opcode, alu_opcode: a };
  }
  return sub === undefined ? { opcode } : undefined;
}

const MNEMONICS =
  'load.{uop,wgt,inp,acc,acc_8bit}, store.out, gemm, alu.{min,max,add,shr,mul}, finish, .insn';

function parseOperands(tokens: string[], format: Format, cfg: VtaConfig, fixed: Record<string, number>, where: string) {
  const layout = layouts(cfg)[format];
  const fields: Record<string, number> = { ...fixed };
  for (const tok of tokens) {
    const eq = tok.indexOf('=');
    const name = eq < 0 ? tok : tok.slice(0, eq);
    const fl = byName(layout.byName, name);
    if (!fl || fl.def.inMnemonic) {
      const known = layout.fields.filter((x) => !x.def.inMnemonic).map((x) => x.name);
      throw new AsmError(`${where}: unknown ${format} field '${name}' (fields: ${known.join(', ')})`);
    }
    if (name in fields) throw new AsmError(`${where}: field ${name} given twice`);
    let value: number | undefined;
    if (eq < 0) {
      if (!fl.def.flag) throw new AsmError(`${where}: field ${name} needs a value (${name}=N)`);
      value = 1;
    } else {
      value = parseNumber(tok.slice(eq + 1));
      if (value === undefined) throw new AsmError(`${where}: field ${name} has value '${tok.slice(eq + 1)}', not a number`);
    }
    fields[name] = value;
  }
  return fields;
}

/** Assemble one instruction line into 16 bytes. `where` prefixes error messages (file:line). */
export function assembleInsn(cfg: VtaConfig, line: string, where = 'line'): Uint8Array {
  const tokens = line.trim().split(/\s+/).filter(Boolean);
  const head = tokens.shift();
  if (!head) throw new AsmError(`${where}: empty instruction`);
  if (head === '.insn') {
    const w = tokens.map((t) => (/^0x[0-9a-f]{1,16}$/i.test(t) ? BigInt(t) : undefined));
    if (w.length !== 2 || w.some((x) => x === undefined)) {
      throw new AsmError(`${where}: .insn takes two 64-bit hex words, e.g. .insn 0x3 0x0`);
    }
    return insnFromWords(w[0]!, w[1]!);
  }
  const fixed = parseMnemonic(head);
  if (!fixed) throw new AsmError(`${where}: unknown mnemonic '${head}' (known: ${MNEMONICS})`);
  const format = formatOfOpcode(fixed.opcode!)!;
  const fields = parseOperands(tokens, format, cfg, fixed, where);
  try {
    return encodeInsn(cfg, fields as unknown as Insn);
  } catch (e) {
    if (e instanceof EncodingError) throw new AsmError(`${where}: ${e.message}`);
    throw e;
  }
}

/** Assemble one `uop dst_idx=.. src_idx=.. wgt_idx=..` line into its 32-bit word. */
export function assembleUop(cfg: VtaConfig, line: string, where = 'line'): number {
  const tokens = line.trim().split(/\s+/).filter(Boolean);
  if (tokens.shift() !== 'uop') throw new AsmError(`${where}: a micro-op line starts with 'uop'`);
  const fields = parseOperands(tokens, 'uop', cfg, {}, where);
  try {
    return encodeUop(cfg, fields as unknown as Uop);
  } catch (e) {
    if (e instanceof EncodingError) throw new AsmError(`${where}: ${e.message}`);
    throw e;
  }
}

/** Assemble a program text (one instruction per line, `#` comments) into a contiguous byte stream. */
export function assembleProgram(cfg: VtaConfig, text: string, file = 'input'): Uint8Array {
  const chunks: Uint8Array[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line) chunks.push(assembleInsn(cfg, line, `${file}:${i + 1}`));
  });
  const out = new Uint8Array(chunks.length * 16);
  chunks.forEach((c, i) => out.set(c, i * 16));
  return out;
}

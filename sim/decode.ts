/**
 * A fast instruction decoder for the run loop: per config, one function per format generated from
 * the ISA field table (isa/fields.ts layouts), reading the four 32-bit words once and building an
 * object literal of a fixed shape. It gives exactly what isa/encoding.ts `decodeInsn` gives (the
 * tests compare them on every conformance instruction); the generic decoder stays the reference.
 */
import type { VtaConfig } from '../config/config.ts';
import { EncodingError, type Format, type Insn, formatOfOpcode, layouts } from '../isa/index.ts';

type FormatDecoder = (w0: number, w1: number, w2: number, w3: number) => Insn;

/** The JS expression of one field from words w0..w3 (a field spans at most two words). */
function fieldExpr(offset: number, width: number, signed: boolean): string {
  const word = offset >>> 5;
  const shift = offset & 31;
  const mask = width === 32 ? '' : ` & ${(2 ** width - 1) >>> 0}`;
  let v = shift + width > 32 ? `((w${word} >>> ${shift}) | (w${word + 1} << ${32 - shift}))` : `(w${word} >>> ${shift})`;
  v = `((${v}${mask}) >>> 0)`;
  if (signed) v = `((${v} << ${32 - width}) >> ${32 - width})`;
  return v;
}

const cache = new WeakMap<VtaConfig, Partial<Record<Format, FormatDecoder>>>();

function decoderFor(cfg: VtaConfig, format: Format): FormatDecoder {
  let byFormat = cache.get(cfg);
  if (!byFormat) cache.set(cfg, (byFormat = {}));
  let d = byFormat[format];
  if (!d) {
    const fields = layouts(cfg)[format].fields.map((f) => `${f.name}: ${fieldExpr(f.offset, f.width, f.signed)}`);
    d = new Function('w0', 'w1', 'w2', 'w3', `return { ${fields.join(', ')} };`) as FormatDecoder;
    byFormat[format] = d;
  }
  return d;
}

/** Decode instruction `index` of a little-endian stream; unknown opcodes throw EncodingError. */
export function decodeStreamInsn(cfg: VtaConfig, words: Uint32Array, index: number): Insn {
  const at = index * 4;
  const w0 = words[at]!;
  const format = formatOfOpcode(w0 & 7);
  if (!format) throw new EncodingError(`unknown opcode ${w0 & 7}`);
  return decoderFor(cfg, format)(w0, words[at + 1]!, words[at + 2]!, words[at + 3]!);
}

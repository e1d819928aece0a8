/**
 * The .vtapkg artifact: a compiled model that runs at any DRAM base on any driver.
 *
 *   bytes 0..7    magic "VTAPKG01"
 *   bytes 8..11   u32 LE: length J of the JSON header
 *   bytes 12..    JSON header (UTF-8): { "format": "vtapkg/1", "model": <CompiledModel without the
 *                 two images>, "sections": { "code": [offset, bytes], "const": [offset, bytes] } }
 *   sections      the code image (instructions, then uop images) and the constant image, each
 *                 starting at a 64-byte aligned file offset
 * Instruction dram_base fields are relative to their segment; `model.relocs` lists, per
 * instruction index, the segment to add (segment base / element size of the memory type).
 * docs/compiler.md describes every field.
 */
import { makeConfig } from '../config/config.ts';
import type { CompiledModel } from './compile.ts';
import { compileError } from './errors.ts';
import { SEGMENTS } from './memplan.ts';

const MAGIC = 'VTAPKG01';
const ALIGN = 64;

export function writePackage(model: CompiledModel): Uint8Array {
  const { code, constImage, ...meta } = model;
  const sections: Record<string, [number, number]> = {};
  // Two passes: section offsets depend on the header length, which depends on the offsets.
  let header = '';
  let start = 0;
  for (let pass = 0; pass < 3; pass++) {
    start = Math.ceil((12 + Buffer.byteLength(header)) / ALIGN) * ALIGN;
    const codeAt = start;
    const constAt = Math.ceil((codeAt + code.length) / ALIGN) * ALIGN;
    sections.code = [codeAt, code.length];
    sections.const = [constAt, constImage.length];
    header = JSON.stringify({ format: 'vtapkg/1', model: meta, sections });
  }
  const headerBytes = Buffer.from(header, 'utf8');
  if (Math.ceil((12 + headerBytes.length) / ALIGN) * ALIGN !== sections.code![0]) throw new Error('vtapkg header layout did not converge');
  const total = sections.const![0] + constImage.length;
  const out = new Uint8Array(total);
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  new DataView(out.buffer).setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 12);
  out.set(code, sections.code![0]);
  out.set(constImage, sections.const![0]);
  return out;
}

/** Parse and check a .vtapkg; `where` names the file in errors. */
export function readPackage(bytes: Uint8Array, where = 'package'): CompiledModel {
  const bad = (why: string) => compileError('E_PACKAGE', where, why);
  if (bytes.length < 12 || Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== MAGIC) throw bad('not a .vtapkg file (bad magic)');
  const hlen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + hlen > bytes.length) throw bad('header runs past the end of the file');
  let h: { format?: unknown; model?: Omit<CompiledModel, 'code' | 'constImage'>; sections?: Record<string, [number, number]> };
  try {
    h = JSON.parse(Buffer.from(bytes.subarray(12, 12 + hlen)).toString('utf8'));
  } catch (e) {
    throw bad(`header is not valid JSON (${(e as Error).message})`);
  }
  if (h.format !== 'vtapkg/1') throw bad(`format must be "vtapkg/1" (got ${JSON.stringify(h.format)})`);
  const m = h.model;
  if (!m || m.format !== 'vta-compiled/1') throw bad('model section is missing or not vta-compiled/1');
  const section = (name: string): Uint8Array => {
    const s = h.sections?.[name];
    if (!Array.isArray(s) || s.length !== 2 || !s.every((v) => Number.isInteger(v) && v >= 0) || s[0] + s[1] > bytes.length) {
      throw bad(`section ${name} is missing or outside the file`);
    }
    return bytes.slice(s[0], s[0] + s[1]);
  };
  const code = section('code');
  const constImage = section('const');
  makeConfig(m.config, `${where}: config`);
  if (!Number.isInteger(m.insnCount) || m.insnCount * 16 > code.length) throw bad(`insnCount ${m.insnCount} exceeds the code section`);
  for (const s of SEGMENTS) if (!Number.isInteger(m.segments?.[s]) || m.segments[s] < 0) throw bad(`segment size of ${s} is missing`);
  if (constImage.length > m.segments.const || code.length > m.segments.code) throw bad('an image is larger than its segment');
  for (const [i, seg] of m.relocs ?? []) {
    if (!Number.isInteger(i) || i < 0 || i >= m.insnCount || !SEGMENTS.includes(seg)) throw bad(`relocation [${i}, ${seg}] is invalid`);
  }
  for (const k of m.kernels ?? []) {
    if (k.insnStart < 0 || k.insnStart + k.insnCount > m.insnCount) throw bad(`kernel ${k.name} lies outside the instruction stream`);
    if (!Number.isInteger(k.work) || k.work < k.insnCount) throw bad(`kernel ${k.name} has no valid work bound`);
  }
  return { ...m, code, constImage } as CompiledModel;
}

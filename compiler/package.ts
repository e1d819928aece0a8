/**
 * The .vtapkg artifact: a compiled model that runs at any DRAM base on any driver.
 *
 *   bytes 0..7    magic "VTAPKG02"
 *   bytes 8..11   u32 LE: length J of the JSON header
 *   bytes 12..    JSON header (UTF-8): { "format": "vtapkg/1", "model": <CompiledModel without the
 *                 two images, its `types` as [tensor, {shape, dtype}] pairs, each graph constant's
 *                 `data` as {offset, bytes} in the tensors section>,
 *                 "sections": { "code": [offset, bytes], "tensors": [offset, bytes], "const": [offset, bytes] },
 *                 "sha256": { "model": hex, "code": hex, "tensors": hex, "const": hex } }
 *   sections      the code image (instructions, then uop images), the graph's constants (each one's
 *                 little-endian bytes, 8-byte aligned in the section) and the constant image, each
 *                 section starting at a 64-byte aligned file offset
 * Container VTAPKG01 (before constants were binary) held each graph constant as base64 in the
 * header and had no tensors section; it is still read.
 * `sha256` holds the digest of each section and of the model (as JSON.stringify writes it), checked
 * on read so that a corrupted image is refused instead of running to wrong results. A package
 * written before it existed has no `sha256` field and is read unchecked.
 * Instruction dram_base fields are relative to their segment; `model.relocs` lists, per
 * instruction index, the segment to add (segment base / element size of the memory type).
 * docs/compiler.md describes every field. A package without `types` (written before models
 * carried them) is still read: its types are inferred from its graph.
 *
 * Format `vtapkg/2` is the same layout for a narrow config (LOG_INP_WIDTH or LOG_WGT_WIDTH < 3):
 * its constant image holds weights and constant operands packed at the config's widths
 * (isa/elements.ts), which a `vtapkg/1` reader would take for bytes. An 8-bit model is still
 * written as `vtapkg/1`, byte for byte as before; the reader takes both.
 */
import { DTYPES, isDType } from '../lib/dtype.ts';
import { makeConfig, type VtaConfig, type VtaConfigJson } from '../config/config.ts';
import { OPCODE } from '../isa/index.ts';
import { VtaError } from '../lib/errors.ts';
import { byName, hasName, nameRecord, setName } from '../lib/named.ts';
import type { CompiledModel, KernelInfo, ModelStep } from './model.ts';
import { compileError } from './errors.ts';
import type { Graph, TensorType, TensorTypes } from '../graph/ir.ts';
import { decodeConst, inferNodeType, inferShapes, makeConst, validateGraph } from '../graph/load.ts';
import { DTYPE_INFO } from '../lib/dtype.ts';
import { SEGMENTS, type SegmentName } from './memplan.ts';
import { gridTiles, im2colShape, tileGrid } from './pack.ts';
import { describeValue } from '../lib/describe-value.ts';
import { createHash } from 'node:crypto';

const MAGIC = 'VTAPKG02';
/** The previous container: graph constants inline in the header as base64. */
const MAGIC_BASE64 = 'VTAPKG01';
const FORMATS = ['vtapkg/1', 'vtapkg/2'];

/** vtapkg/2 for a model whose constants are packed below 8 bits, vtapkg/1 otherwise. */
const formatFor = (config: VtaConfigJson): string => (config.LOG_INP_WIDTH < 3 || config.LOG_WGT_WIDTH < 3 ? 'vtapkg/2' : 'vtapkg/1');
const ALIGN = 64;

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** The tensors section as the graph's constants and where each one starts in it (zeros between). */
interface TensorsSection {
  size: number;
  parts: { offset: number; bytes: Uint8Array }[];
}

/**
 * The header's model section (the model without its images, types as a list: names are data), its
 * graph's constants as {offset, bytes} in `tensors`, their bytes one after another.
 */
function headerModel(model: CompiledModel): { meta: Json; tensors: TensorsSection } {
  const { code: _code, constImage: _constImage, types, graph, ...meta } = model;
  const entries = Object.entries(graph.tensors).map(([name, t]) => [name, t, decodeConst(name, t)] as const);
  let size = 0;
  const parts: TensorsSection['parts'] = [];
  const placed = entries.map(([name, t, values]) => {
    const offset = size;
    size = Math.ceil((offset + values.byteLength) / TENSOR_ALIGN) * TENSOR_ALIGN;
    parts.push({ offset, bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
    return [name, { shape: t.shape, dtype: t.dtype, data: { offset, bytes: values.byteLength } }] as const;
  });
  return { meta: { ...meta, graph: { ...graph, tensors: Object.fromEntries(placed) }, types: [...types] }, tensors: { size, parts } };
}

/** The tensors section's bytes, written into `out` at `at` (a new array by default). */
function layTensors(t: TensorsSection, out = new Uint8Array(t.size), at = 0): Uint8Array {
  for (const p of t.parts) out.set(p.bytes, at + p.offset);
  return out;
}

/** The sha256 of the tensors section, from its parts (the section need not exist as one array). */
function tensorsDigest(t: TensorsSection): string {
  const hash = createHash('sha256');
  // Each gap is the padding up to the next TENSOR_ALIGN boundary: shorter than TENSOR_ALIGN.
  const zeros = new Uint8Array(TENSOR_ALIGN);
  let at = 0;
  for (const p of t.parts) {
    hash.update(zeros.subarray(0, p.offset - at));
    hash.update(p.bytes);
    at = p.offset + p.bytes.length;
  }
  hash.update(zeros.subarray(0, t.size - at));
  return hash.digest('hex');
}

/** Alignment of each constant in the tensors section: every element type reads as a typed view. */
const TENSOR_ALIGN = 8;

/**
 * The header's graph with each constant's {offset, bytes} replaced by its values, typed views on
 * `tensors` (the reader's own copy, or the bytes handed over). A reference that does not fit is refused, naming the tensor;
 * anything else wrong is left for the graph's check to refuse.
 */
function withTensorData(graph: unknown, tensors: Uint8Array, bad: (why: string) => Error): unknown {
  if (!isObject(graph) || !isObject(graph.tensors)) return graph;
  const resolved = Object.entries(graph.tensors).map(([name, t]) => {
    if (!isObject(t) || typeof t.dtype !== 'string' || !isDType(t.dtype) || !Array.isArray(t.shape) || !t.shape.every(isCount)) return [name, t];
    const at = `model.graph.tensors[${JSON.stringify(name)}].data`;
    const ref = t.data;
    if (!isObject(ref) || !isCount(ref.offset) || !isCount(ref.bytes)) throw bad(`${at} must be {offset, bytes} in the tensors section`);
    const size = DTYPE_INFO[t.dtype].bytes;
    const want = (t.shape as number[]).reduce((a, b) => a * b, 1) * size;
    if (ref.bytes !== want) throw bad(`${at} holds ${ref.bytes} bytes but ${t.dtype}[${t.shape.join(',')}] needs ${want}`);
    if (ref.offset % size !== 0 || ref.offset + ref.bytes > tensors.length) throw bad(`${at} lies outside the tensors section or is not aligned`);
    const bytes = tensors.subarray(ref.offset, ref.offset + ref.bytes);
    const values = t.dtype === 'int8' ? new Int8Array(bytes.buffer, bytes.byteOffset, ref.bytes)
      : t.dtype === 'uint8' ? bytes
      : t.dtype === 'int32' ? new Int32Array(bytes.buffer, bytes.byteOffset, ref.bytes / 4)
      : new Float32Array(bytes.buffer, bytes.byteOffset, ref.bytes / 4);
    return [name, makeConst(t.shape as number[], t.dtype, values)];
  });
  return { ...graph, tensors: Object.fromEntries(resolved) };
}

export function writePackage(model: CompiledModel): Uint8Array {
  const parts = packageParts(model);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The bytes of writePackage as consecutive pieces, most of them the model's own arrays: a writer
 * that takes them one by one (lib/files.ts writeFileAtomic) needs no copy of the whole package.
 */
export function packageParts(model: CompiledModel): Uint8Array[] {
  const { code, constImage } = model;
  const { meta, tensors } = headerModel(model);
  const sections: Record<string, [number, number]> = {};
  const digests = { model: sha256(JSON.stringify(meta)), code: sha256(code), tensors: tensorsDigest(tensors), const: sha256(constImage) };
  // Two passes: section offsets depend on the header length, which depends on the offsets.
  let header = '';
  let start = 0;
  for (let pass = 0; pass < 3; pass++) {
    start = Math.ceil((12 + Buffer.byteLength(header)) / ALIGN) * ALIGN;
    const codeAt = start;
    const tensorsAt = Math.ceil((codeAt + code.length) / ALIGN) * ALIGN;
    const constAt = Math.ceil((tensorsAt + tensors.size) / ALIGN) * ALIGN;
    sections.code = [codeAt, code.length];
    sections.tensors = [tensorsAt, tensors.size];
    sections.const = [constAt, constImage.length];
    header = JSON.stringify({ format: formatFor(model.config), model: meta, sections, sha256: digests });
  }
  const headerBytes = Buffer.from(header, 'utf8');
  if (Math.ceil((12 + headerBytes.length) / ALIGN) * ALIGN !== sections.code![0]) throw new Error('vtapkg header layout did not converge');
  // Magic, header length, header, zeros up to the code section.
  const head = new Uint8Array(sections.code![0]);
  head.set(Buffer.from(MAGIC, 'latin1'), 0);
  new DataView(head.buffer).setUint32(8, headerBytes.length, true);
  head.set(headerBytes, 12);
  const parts: Uint8Array[] = [head];
  let at = head.length;
  const put = (offset: number, bytes: Uint8Array) => {
    if (offset > at) parts.push(new Uint8Array(offset - at));
    parts.push(bytes);
    at = offset + bytes.length;
  };
  put(sections.code![0], code);
  for (const p of tensors.parts) put(sections.tensors![0] + p.offset, p.bytes);
  put(sections.tensors![0] + tensors.size, new Uint8Array(0));
  put(sections.const![0], constImage);
  return parts;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * Parse and check a .vtapkg; `where` names the file in errors. Every field that loading, running,
 * checking or disassembling reads is checked here, so a corrupted header is one E_PACKAGE line
 * naming the field rather than a crash somewhere downstream. With `adopt`, the caller hands `bytes`
 * over (a buffer of its own, never changed afterwards, starting 8-byte aligned): the model's images
 * and constants are views on it instead of copies.
 */
export function readPackage(bytes: Uint8Array, where = 'package', { adopt = false } = {}): CompiledModel {
  const views = adopt && bytes.byteOffset % 8 === 0;
  const bad = (why: string) => compileError('E_PACKAGE', where, why);
  const magic = bytes.length < 12 ? '' : Buffer.from(bytes.subarray(0, 8)).toString('latin1');
  if (/^VTAPKG\d\d$/.test(magic) && magic !== MAGIC && magic !== MAGIC_BASE64) throw bad(`container ${magic} is not supported (this reader takes ${MAGIC} and ${MAGIC_BASE64}: use a newer vta)`);
  if (magic !== MAGIC && magic !== MAGIC_BASE64) throw bad('not a .vtapkg file (bad magic)');
  const hlen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + hlen > bytes.length) throw bad('header runs past the end of the file');
  let h: unknown;
  try {
    h = JSON.parse(Buffer.from(bytes.subarray(12, 12 + hlen)).toString('utf8'));
  } catch (e) {
    throw bad(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(h)) throw bad('header must be a JSON object');
  if (!FORMATS.includes(h.format as string)) throw bad(`format must be one of ${FORMATS.map((f) => `"${f}"`).join(', ')} (got ${describeValue(h.format)})`);
  const m = h.model;
  if (!isObject(m) || m.format !== 'vta-compiled/1') throw bad('model section is missing or not vta-compiled/1');
  const verify = digestCheck(h, bad);
  verify('model', JSON.stringify(m));
  const section = (name: string): Uint8Array => {
    const s = isObject(h.sections) ? h.sections[name] : undefined;
    const [offset, size] = Array.isArray(s) && s.length === 2 ? s : [];
    if (!isCount(offset) || !isCount(size) || offset + size > bytes.length) throw bad(`section ${name} is missing or outside the file`);
    // A copy unless the caller gave `bytes` away: a Buffer's slice() shares its memory (and Node's
    // pool), and the model must own its images whatever the caller does with the bytes it passed.
    const part = bytes.subarray(offset, offset + size);
    return verify(name, views ? part : new Uint8Array(part));
  };
  const code = section('code');
  const constImage = section('const');
  const cfg = makeConfig(m.config as VtaConfigJson, `${where}: config`);
  if (h.format !== formatFor(cfg.json)) throw bad(`format is ${describeValue(h.format)} but its config (${cfg.bitstream}) needs "${formatFor(cfg.json)}"`);
  const graph = magic === MAGIC_BASE64 ? m.graph : withTensorData(m.graph, section('tensors'), bad);
  const model = checkModel({ ...m, graph }, cfg, code, constImage, bad);
  return { ...model, code, constImage };
}

/**
 * The check of one part against the header's `sha256` digests: a no-op for a package written
 * before they existed (no `sha256` field), a refusal naming the part when its digest differs.
 */
function digestCheck(h: Json, bad: (why: string) => Error): <T extends Uint8Array | string>(part: string, content: T) => T {
  if (h.sha256 === undefined) return (_part, content) => content;
  const digests = h.sha256;
  if (!isObject(digests)) throw bad('sha256 must be an object of hex digests');
  return (part, content) => {
    const want = digests[part];
    if (typeof want !== 'string') throw bad(`sha256 has no digest for ${part}`);
    if (sha256(content) !== want) throw bad(`${part === 'model' ? 'the model header' : `section ${part}`} fails its sha256 check: the file is corrupted`);
    return content;
  };
}

/**
 * `model.types`: a [tensor, {shape, dtype}] pair for every tensor of the graph, the inputs' and
 * constants' as declared and each node's output as the node's rule gives from its input types.
 */
function readTypes(raw: unknown, graph: Graph, bad: (why: string) => Error): TensorTypes {
  if (!Array.isArray(raw)) throw bad('model.types must be a list of [tensor, {shape, dtype}] pairs');
  const given: TensorTypes = new Map();
  for (const [n, entry] of raw.entries()) {
    const [name, t] = Array.isArray(entry) && entry.length === 2 ? entry : [];
    const ok = isName(name) && isObject(t) && isDType(t.dtype) && Array.isArray(t.shape) && t.shape.every((d) => isCount(d) && d > 0);
    if (!ok) throw bad(`model.types[${n}] must be [tensor, {shape: [positive integers], dtype: ${DTYPES.map((d) => `"${d}"`).join(' | ')}}] (got ${describeValue(entry)})`);
    given.set(name, { shape: t.shape as number[], dtype: t.dtype as TensorType['dtype'] });
  }
  const same = (a: TensorType, b: TensorType) => a.dtype === b.dtype && a.shape.join(',') === b.shape.join(',');
  const expect = (tensor: string, want: TensorType) => {
    const got = given.get(tensor);
    if (!got) throw bad(`model.types has no type for tensor ${tensor}`);
    if (!same(got, want)) throw bad(`model.types: ${tensor} is ${got.dtype}[${got.shape}], the graph makes it ${want.dtype}[${want.shape}]`);
  };
  for (const i of graph.inputs) expect(i.name, i);
  for (const [name, c] of Object.entries(graph.tensors)) expect(name, c);
  for (const node of graph.nodes) expect(node.output, inferNodeType(node, given));
  return given;
}

/**
 * Why a compiled model fails the checks readPackage makes, or undefined: the IR check of the
 * link pass (a model the compiler produces must load from its own package).
 */
export function checkPackagedModel(model: CompiledModel): string | undefined {
  try {
    const cfg = makeConfig(model.config, 'compiled model');
    const { meta, tensors } = headerModel(model);
    const bad = (why: string) => new Error(why);
    const m = JSON.parse(JSON.stringify(meta)) as Json;
    checkModel({ ...m, graph: withTensorData(m.graph, layTensors(tensors), bad) }, cfg, model.code, model.constImage, bad);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The model section's fields, checked against each other and against the two images. */
function checkModel(m: Json, cfg: VtaConfig, code: Uint8Array, constImage: Uint8Array, bad: (why: string) => Error): Omit<CompiledModel, 'code' | 'constImage'> {
  const list = (field: string): unknown[] => {
    const v = m[field];
    if (!Array.isArray(v)) throw bad(`model.${field} must be a list`);
    return v;
  };
  const record = (field: string): Json => {
    const v = m[field];
    if (!isObject(v)) throw bad(`model.${field} must be an object`);
    return v;
  };
  const count = (field: string, v: unknown): number => {
    if (!isCount(v)) throw bad(`${field} must be a non-negative integer (got ${describeValue(v)})`);
    return v;
  };

  let graph: Graph;
  try {
    graph = validateGraph(m.graph);
  } catch (e) {
    if (e instanceof VtaError) throw bad(`model.graph: ${e.message.replace(/^model: /, '')}`);
    throw e;
  }
  const types = m.types === undefined ? inferShapes(graph) : readTypes(m.types, graph, bad);
  const nodeNames = new Set(graph.nodes.map((n) => n.name));

  const insnCount = count('model.insnCount', m.insnCount);
  if (insnCount * cfg.insnBytes > code.length) throw bad(`model.insnCount ${insnCount} exceeds the code section`);

  const rawSegments = record('segments');
  const segments = {} as Record<SegmentName, number>;
  for (const s of SEGMENTS) segments[s] = count(`model.segments.${s}`, rawSegments[s]);
  if (constImage.length > segments.const || code.length > segments.code) throw bad('an image is larger than its segment');

  const buffers: CompiledModel['buffers'] = nameRecord();
  for (const [name, b] of Object.entries(record('buffers'))) {
    const at = `model.buffers[${JSON.stringify(name)}]`;
    if (!isObject(b) || !SEGMENTS.includes(b.segment as SegmentName)) throw bad(`${at}.segment must be one of ${SEGMENTS.join(', ')}`);
    const segment = b.segment as SegmentName;
    const offset = count(`${at}.offset`, b.offset);
    const size = count(`${at}.bytes`, b.bytes);
    if (offset + size > segments[segment]) throw bad(`${at} lies outside the ${segment} segment`);
    setName(buffers, name, { segment, offset, bytes: size });
  }

  // Activations move between host and device packed: the buffer must hold the packed tensor.
  const activations = nameRecord<string>();
  for (const [tensor, buffer] of Object.entries(record('activations'))) {
    const at = `model.activations[${JSON.stringify(tensor)}]`;
    const type = types.get(tensor);
    if (!type) throw bad(`${at}: ${tensor} is not a tensor of the graph`);
    const placed = typeof buffer === 'string' ? byName(buffers, buffer) : undefined;
    if (!placed) throw bad(`${at} must name a buffer of model.buffers (got ${describeValue(buffer)})`);
    if (type.shape.length !== 2 && type.shape.length !== 4) throw bad(`${at}: ${tensor} is not a 2-D or 4-D tensor`);
    // An int32 activation is four 8-bit planes (VTA stores int8 only).
    const planes = type.dtype === 'int32' ? 4 : 1;
    if (placed.bytes < gridTiles(tileGrid(type.shape, cfg)) * cfg.inpElemBytes * planes) throw bad(`${at}: buffer ${buffer} is too small for ${tensor}`);
    setName(activations, tensor, buffer as string);
  }

  const relocs = list('relocs').map((r, n): [number, SegmentName] => {
    const at = `model.relocs[${n}]`;
    if (!Array.isArray(r) || r.length !== 2 || !isCount(r[0]) || r[0] >= insnCount || !SEGMENTS.includes(r[1])) {
      throw bad(`${at} must be [instruction index below ${insnCount}, segment] (got ${describeValue(r)})`);
    }
    // Relocation adds a segment base to dram_base: only loads and stores have one.
    const opcode = code[r[0] * cfg.insnBytes]! & 7;
    if (opcode !== OPCODE.LOAD && opcode !== OPCODE.STORE) throw bad(`${at}: instruction ${r[0]} is not a LOAD or STORE`);
    return [r[0], r[1]];
  });

  const readIm2col = (v: unknown, at: string): NonNullable<KernelInfo['im2col']> => {
    if (!isObject(v) || typeof v.buffer !== 'string' || !(v.buffer in buffers) || !isObject(v.window)) throw bad(`${at} must be {buffer: a buffer of model.buffers, window}`);
    const w = v.window;
    const positive = (f: string, x: unknown) => {
      if (count(`${at}.window.${f}`, x) === 0) throw bad(`${at}.window.${f} must be positive`);
      return x as number;
    };
    if (!Array.isArray(w.pad) || w.pad.length !== 4) throw bad(`${at}.window.pad must be [top, left, bottom, right]`);
    const pad = w.pad.map((p, i) => count(`${at}.window.pad[${i}]`, p)) as [number, number, number, number];
    return { buffer: v.buffer, window: { KH: positive('KH', w.KH), KW: positive('KW', w.KW), sh: positive('sh', w.sh), sw: positive('sw', w.sw), pad } };
  };

  // The executor writes the whole image into the buffer: it must hold it.
  const checkIm2colBuffer = (im2col: NonNullable<KernelInfo['im2col']>, input: string | undefined, at: string) => {
    const shape = input === undefined ? undefined : types.get(input)?.shape;
    if (!shape || shape.length !== 4) throw bad(`${at}.im2col: the kernel's first input is not a 4-D tensor`);
    const image = im2colShape(shape, im2col.window);
    if (image.some((d) => d < 1) || buffers[im2col.buffer]!.bytes < gridTiles(tileGrid(image, cfg)) * cfg.inpElemBytes) throw bad(`${at}.im2col: buffer ${im2col.buffer} is too small for the image of ${input}`);
  };

  const kernels = list('kernels').map((k, n): KernelInfo => {
    const at = `model.kernels[${n}]`;
    if (!isObject(k)) throw bad(`${at} must be an object`);
    if (!isName(k.name)) throw bad(`${at}.name must be a non-empty string`);
    const names = (field: string, known: (s: string) => boolean, what: string): string[] => {
      const v = k[field];
      if (!Array.isArray(v) || !v.every((x) => isName(x) && known(x))) throw bad(`${at}.${field} must be a list of ${what}`);
      return v as string[];
    };
    const nodes = names('nodes', (x) => nodeNames.has(x), 'graph node names');
    const im2col = k.im2col === undefined ? undefined : readIm2col(k.im2col, `${at}.im2col`);
    // An im2col kernel's first input lives only in the kernel's own image of it.
    const inputs = names('inputs', (x) => hasName(activations, x) || (im2col !== undefined && Array.isArray(k.inputs) && x === k.inputs[0]), 'tensors with a buffer in model.activations');
    if (im2col) checkIm2colBuffer(im2col, inputs[0], at);
    if (typeof k.output !== 'string' || !hasName(activations, k.output)) throw bad(`${at}.output must be a tensor with a buffer in model.activations`);
    if (typeof k.rule !== 'string') throw bad(`${at}.rule must be a string`);
    const insnStart = count(`${at}.insnStart`, k.insnStart);
    const kInsns = count(`${at}.insnCount`, k.insnCount);
    if (insnStart + kInsns > insnCount) throw bad(`kernel ${k.name} lies outside the instruction stream`);
    const work = count(`${at}.work`, k.work);
    if (work < kInsns) throw bad(`kernel ${k.name} has no valid work bound`);
    let tiling: KernelInfo['tiling'];
    if (k.tiling !== undefined) {
      const t = k.tiling;
      if (!isObject(t)) throw bad(`${at}.tiling must be an object`);
      tiling = { tOC: count(`${at}.tiling.tOC`, t.tOC), tIC: count(`${at}.tiling.tIC`, t.tIC), tOH: count(`${at}.tiling.tOH`, t.tOH), tOW: count(`${at}.tiling.tOW`, t.tOW), slots: count(`${at}.tiling.slots`, t.slots) };
    }
    return {
      name: k.name,
      nodes,
      rule: k.rule,
      inputs,
      output: k.output,
      insnStart,
      insnCount: kInsns,
      uopCount: count(`${at}.uopCount`, k.uopCount),
      work,
      ...(tiling ? { tiling } : {}),
      ...(k.bands !== undefined ? { bands: count(`${at}.bands`, k.bands) } : {}),
      ...(im2col ? { im2col } : {}),
      dramBytes: count(`${at}.dramBytes`, k.dramBytes),
      minDramBytes: count(`${at}.minDramBytes`, k.minDramBytes),
    };
  });

  // Replay the step order: every step must find its inputs computed, and the outputs must be.
  // Nodes by name, once: a scan per host step was quadratic in a long chain of host ops.
  const nodeByName = new Map(graph.nodes.map((x) => [x.name, x]));
  const ready = new Set<string>([...graph.inputs.map((i) => i.name), ...Object.keys(graph.tensors)]);
  const steps = list('steps').map((s, n): ModelStep => {
    const at = `model.steps[${n}]`;
    if (isObject(s) && s.kind === 'vta' && isCount(s.kernel) && s.kernel < kernels.length) {
      const k = kernels[s.kernel]!;
      const missing = k.inputs.find((t) => !ready.has(t));
      if (missing !== undefined) throw bad(`${at}: kernel ${k.name} reads ${missing} before any step computes it`);
      ready.add(k.output);
      return { kind: 'vta', kernel: s.kernel };
    }
    const node = isObject(s) && typeof s.node === 'string' ? nodeByName.get(s.node) : undefined;
    if (isObject(s) && s.kind === 'host' && node && typeof s.reason === 'string') {
      const missing = node.inputs.find((t) => !ready.has(t));
      if (missing !== undefined) throw bad(`${at}: node ${node.name} reads ${missing} before any step computes it`);
      ready.add(node.output);
      return { kind: 'host', node: node.name, reason: s.reason };
    }
    throw bad(`${at} must be {kind: "vta", kernel: index below ${kernels.length}} or {kind: "host", node: a graph node, reason} (got ${describeValue(s)})`);
  });
  const uncomputed = graph.outputs.find((o) => !ready.has(o));
  if (uncomputed !== undefined) throw bad(`model.steps never compute the output ${uncomputed}`);

  const partition = list('partition');
  if (!partition.every((l) => typeof l === 'string')) throw bad('model.partition must be a list of strings');

  return {
    format: 'vta-compiled/1',
    // As written (makeConfig checked it), so that a package read and rewritten is byte-identical.
    config: m.config as VtaConfigJson,
    graph,
    types,
    partition: partition as string[],
    steps,
    kernels,
    segments,
    buffers,
    insnCount,
    relocs,
    activations,
  };
}

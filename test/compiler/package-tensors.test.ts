/**
 * The .vtapkg container VTAPKG02: graph constants travel as bytes in a tensors section, not as
 * base64 in the JSON header; the previous container (VTAPKG01, base64 in the header) still reads,
 * and a container version this reader does not know is refused by name.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { runCompiled } from '../../compiler/execute.ts';
import { readPackage, writePackage } from '../../compiler/package.ts';
import { decodeConst, encodeConstData } from '../../graph/load.ts';
import { compile, denseGraph, randomTensor, rng } from './helpers.ts';

const cfg = defaultVtaConfig();
const g = denseGraph(rng(21), 4, 40, 24, { bias: true, shift: 6, relu: true, clip: [0, 127] });
const inputs = { x: randomTensor(rng(22), [4, 40], 'int8') };

type Header = { format: string; model: { graph: { tensors: Record<string, { data: unknown }> } }; sections: Record<string, [number, number]>; sha256?: unknown };

function headerOf(bytes: Uint8Array): Header {
  const length = Buffer.from(bytes).readUInt32LE(8);
  return JSON.parse(Buffer.from(bytes.subarray(12, 12 + length)).toString('utf8')) as Header;
}

/** The same model in the VTAPKG01 layout: constants as base64 in the header, no tensors section. */
function asBase64Container(bytes: Uint8Array): Uint8Array {
  const h = headerOf(bytes);
  const model = readPackage(bytes);
  delete h.sha256; // VTAPKG01 had no digests
  for (const [name, t] of Object.entries(h.model.graph.tensors)) t.data = encodeConstData(decodeConst(name, model.graph.tensors[name]!));
  const code = bytes.subarray(h.sections.code![0], h.sections.code![0] + h.sections.code![1]);
  const constImage = bytes.subarray(h.sections.const![0], h.sections.const![0] + h.sections.const![1]);
  const align = (n: number) => Math.ceil(n / 64) * 64;
  let text = '';
  for (let pass = 0; pass < 3; pass++) {
    const codeAt = align(12 + Buffer.byteLength(text));
    h.sections = { code: [codeAt, code.length], const: [align(codeAt + code.length), constImage.length] };
    text = JSON.stringify(h);
  }
  const out = Buffer.alloc(h.sections.const![0] + constImage.length);
  out.write('VTAPKG01', 0, 'latin1');
  out.writeUInt32LE(Buffer.byteLength(text), 8);
  out.write(text, 12, 'utf8');
  out.set(code, h.sections.code![0]);
  out.set(constImage, h.sections.const![0]);
  return new Uint8Array(out);
}

describe('.vtapkg graph constants', () => {
  it('are bytes in the tensors section, each header entry naming its place', () => {
    const model = compile(g, { config: cfg });
    const bytes = writePackage(model);
    expect(Buffer.from(bytes.subarray(0, 8)).toString('latin1')).toBe('VTAPKG02');
    const h = headerOf(bytes);
    const [at] = h.sections.tensors!;
    for (const [name, t] of Object.entries(h.model.graph.tensors)) {
      const ref = t.data as { offset: number; bytes: number };
      const values = decodeConst(name, model.graph.tensors[name]!);
      expect(ref.bytes).toBe(values.byteLength);
      expect(Buffer.from(bytes.subarray(at + ref.offset, at + ref.offset + ref.bytes)).equals(Buffer.from(values.buffer, values.byteOffset, values.byteLength))).toBe(true);
    }
    const back = readPackage(bytes);
    for (const name of Object.keys(model.graph.tensors)) {
      expect(Array.from(decodeConst(name, back.graph.tensors[name]!))).toEqual(Array.from(decodeConst(name, model.graph.tensors[name]!)));
    }
  });

  it('read from the previous container (base64 in the header) run the same', async () => {
    const bytes = writePackage(compile(g, { config: cfg }));
    const old = asBase64Container(bytes);
    expect(typeof Object.values(headerOf(old).model.graph.tensors)[0]!.data).toBe('string');
    const out = g.outputs[0]!;
    const a = await runCompiled(readPackage(bytes), inputs);
    const b = await runCompiled(readPackage(old, 'old.vtapkg'), inputs);
    expect(Array.from(b.outputs[out]!.data)).toEqual(Array.from(a.outputs[out]!.data));
    // Written again, it is the current container.
    expect(Buffer.from(writePackage(readPackage(old)).subarray(0, 8)).toString('latin1')).toBe('VTAPKG02');
  });

  it('refuses a container version it does not know, and a constant whose size does not fit', () => {
    const bytes = writePackage(compile(g, { config: cfg }));
    const future = Buffer.from(bytes);
    future.write('VTAPKG03', 0, 'latin1');
    expect(() => readPackage(future, 'f.vtapkg')).toThrow(/^f\.vtapkg: bad \.vtapkg artifact: container VTAPKG03 is not supported \(this reader takes VTAPKG02 and VTAPKG01/);
    const h = headerOf(bytes);
    const [name, t] = Object.entries(h.model.graph.tensors)[0]!;
    t.data = { offset: 0, bytes: 1 };
    delete h.sha256; // an edited header would fail its digest first
    const text = Buffer.from(JSON.stringify(h));
    const moved = Buffer.from(bytes);
    moved.fill(0x20, 12, 12 + moved.readUInt32LE(8));
    text.copy(moved, 12);
    expect(() => readPackage(moved, 'm.vtapkg')).toThrow(new RegExp(`^m\\.vtapkg: bad \\.vtapkg artifact: model\\.graph\\.tensors\\["${name}"\\]\\.data holds 1 bytes but \\w+\\[[\\d,]+\\] needs \\d+$`));
  });
});

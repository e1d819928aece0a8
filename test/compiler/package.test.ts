/** The .vtapkg artifact: round trip, relocation to any DRAM base, strict parsing. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { runCompiled } from '../../compiler/execute.ts';
import { readPackage, writePackage } from '../../compiler/package.ts';
import { getDriver } from '../../drivers/registry.ts';
import { RaceChecker } from '../../sim/race-checker.ts';
import { compile, denseGraph, randomTensor, rng } from './helpers.ts';

const cfg = defaultVtaConfig();
const g = denseGraph(rng(11), 8, 40, 24, { bias: true, shift: 6, relu: true, clip: [0, 127] });
const inputs = { x: randomTensor(rng(12), [8, 40], 'int8') };

describe('.vtapkg', () => {
  it('round-trips byte for byte', () => {
    const model = compile(g, { config: cfg });
    const bytes = writePackage(model);
    const back = readPackage(bytes);
    expect(Buffer.from(back.code).equals(Buffer.from(model.code))).toBe(true);
    expect(Buffer.from(back.constImage).equals(Buffer.from(model.constImage))).toBe(true);
    expect(Buffer.from(writePackage(back)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('runs at a different DRAM base with the same result', async () => {
    const model = readPackage(writePackage(compile(g, { config: cfg })));
    const rc = new RaceChecker(cfg);
    const a = await runCompiled(model, inputs, { observe: () => rc });
    expect(rc.report()).toEqual([]);
    const drv = await (await getDriver('fsim')).open(cfg);
    try {
      drv.memAlloc(5 * 4096 + 1); // shifts every segment the model allocates
      const b = await runCompiled(model, inputs, { driver: drv });
      expect(Array.from(b.outputs[g.outputs[0]!]!.data)).toEqual(Array.from(a.outputs[g.outputs[0]!]!.data));
    } finally {
      drv.close();
    }
  });

  it('runs twice from a Buffer read like a file, leaving the bytes read untouched', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'vtapkg-')), 'm.vtapkg');
    writeFileSync(file, writePackage(compile(g, { config: cfg })));
    // readFileSync gives a Buffer, whose slices share its memory (and small ones Node's pool).
    const bytes = readFileSync(file);
    const before = Buffer.from(bytes);
    const model = readPackage(bytes, file);
    const first = await runCompiled(model, inputs);
    const second = await runCompiled(model, inputs);
    const out = g.outputs[0]!;
    expect(Array.from(second.outputs[out]!.data)).toEqual(Array.from(first.outputs[out]!.data));
    expect(bytes.equals(before)).toBe(true);
  });

  it('reads bytes handed over as views on them, running the same and still checking digests', async () => {
    const bytes = writePackage(compile(g, { config: cfg }));
    const copied = readPackage(bytes);
    const adopted = readPackage(new Uint8Array(bytes), 'adopted', { adopt: true });
    expect(adopted.code.buffer).not.toBe(copied.code.buffer);
    expect(adopted.constImage.buffer).toBe(adopted.code.buffer);
    expect(Buffer.from(adopted.constImage).equals(Buffer.from(copied.constImage))).toBe(true);
    const out = g.outputs[0]!;
    const a = await runCompiled(copied, inputs);
    const b = await runCompiled(adopted, inputs);
    expect(Array.from(b.outputs[out]!.data)).toEqual(Array.from(a.outputs[out]!.data));
    const corrupt = new Uint8Array(bytes);
    corrupt[corrupt.length - 1]! ^= 1;
    expect(() => readPackage(corrupt, 'c.vtapkg', { adopt: true })).toThrow(/section const fails its sha256 check/);
    // Bytes that start unaligned are copied: typed views on them could not be made.
    const shifted = new Uint8Array(bytes.length + 1).subarray(1);
    shifted.set(bytes);
    expect(readPackage(shifted, 's', { adopt: true }).code.byteOffset).toBe(0);
  });

  it('refuses malformed files with one coded line', () => {
    const bytes = writePackage(compile(g, { config: cfg }));
    expect(() => readPackage(new Uint8Array(4), 'x.vtapkg')).toThrow(/^x\.vtapkg: bad \.vtapkg artifact: not a \.vtapkg file \(bad magic\)$/);
    const cut = bytes.slice(0, bytes.length - 100);
    expect(() => readPackage(cut, 'cut.vtapkg')).toThrow(/^cut\.vtapkg: bad \.vtapkg artifact: section const is missing or outside the file$/);
    const badJson = bytes.slice();
    badJson[12] = 0x20 + 1; // '!' is not JSON
    expect(() => readPackage(badJson, 'j.vtapkg')).toThrow(/^j\.vtapkg: bad \.vtapkg artifact: header is not valid JSON/);
    try {
      readPackage(cut, 'cut.vtapkg');
    } catch (e) {
      expect((e as { code: string }).code).toBe('E_PACKAGE');
    }
  });

  describe('tensor types', () => {
    const headerOf = (bytes: Uint8Array) => JSON.parse(Buffer.from(bytes.subarray(12, 12 + Buffer.from(bytes).readUInt32LE(8))).toString('utf8'));
    /** The package with its model section edited in place (the shorter header padded with spaces). */
    const withModel = (bytes: Uint8Array, edit: (m: Record<string, unknown>) => void): Uint8Array => {
      const h = headerOf(bytes);
      edit(h.model);
      // An edited header would fail its digest: drop it, as in a package written before digests.
      delete h.sha256;
      const text = Buffer.from(JSON.stringify(h));
      const out = Buffer.from(bytes);
      out.fill(0x20, 12, 12 + out.readUInt32LE(8));
      text.copy(out, 12);
      return new Uint8Array(out);
    };

    it('travel in the package and come back as the compiler inferred them', () => {
      const model = compile(g, { config: cfg });
      const bytes = writePackage(model);
      expect(headerOf(bytes).model.types[0]).toEqual(['x', { shape: [8, 40], dtype: 'int8' }]);
      expect([...readPackage(bytes).types]).toEqual([...model.types]);
    });

    it('a package without them (written before models carried types) still reads, its types inferred', () => {
      const model = compile(g, { config: cfg });
      const old = withModel(writePackage(model), (m) => delete m.types);
      expect(headerOf(old).model.types).toBeUndefined();
      expect([...readPackage(old, 'old.vtapkg').types]).toEqual([...model.types]);
    });

    it('refuses types that disagree with the graph, naming the tensor', () => {
      const bytes = withModel(writePackage(compile(g, { config: cfg })), (m) => {
        (m.types as [string, { shape: number[] }][])[0]![1].shape = [8, 4];
      });
      expect(() => readPackage(bytes, 'p.vtapkg')).toThrow(/^p\.vtapkg: bad \.vtapkg artifact: model\.types: x is int8\[8,4\], the graph makes it int8\[8,40\]$/);
      const missing = withModel(writePackage(compile(g, { config: cfg })), (m) => {
        (m.types as unknown[]).pop();
      });
      expect(() => readPackage(missing, 'p.vtapkg')).toThrow(/^p\.vtapkg: bad \.vtapkg artifact: model\.types has no type for tensor \S+$/);
    });
  });
});

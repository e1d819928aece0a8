/**
 * A .vtapkg carries the sha256 of its model header and of each section: a corrupted byte in the
 * code, tensors or constant image used to load and run to wrong results (found by
 * test/fuzz/package.test.ts); it is now one E_PACKAGE line naming the part. A package written
 * before the digests existed (no `sha256` field) is still read.
 */
import { expect, it } from 'vitest';
import { compileGraph } from '../../compiler/compile.ts';
import { readPackage, writePackage } from '../../compiler/package.ts';
import { defaultVtaConfig } from '../../config/config.ts';
import { validateGraph } from '../../graph/load.ts';
import { TINY_MODEL } from '../robustness/tiny-model.ts';

const PKG = writePackage(compileGraph(validateGraph(structuredClone(TINY_MODEL)), { config: defaultVtaConfig() }));

function header(bytes: Uint8Array): { h: Record<string, any>; end: number } {
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  return { h: JSON.parse(Buffer.from(bytes.subarray(12, 12 + len)).toString('utf8')), end: 12 + len };
}

/** The package with its header replaced (same length: padded with spaces, so sections stay put). */
function withHeader(bytes: Uint8Array, h: object): Uint8Array {
  const { end } = header(bytes);
  const json = JSON.stringify(h);
  if (json.length > end - 12) throw new Error('the test header grew');
  const out = bytes.slice();
  out.set(Buffer.from(json.padEnd(end - 12, ' ')), 12);
  return out;
}

it.each(['code', 'tensors', 'const'])('one flipped bit in section %s is refused, naming the section', (name) => {
  const { h } = header(PKG);
  const [offset, size] = h.sections[name] as [number, number];
  expect(size).toBeGreaterThan(0);
  const bad = PKG.slice();
  bad[offset + (size >> 1)]! ^= 0x10;
  expect(() => readPackage(bad, 'm.vtapkg')).toThrow(new RegExp(`^m\\.vtapkg: bad \\.vtapkg artifact: section ${name} fails its sha256 check`));
});

it('a changed model header is refused', () => {
  const { h } = header(PKG);
  h.model.insnCount += 0; // unchanged: still reads
  expect(readPackage(withHeader(PKG, h)).insnCount).toBe(readPackage(PKG).insnCount);
  h.model.partition = ['x'];
  expect(() => readPackage(withHeader(PKG, h), 'm.vtapkg')).toThrow(/^m\.vtapkg: bad \.vtapkg artifact: the model header fails its sha256 check/);
});

it('a package without the sha256 field (written before it existed) is read unchecked', () => {
  const { h } = header(PKG);
  delete h.sha256;
  const old = withHeader(PKG, h);
  expect(readPackage(old).insnCount).toBe(readPackage(PKG).insnCount);
  const [offset] = h.sections.const as [number, number];
  old[offset]! ^= 1;
  expect(() => readPackage(old)).not.toThrow();
});

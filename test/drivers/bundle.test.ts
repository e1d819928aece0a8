/** Bundle parsing (one-line errors naming file and field), page planning, replay and comparison. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareOutputs, loadBundle, loadExpected, parseBundle, replayBundle, replayRanges, resultJson } from '../../drivers/bundle.ts';
import { getDriver } from '../../drivers/registry.ts';
import { loadConfig } from '../../config/config.ts';
import { isVtaError } from '../../lib/errors.ts';

const KIT = new URL('../../conformance/', import.meta.url).pathname;
const NAME = 'gemm-s0-blocked-b1000';
const raw = () => JSON.parse(readFileSync(join(KIT, `${NAME}.bundle.json`), 'utf8')) as Record<string, any>;

function parseError(mutate: (b: Record<string, any>) => void): string {
  const b = raw();
  mutate(b);
  try {
    parseBundle(b, 'x.bundle.json');
  } catch (e) {
    if (!isVtaError(e)) throw e;
    expect(e.message).not.toContain('\n');
    return e.message;
  }
  throw new Error('accepted');
}

describe('parseBundle', () => {
  it('names the file and the bad field', () => {
    expect(parseError((b) => (b.format = 'vta-bundle/2'))).toBe('x.bundle.json: format is "vta-bundle/2"; expected "vta-bundle/1"');
    expect(parseError((b) => delete b.config.LOG_BLOCK)).toBe('x.bundle.json: config: missing key LOG_BLOCK (allowed range 3..5)');
    expect(parseError((b) => (b.memory.data = 'abc!'))).toBe('x.bundle.json: memory.data must be a base64 string');
    expect(parseError((b) => (b.memory.base = 0))).toBe('x.bundle.json: memory.base is 0; expected an integer in [4096, 4294967295]');
    expect(parseError((b) => (b.insn.count = 0))).toMatch(/^x\.bundle\.json: insn\.count is 0; expected an integer in \[1, /);
    expect(parseError((b) => (b.insn.addr = b.memory.base + 16 * 10000))).toMatch(/^x\.bundle\.json: insn \[0x[0-9a-f]+, 0x[0-9a-f]+\) is not inside the memory image/);
    expect(parseError((b) => b.outputs.push({ ...b.outputs[0] }))).toBe('x.bundle.json: outputs[1].name "out" is used twice');
    expect(parseError((b) => (b.outputs[0].bytes = -1))).toMatch(/^x\.bundle\.json: outputs\[0\]\.bytes is -1/);
    expect(parseError((b) => (b.outputs = []))).toBe('x.bundle.json: outputs must be a non-empty array');
  });

  it('reports unreadable files and bad JSON with the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vta-bundle-'));
    writeFileSync(join(dir, 'bad.json'), '{');
    expect(() => loadBundle(join(dir, 'bad.json'))).toThrow(new RegExp(`^${join(dir, 'bad.json')}: not valid JSON`));
    expect(() => loadBundle(join(dir, 'none.json'))).toThrow(`${join(dir, 'none.json')}: cannot read (no such file)`);
  });
});

describe('replay', () => {
  it('merges overlapping and touching page ranges', () => {
    const b = loadBundle(join(KIT, `${NAME}.bundle.json`));
    const ranges = replayRanges({
      ...b,
      memory: { base: 0x2345, data: new Uint8Array(0x100) },
      outputs: [
        { name: 'a', addr: 0x2f00, bytes: 0x200 },
        { name: 'b', addr: 0x9000, bytes: 1 },
        { name: 'c', addr: 0x4000, bytes: 0x10 },
      ],
    });
    expect(ranges).toEqual([
      { start: 0x2000, end: 0x5000 },
      { start: 0x9000, end: 0xa000 },
    ]);
  });

  it('replays a bundle, frees its memory, and reports the first differing byte of each output', async () => {
    const b = loadBundle(join(KIT, `${NAME}.bundle.json`));
    const d = await (await getDriver('fsim')).open(b.config);
    const result = await replayBundle(d, b);
    const again = await replayBundle(d, b); // memory was freed: the same addresses can be allocated again
    const expected = loadExpected(join(KIT, `${NAME}.expected.json`));
    expect(compareOutputs(result.outputs, expected)).toEqual([]);
    expect(compareOutputs(again.outputs, expected)).toEqual([]);
    const bad = { out: result.outputs.out!.slice() };
    bad.out[37] = (bad.out[37]! + 1) & 0xff;
    expect(compareOutputs(bad, expected)).toEqual([
      { name: 'out', offset: 37, actual: bad.out[37], expected: expected.out![37], message: `output out differs at byte 37: got 0x${bad.out[37]!.toString(16)}, expected 0x${expected.out![37]!.toString(16)}` },
    ]);
    expect(compareOutputs({}, expected)[0]!.message).toBe('output out is missing');
    expect(compareOutputs({ out: expected.out!.subarray(1) }, expected)[0]!.message).toMatch(/^output out (differs|has)/);
    expect(resultJson(result).outputs.out).toBe(Buffer.from(expected.out!).toString('base64'));
    d.close();
  });

  it('refuses a driver opened for another config', async () => {
    const b = loadBundle(join(KIT, `${NAME}.bundle.json`));
    const d = await (await getDriver('fsim')).open(loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname));
    await expect(replayBundle(d, b)).rejects.toThrow(/config 1x16_i8w8a32_15_15_18_17 differs from the fsim driver's 2x8_i8w8a32_15_15_16_17/);
    d.close();
  });
});

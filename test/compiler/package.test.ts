/** The .vtapkg artifact: round trip, relocation to any DRAM base, strict parsing. */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { compileGraph } from '../../compiler/compile.ts';
import { runCompiled } from '../../compiler/execute.ts';
import { readPackage, writePackage } from '../../compiler/package.ts';
import { getDriver } from '../../drivers/registry.ts';
import { RaceChecker } from '../../sim/race-checker.ts';
import { denseGraph, randomTensor, rng } from './helpers.ts';

const cfg = defaultVtaConfig();
const g = denseGraph(rng(11), 8, 40, 24, { bias: true, shift: 6, relu: true, clip: [0, 127] });
const inputs = { x: randomTensor(rng(12), [8, 40], 'int8') };

describe('.vtapkg', () => {
  it('round-trips byte for byte', () => {
    const model = compileGraph(g, { config: cfg });
    const bytes = writePackage(model);
    const back = readPackage(bytes);
    expect(Buffer.from(back.code).equals(Buffer.from(model.code))).toBe(true);
    expect(Buffer.from(back.constImage).equals(Buffer.from(model.constImage))).toBe(true);
    expect(Buffer.from(writePackage(back)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('runs at a different DRAM base with the same result', async () => {
    const model = readPackage(writePackage(compileGraph(g, { config: cfg })));
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

  it('refuses malformed files with one coded line', () => {
    const bytes = writePackage(compileGraph(g, { config: cfg }));
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
});

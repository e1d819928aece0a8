/**
 * The FINISH-rule set (conformance/finish/, docs/isa.md decision 10): reproducible from its
 * generator, and every available driver runs each bundle to its bytes or refuses it with its code.
 * The kit check also refuses a racy bundle on a driver that reports SRAM accesses.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FINISH_KIT, finishBundle, finishCases } from '../../conformance/generate-finish.ts';
import fsim from '../../drivers/backends/fsim.ts';
import { parseBundle } from '../../drivers/bundle.ts';
import { checkKitBundle, loadKitExpectation } from '../../drivers/kit-check.ts';
import { listDrivers } from '../../drivers/registry.ts';
import { MEM_TYPE, type MemInsn, OPCODE, finishInsn, memInsn } from '../../isa/index.ts';
import { describeKitReplay } from './replay-kit.ts';

const NAMES = readdirSync(FINISH_KIT)
  .filter((f) => f.endsWith('.bundle.json'))
  .map((f) => f.slice(0, -'.bundle.json'.length))
  .sort();

describe('the FINISH-rule set', () => {
  it('is exactly what conformance/generate-finish.ts produces, refusals included', () => {
    const cases = finishCases();
    expect(cases.map((c) => c.name).sort()).toEqual(NAMES);
    for (const c of cases) {
      expect(JSON.parse(readFileSync(join(FINISH_KIT, `${c.name}.bundle.json`), 'utf8')), c.name).toEqual(finishBundle(c));
      const exp = loadKitExpectation(join(FINISH_KIT, `${c.name}.expected.json`));
      expect('error' in exp ? exp.error : undefined, c.name).toBe(c.refusal);
    }
    expect(cases.filter((c) => c.refusal).length).toBe(4);
  });

  it('the kit check refuses a racy bundle (a STORE reading ACC that no token orders after its LOAD)', async () => {
    const [loadAcc, store] = finishCases()[0]!.insns as MemInsn[];
    const insns = [
      { ...loadAcc!, push_next: 0 },
      { ...store!, pop_prev: 0 },
      memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.UOP, pop_next: 1 }),
      finishInsn(),
    ];
    const bundle = parseBundle(finishBundle({ name: 'racy', insns }), 'racy');
    const driver = await fsim.open(bundle.config);
    try {
      const problems = await checkKitBundle(driver, bundle, { outputs: {} }, true);
      expect(problems.some((p) => /^the bundle is racy .*RAW race on acc\[0\]/.test(p)), problems.join('\n')).toBe(true);
    } finally {
      driver.close();
    }
  });
});

for (const info of await listDrivers()) {
  const why = info.unavailable?.();
  if (why) it.skip(`driver ${info.name}: ${why}`, () => {});
  else describeKitReplay(`FINISH rule on driver ${info.name}`, info, FINISH_KIT, NAMES);
}

/**
 * The model's per-cycle code is compiled at the optimisation level hw/Makefile chooses: Verilator's
 * generated Makefile applies its own OPT_FAST (-Os by default) after any -CFLAGS, so the level
 * must reach it as OPT_FAST. Checked on the real compile lines (make dry runs), not on the flags' text.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HW = join(ROOT, 'hw');
const cfg = defaultVtaConfig();
const BUILD = join(HW, 'build', cfg.bitstream);
const OBJ = join(BUILD, 'obj');

const make = (args: string[]) => execFileSync('make', args, { cwd: ROOT, encoding: 'utf8' });

/** The VAR="value" the hw Makefile passes to Verilator's Makefile, when the RTL has changed. */
function modelMakeVar(name: string): string {
  const dry = make(['-n', '-s', '-C', HW, 'one', `ONE_CONFIG=${join(ROOT, 'config', 'vta_config.json')}`, `BIT=${cfg.bitstream}`, '-W', join(HW, 'rtl', 'vta_top.sv')]);
  const line = dry.split('\n').find((l) => l.includes('Vvta_top.mk'));
  expect(line, 'the hw Makefile runs Verilator\'s Makefile').toBeDefined();
  const m = new RegExp(`${name}="([^"]*)"`).exec(line!);
  expect(m, `${name} is passed to Verilator's Makefile`).not.toBeNull();
  return m![1]!;
}

/** Verilator's per-cycle classes (VM_CLASSES_FAST) of the built model. */
function fastClasses(): string[] {
  const text = readFileSync(join(OBJ, 'Vvta_top_classes.mk'), 'utf8');
  const block = /VM_CLASSES_FAST \+= \\\n((?:\t\S+ \\\n)+)/.exec(text);
  return block ? block[1]!.split('\n').map((l) => l.replace(/\\$/, '').trim()).filter(Boolean) : [];
}

describe.skipIf(!existsSync(join(OBJ, 'Vvta_top.mk')))('tsim build flags', () => {
  it('the per-cycle code compiles at -O3: the last -O on its compile line is the Makefile\'s OPT_FAST', () => {
    const optFast = modelMakeVar('OPT_FAST');
    expect(optFast.split(/\s+/)).toContain('-O3');
    const classes = fastClasses();
    expect(classes.length).toBeGreaterThan(1);
    const eval0 = classes.find((c) => c.includes('DepSet'))!;
    const dry = make(['-n', '-B', '-s', '-C', OBJ, '-f', 'Vvta_top.mk', `OPT_FAST=${optFast}`, `OPT_GLOBAL=${modelMakeVar('OPT_GLOBAL')}`, `${eval0}.o`]);
    const compile = dry.split('\n').find((l) => l.includes(`-o ${eval0}.o`));
    expect(compile, `a compile line for ${eval0}.o`).toBeDefined();
    const levels = compile!.split(/\s+/).filter((w) => /^-O(\d|s|fast|z)?$/.test(w));
    expect(levels.at(-1)).toBe('-O3');
  });
});

/**
 * Generator of the FINISH-rule set (conformance/finish/, default config; docs/isa.md decision 10):
 * small bundles a driver must run to the expected bytes or refuse with `{ "error": "E_SIM_UNRUN" }`.
 * Deterministic; the expected bytes of the runnable ones come from fsim with the race checker.
 *
 *   npx tsx conformance/generate-finish.ts     (rewrites conformance/finish/*.json)
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultVtaConfig } from '../config/config.ts';
import { BUNDLE_FORMAT, parseBundle, replayBundle, resultJson } from '../drivers/bundle.ts';
import fsim from '../drivers/backends/fsim.ts';
import { type Insn, MEM_TYPE, OPCODE, encodeProgram, finishInsn, memInsn } from '../isa/index.ts';
import { RaceChecker } from '../sim/race-checker.ts';

export const FINISH_KIT = join(dirname(fileURLToPath(import.meta.url)), 'finish');

const BASE = 0x1000;
const ACC_AT = 0x2000;
const OUT_AT = 0x3000;

/** What each bundle must give: its stored bytes, or this refusal. */
export interface FinishCase {
  name: string;
  insns: Insn[];
  /** Instructions the run is told to fetch (default: all of `insns`). */
  count?: number;
  refusal?: 'E_SIM_UNRUN';
}

export function finishCases(): FinishCase[] {
  const cfg = defaultVtaConfig();
  const tile = (type: number, at: number) => ({ memory_type: type, y_size: 1, x_size: 1, x_stride: 1, dram_base: at / (type === MEM_TYPE.ACC ? cfg.accElemBytes : type === MEM_TYPE.INP ? cfg.inpElemBytes : cfg.outElemBytes) });
  const loadAcc = memInsn({ opcode: OPCODE.LOAD, ...tile(MEM_TYPE.ACC, ACC_AT), push_next: 1 });
  const store = memInsn({ opcode: OPCODE.STORE, ...tile(MEM_TYPE.OUT, OUT_AT), pop_prev: 1, push_prev: 1 });
  const popStore = memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.UOP, pop_next: 1 });
  const ordered = [loadAcc, store, popStore, finishInsn()];
  return [
    { name: 'finish-last', insns: ordered },
    // Rule 3: a LOAD that only a token pushed just before FINISH releases still runs, on every driver.
    {
      name: 'finish-load-drains-after',
      insns: [loadAcc, store, memInsn({ opcode: OPCODE.LOAD, ...tile(MEM_TYPE.INP, ACC_AT), pop_next: 1 }), { ...popStore, push_prev: 1 }, finishInsn()],
    },
    // Rule 1: the zero word after FINISH decodes as a compute no-op that the hardware would fetch.
    { name: 'finish-count-one-too-large', insns: ordered, count: ordered.length + 1, refusal: 'E_SIM_UNRUN' },
    { name: 'finish-written-early', insns: [loadAcc, store, finishInsn(), popStore], refusal: 'E_SIM_UNRUN' },
    { name: 'finish-twice', insns: [...ordered, finishInsn()], refusal: 'E_SIM_UNRUN' },
    // Rule 2: nothing orders the STORE before FINISH.
    { name: 'finish-before-store', insns: [loadAcc, { ...store, push_prev: 0 }, finishInsn()], refusal: 'E_SIM_UNRUN' },
  ];
}

/** The bundle of a case: instructions at BASE, 16 accumulators at ACC_AT, one OUT tile read back at OUT_AT. */
export function finishBundle(c: FinishCase): Record<string, unknown> {
  const cfg = defaultVtaConfig();
  const image = new Uint8Array(ACC_AT + cfg.accElemBytes - BASE);
  image.set(encodeProgram(cfg, c.insns), 0);
  const acc = new DataView(image.buffer, ACC_AT - BASE, cfg.accElemBytes);
  for (let i = 0; i < cfg.accElemBytes / 4; i++) acc.setInt32(4 * i, i * 37 - 300, true);
  return {
    format: BUNDLE_FORMAT,
    config: { ...cfg.json },
    memory: { base: BASE, data: Buffer.from(image).toString('base64') },
    insn: { addr: BASE, count: c.count ?? c.insns.length },
    outputs: [{ name: 'out', addr: OUT_AT, bytes: cfg.outElemBytes }],
  };
}

async function expected(c: FinishCase, bundle: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (c.refusal) return { error: c.refusal };
  const parsed = parseBundle(bundle, c.name);
  const driver = await fsim.open(parsed.config);
  try {
    const checker = new RaceChecker(parsed.config);
    const result = await replayBundle(driver, parsed, { observer: checker });
    if (checker.report().length) throw new Error(`${c.name}: ${checker.report()[0]}`);
    return { outputs: resultJson(result).outputs };
  } finally {
    driver.close();
  }
}

async function main(): Promise<void> {
  mkdirSync(FINISH_KIT, { recursive: true });
  for (const f of readdirSync(FINISH_KIT)) if (f.endsWith('.json')) rmSync(join(FINISH_KIT, f));
  for (const c of finishCases()) {
    const bundle = finishBundle(c);
    writeFileSync(join(FINISH_KIT, `${c.name}.bundle.json`), JSON.stringify(bundle, null, 2) + '\n');
    writeFileSync(join(FINISH_KIT, `${c.name}.expected.json`), JSON.stringify(await expected(c, bundle), null, 2) + '\n');
  }
  console.log(`${finishCases().length} bundles in ${FINISH_KIT}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

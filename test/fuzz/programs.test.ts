/**
 * fsim vs tsim at scale: seeded random valid programs (test/hw/random-program.ts) and fault-injected
 * ones (the same programs with 1–3 instruction bits flipped) run on both drivers, on every config
 * whose tsim is built. Both must give identical bytes (the whole image) and counters, or refuse
 * with the same error code. A fault-injected program the race checker flags, or whose bytes change
 * when SRAM starts full of garbage (it reads SRAM it never wrote, so its bytes depend on what ran
 * before), has driver-dependent bytes by nature: for it only the outcome is compared. Programs whose uop-iterations exceed
 * WORK_CAP are not run (counted apart) so that a flipped loop bound cannot stall the campaign.
 * A failing case is saved as a bundle: `vta replay FILE --driver tsim` replays it.
 * Smoke size in the suite; `make fuzz` runs 10,000 valid and 5,000 fault-injected per config.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, type VtaConfig } from '../../config/config.ts';
import type { Driver } from '../../drivers/api.ts';
import fsim from '../../drivers/backends/fsim.ts';
import tsim, { addonPath } from '../../drivers/backends/tsim.ts';
import { BUNDLE_FORMAT } from '../../drivers/bundle.ts';
import { Machine, simulate } from '../../sim/index.ts';
import { DeviceMemory } from '../../sim/memory.ts';
import { RaceChecker } from '../../sim/race-checker.ts';
import { randomBytes } from '../../lib/random.ts';
import { routeStream } from '../../sim/stream.ts';
import { randomProgram, type RandomProgram } from '../hw/random-program.ts';
import { type Outcome, campaignSeeds, classifyError, newReport, prng, runCase, summary } from './runner.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const CONFIGS = ['config/vta_config.json', 'config/b2x8.json', 'config/int4.json', 'config/int2.json'];
const COUNTER_KEYS = [
  'load_insns', 'compute_insns', 'store_insns', 'uop_load_nbytes', 'inp_load_nbytes', 'wgt_load_nbytes',
  'acc_load_nbytes', 'acc8_load_nbytes', 'out_store_nbytes', 'gemm_counter', 'gemm_reset_counter', 'alu_counter',
];
const WORK_CAP = 300_000;
const VALID = campaignSeeds(8, 10_000);
const FAULTED = campaignSeeds(8, 5_000).map((s) => s + 1_000_000);

/** Flip 1–3 bits of the instruction stream. */
function injectFaults(p: RandomProgram, seed: number): RandomProgram {
  const r = prng(seed);
  const image = p.image.slice();
  const at = p.insnAddr - p.base;
  for (let n = r.int(1, 3); n > 0; n--) {
    const bit = r.int(0, p.insnCount * 128 - 1);
    image[at + (bit >> 3)]! ^= 1 << (bit & 7);
  }
  return { ...p, image };
}

type Ran = { outcome: Outcome; image?: Uint8Array; counters?: Record<string, number> };

async function runOn(driver: Driver, p: RandomProgram, checker?: RaceChecker): Promise<Ran> {
  const buf = driver.memAllocAt(p.base, p.image.length);
  try {
    driver.copyFromHost(buf, p.image);
    const { counters } = await driver.run(p.insnAddr, p.insnCount, checker ? { observer: checker } : {});
    const image = new Uint8Array(p.image.length);
    driver.copyToHost(image, buf);
    return { outcome: { kind: 'ok' }, image, counters: counters as Record<string, number> };
  } catch (e) {
    return { outcome: classifyError(e) };
  } finally {
    driver.memFree(buf);
  }
}

/** The uop-iterations of a stream, or undefined when it does not route (both drivers refuse it). */
function staticWork(cfg: VtaConfig, p: RandomProgram): number | undefined {
  const at = p.insnAddr - p.base;
  try {
    return routeStream(cfg, p.image.subarray(at, at + p.insnCount * 16), p.insnAddr).routed.reduce((a, r) => a + r.cost, 0);
  } catch {
    return undefined;
  }
}

/** Whether fsim gives other bytes when every SRAM starts full of garbage (the program reads SRAM it never wrote). */
function readsUnwrittenSram(cfg: VtaConfig, p: RandomProgram, image: Uint8Array): boolean {
  const memory = new DeviceMemory();
  memory.allocAt(p.base, p.image.length);
  memory.write(p.base, p.image);
  const machine = new Machine(cfg);
  for (const sram of [machine.uopBytes, machine.inpBytes, machine.wgtBytes, machine.accBytes]) sram.set(randomBytes(sram.length, 99));
  try {
    simulate(cfg, memory, p.insnAddr, p.insnCount, { machine });
  } catch {
    return true;
  }
  return !Buffer.from(memory.read(p.base, p.image.length)).equals(image);
}

/** Why the two runs disagree, or undefined. */
function disagreement(a: Ran, b: Ran, racy: boolean): string | undefined {
  if (a.outcome.kind === 'failed') return `fsim: ${a.outcome.why}`;
  if (b.outcome.kind === 'failed') return `tsim: ${b.outcome.why}`;
  if (a.outcome.kind !== b.outcome.kind || (a.outcome.kind === 'refused' && b.outcome.kind === 'refused' && a.outcome.code !== b.outcome.code)) {
    const say = (o: Outcome) => (o.kind === 'refused' ? `error[${o.code}]` : o.kind);
    return `fsim ${say(a.outcome)}, tsim ${say(b.outcome)}`;
  }
  if (a.outcome.kind !== 'ok' || racy) return undefined;
  const byte = a.image!.findIndex((v, i) => b.image![i] !== v);
  if (byte >= 0) return `byte ${byte} of the image differs: fsim ${a.image![byte]}, tsim ${b.image![byte]}`;
  const counter = COUNTER_KEYS.find((k) => a.counters![k] !== b.counters![k]);
  if (counter) return `counter ${counter}: fsim ${a.counters![counter]}, tsim ${b.counters![counter]}`;
  return undefined;
}

function asBundle(cfg: VtaConfig, p: RandomProgram): Uint8Array {
  const bundle = {
    format: BUNDLE_FORMAT,
    config: { ...cfg.json },
    memory: { base: p.base, data: Buffer.from(p.image).toString('base64') },
    insn: { addr: p.insnAddr, count: p.insnCount },
    outputs: [{ name: 'image', addr: p.base, bytes: p.image.length }],
  };
  return new TextEncoder().encode(JSON.stringify(bundle));
}

for (const path of CONFIGS) {
  const cfg = loadConfig(join(ROOT, path));
  describe.skipIf(!existsSync(addonPath(cfg)))(`fsim vs tsim on ${cfg.bitstream}`, () => {
    let a: Driver | undefined;
    let b: Driver | undefined;
    afterAll(() => {
      a?.close();
      b?.close();
    });

    const campaign = (kind: 'valid' | 'fault', seeds: number[]) => async () => {
      a ??= await fsim.open(cfg);
      b ??= await tsim.open(cfg);
      const report = newReport();
      let overCap = 0;
      let racyCases = 0;
      const started = performance.now();
      const progress = () => `${summary(`programs ${kind} ${cfg.bitstream}`, report)}; ${overCap} over the work cap, ${racyCases} racy or reading unwritten SRAM (outcome compared only); ${((performance.now() - started) / 1000).toFixed(0)} s`;
      for (const [n, seed] of seeds.entries()) {
        if (n > 0 && n % 1000 === 0) console.log(progress());
        const base = randomProgram(cfg, kind === 'valid' ? seed : seed - 1_000_000);
        const p = kind === 'valid' ? base : injectFaults(base, seed);
        const work = staticWork(cfg, p);
        if (work !== undefined && work > WORK_CAP) {
          overCap++;
          continue;
        }
        const input = { target: 'programs', seed, category: `${kind}:${cfg.bitstream}`, bytes: asBundle(cfg, p), ext: 'bundle.json' };
        await runCase(report, input, async () => {
          const checker = kind === 'fault' ? new RaceChecker(cfg) : undefined;
          const ref = await runOn(a!, p, checker);
          const got = await runOn(b!, p);
          const racy = (checker?.report().length ?? 0) > 0 || (kind === 'fault' && ref.image !== undefined && readsUnwrittenSram(cfg, p, ref.image));
          if (racy) racyCases++;
          const why = disagreement(ref, got, racy);
          if (why) return { kind: 'failed', why };
          return ref.outcome;
        });
      }
      console.log(progress());
      expect(report.failures).toEqual([]);
      if (kind === 'valid') expect(report.ok, 'every valid program runs').toBe(report.cases);
    };

    it(`${VALID.length} random valid programs: identical bytes and counters`, campaign('valid', VALID), 24 * 3600_000);
    it(`${FAULTED.length} fault-injected programs: identical bytes and counters, or the same refusal`, campaign('fault', FAULTED), 24 * 3600_000);
  });
}

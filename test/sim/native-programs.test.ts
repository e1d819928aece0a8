/**
 * Whole programs on the native kernels (GEMM and row DMA) and on the WebAssembly / JavaScript ones:
 * every conformance bundle of the default kit and the int4 set runs on a machine of each kind, and
 * every DRAM byte, every ACC lane and the counters (or the refusal) must be the same. The kit's
 * programs hold the loop-nest and DMA edge cases (padding, strides, refusals) its generator covers.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Bundle, loadBundle, replayRanges } from '../../drivers/bundle.ts';
import { Machine, simulate } from '../../sim/index.ts';
import type { KernelChoice } from '../../sim/kernels.ts';
import { DeviceMemory } from '../../sim/memory.ts';
import { nativeIsas } from '../../sim/native-kernels.ts';

const KIT = join(import.meta.dirname, '..', '..', 'conformance');
const FOLDERS = [KIT, join(KIT, 'int4')];

interface Outcome {
  machine: string;
  error?: string;
  counters?: unknown;
  dram: Buffer[];
  acc: Buffer;
}

function runOn(bundle: Bundle, kernels: KernelChoice): Outcome {
  const memory = new DeviceMemory();
  const regions = replayRanges(bundle).map((r) => memory.allocAt(r.start, r.end - r.start));
  memory.write(bundle.memory.base, bundle.memory.data);
  const machine = new Machine(bundle.config, kernels);
  let outcome: Pick<Outcome, 'error' | 'counters'>;
  try {
    outcome = { counters: simulate(bundle.config, memory, bundle.insn.addr, bundle.insn.count, { machine }) };
  } catch (e) {
    outcome = { error: (e as Error).message };
  }
  const acc = machine.acc;
  return { ...outcome, machine: machine.kernels.name, dram: regions.map((r) => Buffer.from(r.bytes)), acc: Buffer.from(acc.buffer, acc.byteOffset, acc.byteLength) };
}

const isBundle = (f: string) => f.endsWith('.bundle.json');

describe.skipIf(nativeIsas().length === 0)('native kernels against WebAssembly on the conformance programs', () => {
  for (const isa of nativeIsas()) {
    for (const dir of FOLDERS) {
      it(`${isa}: ${dir === KIT ? 'default kit' : 'int4 set'}, every byte the same`, () => {
        const names = readdirSync(dir).filter(isBundle).sort();
        expect(names.length).toBeGreaterThan(10);
        let gemms = 0;
        for (const name of names) {
          const bundle = loadBundle(join(dir, name));
          const wasm = runOn(bundle, 'wasm');
          const native = runOn(bundle, `native-${isa}`);
          expect([wasm.machine, native.machine]).toEqual(['wasm-simd', `native-${isa}`]);
          expect(native.error, name).toBe(wasm.error);
          expect(native.counters, name).toEqual(wasm.counters);
          expect(native.acc.equals(wasm.acc), `${name}: ACC`).toBe(true);
          native.dram.forEach((d, i) => expect(d.equals(wasm.dram[i]!), `${name}: DRAM region ${i}`).toBe(true));
          gemms += (wasm.counters as { gemm_counter?: number } | undefined)?.gemm_counter ?? 0;
        }
        // The programs did run GEMMs (not only refusals).
        expect(gemms).toBeGreaterThan(100);
      });
    }
  }
});

/**
 * How the ResNet-18-shaped network's cycles move with the DRAM model: each board preset, and
 * a sweep of read latency (1, 16, 32, 64, 128 cycles, 8 read bursts in flight, write latency 1)
 * on both bus widths (64, 128 bits), for both quantizations (bench/resnet18.ts). The model is
 * compiled once; each setting is one inference of the first input sample. Outputs must agree byte
 * for byte across settings (timing only). Runs on the `timing` driver, which takes tsim's cycles
 * exactly (the timing area checks every preset against tsim on this network; make test checks the
 * kit, random programs and a compiled network): seconds per setting instead of tsim's tens.
 * Run directly for the tables: npx tsx bench/memory-sweep.ts   (hw/README.md, "Memory model").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openModel, runModel, type Model } from '../api/index.ts';
import { MEMORY_PRESETS, describeMemory, memoryModel, type MemoryModel } from '../drivers/memory-model.ts';
import { VtaError } from '../lib/errors.ts';
import { resnet18Input, resnet18Model, type ResnetQuantization } from './resnet18.ts';

const LATENCIES = [1, 16, 32, 64, 128];
const BUS_BITS = [64, 128];
const SWEEP_OUTSTANDING = 8;

/** The settings: the presets, then latency x bus width. */
function settings(): { key: string; memory: MemoryModel }[] {
  const out = [...MEMORY_PRESETS.values()].map((m) => ({ key: m.name, memory: m }));
  for (const busBits of BUS_BITS) {
    for (const readLatency of LATENCIES) {
      out.push({ key: `lat${readLatency}_bus${busBits}`, memory: memoryModel('ideal', { readLatency, outstanding: SWEEP_OUTSTANDING, busBits }) });
    }
  }
  return out;
}

async function cyclesOf(model: Model, memory: MemoryModel): Promise<{ cycles: number; output: string }> {
  const input = resnet18Input();
  const report = await runModel(model, new Map([[model.graph.inputs[0]!.name, input]]), { driver: 'timing', memory });
  const cycles = report.kernels.reduce((a, k) => a + (k.counters?.cycles ?? 0), 0);
  const output = Buffer.from([...report.outputs.values()].flatMap((t) => Array.from(t.data, (v) => v & 0xff))).toString('base64');
  return { cycles, output };
}

/** Cycles per quantization and setting (`[tvm_]<setting>_cycles`), and each against its ideal memory (`_vs_ideal`). */
export async function runMemorySweep(log: (line: string) => void = () => {}): Promise<Record<string, number | string>> {
  const figures: Record<string, number | string> = {};
  const dir = mkdtempSync(join(tmpdir(), 'vta-memory-sweep-'));
  try {
    for (const quantization of ['onnx', 'tvm'] as ResnetQuantization[]) {
      const { path, options } = resnet18Model(quantization, dir);
      const model = openModel(path, options);
      const prefix = quantization === 'onnx' ? '' : 'tvm_';
      let ideal: number | undefined;
      let reference: string | undefined;
      for (const { key, memory } of settings()) {
        const { cycles, output } = await cyclesOf(model, memory);
        reference ??= output;
        if (output !== reference) throw new VtaError('E_MISMATCH', `ResNet-18 (${quantization}) outputs differ under memory ${describeMemory(memory)}`);
        ideal ??= cycles;
        figures[`${prefix}${key}_cycles`] = cycles;
        figures[`${prefix}${key}_vs_ideal`] = cycles / ideal;
        log(`${quantization} ${key}: ${cycles} cycles (${(cycles / ideal).toFixed(3)}x ideal) ${describeMemory(memory)}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runMemorySweep((line) => console.log(line));
}

/**
 * How the ResNet-18-shaped network's tsim cycles move with the DRAM model: each board preset, and
 * a sweep of read latency (1, 16, 32, 64, 128 cycles, 8 read bursts in flight, write latency 1)
 * on both bus widths (64, 128 bits). The model is compiled once; each setting is one inference
 * of the first input sample. Outputs must agree byte for byte across settings (timing only).
 * Settings whose bus has no tsim build are skipped (`make -C hw rtl` builds config/bus128.json).
 * Run directly for the tables: npx tsx bench/memory-sweep.ts   (hw/README.md, "Memory model").
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openModel, runModel, type Model } from '../api/index.ts';
import { defaultVtaConfig } from '../config/config.ts';
import { addonPath } from '../drivers/backends/tsim.ts';
import { MEMORY_PRESETS, configForMemory, describeMemory, memoryModel, type MemoryModel } from '../drivers/memory-model.ts';
import { VtaError } from '../lib/errors.ts';
import { RESNET18_ONNX, resnet18Input } from './resnet18.ts';

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
  const report = await runModel(model, new Map([[model.graph.inputs[0]!.name, input]]), { driver: 'tsim', memory });
  const cycles = report.kernels.reduce((a, k) => a + (k.counters?.cycles ?? 0), 0);
  const output = Buffer.from([...report.outputs.values()].flatMap((t) => Array.from(t.data, (v) => v & 0xff))).toString('base64');
  return { cycles, output };
}

/** Cycles per setting (`<setting>_cycles`), and each against the ideal memory (`<setting>_vs_ideal`). */
export async function runMemorySweep(log: (line: string) => void = () => {}): Promise<Record<string, number | string>> {
  const cfg = defaultVtaConfig();
  if (!existsSync(addonPath(cfg))) throw new VtaError('E_DRIVER', 'tsim is not built: make -C hw rtl');
  const model = openModel(RESNET18_ONNX);
  const figures: Record<string, number | string> = {};
  let ideal: number | undefined;
  let reference: string | undefined;
  for (const { key, memory } of settings()) {
    if (!existsSync(addonPath(configForMemory(cfg, memory)))) {
      log(`${key}: skipped (no ${memory.busBytes * 8}-bit build)`);
      continue;
    }
    const { cycles, output } = await cyclesOf(model, memory);
    reference ??= output;
    if (output !== reference) throw new VtaError('E_MISMATCH', `ResNet-18 outputs differ under memory ${describeMemory(memory)}`);
    ideal ??= cycles;
    figures[`${key}_cycles`] = cycles;
    figures[`${key}_vs_ideal`] = cycles / ideal;
    log(`${key}: ${cycles} cycles (${(cycles / ideal).toFixed(3)}x ideal) ${describeMemory(memory)}`);
  }
  return figures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runMemorySweep((line) => console.log(line));
}

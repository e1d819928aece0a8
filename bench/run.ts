/**
 * `make bench`: runs every area's benchmark (simulator throughput, RTL speed and utilisation,
 * compiler figures), prints one table per area and writes bench/results/bench.json. Each area's
 * module exports one async function returning named figures; a module not present is skipped.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeFileAtomic } from '../lib/files.ts';
import { describeError } from '../lib/errors.ts';
import { figuresJson, formatTable, type Figures } from './table.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

const AREAS: { name: string; file: string; fn: string }[] = [
  { name: 'startup', file: 'startup-bench.ts', fn: 'runStartupBench' },
  { name: 'fsim', file: 'fsim-throughput.ts', fn: 'runFsimBench' },
  { name: 'tsim', file: 'tsim-throughput.ts', fn: 'runTsimBench' },
  { name: 'compiler', file: 'compiler-bench.ts', fn: 'runCompilerBench' },
  { name: 'quantize', file: 'quantize-bench.ts', fn: 'runQuantizeBench' },
  { name: 'memory', file: 'memory-sweep.ts', fn: 'runMemorySweep' },
  { name: 'timing', file: 'timing-bench.ts', fn: 'runTimingBench' },
  { name: 'tune', file: 'tune-bench.ts', fn: 'runTuneBench' },
];

const only = process.argv.slice(2);
const results: Record<string, ReturnType<typeof figuresJson> | { error: string }> = {};
for (const area of AREAS) {
  if (only.length && !only.includes(area.name)) continue;
  const path = join(HERE, area.file);
  if (!existsSync(path)) continue;
  try {
    const mod = (await import(pathToFileURL(path).href)) as Record<string, () => Promise<Figures>>;
    const figures = await mod[area.fn]!();
    results[area.name] = figuresJson(figures);
    console.log(formatTable(area.name, figures));
  } catch (e) {
    results[area.name] = { error: describeError(e) };
    console.log(`\n${area.name}: ${describeError(e)}`);
  }
}
const out = join(HERE, 'results', 'bench.json');
writeFileAtomic(out, JSON.stringify({ date: new Date().toISOString(), host: { cpus: 2 }, results }, null, 2) + '\n');
console.log(`\nwrote ${out}`);

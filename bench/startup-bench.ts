/**
 * Whole-process figures for `make bench`, each beside `node -e 1` (CPU seconds, medians of 5):
 * `vta --help` (start-up alone; goal within 3× node) and `vta compile` of the ResNet-18-shaped ONNX
 * model to a .vtapkg (goal: 1 CPU second). `bin/vta.mjs` runs the bundle (dist/vta.mjs) when it is
 * newer than every source, else the sources through tsx: build it first (`make deps`) to measure
 * what users run. Run directly for the table: npx tsx bench/startup-bench.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { medianWholeProcess, nodeStartupCpuSeconds } from './measure.ts';
import { RESNET18_ONNX } from './resnet18.ts';
import { figure, formatTable, type Figures } from './table.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const VTA = join(ROOT, 'bin', 'vta.mjs');

export async function runStartupBench(): Promise<Figures> {
  const node = { name: 'node -e 1', value: nodeStartupCpuSeconds() };
  const help = medianWholeProcess([process.execPath, VTA, '--help'], { cwd: ROOT });
  const dir = mkdtempSync(join(tmpdir(), 'vta-startup-bench-'));
  try {
    const compile = medianWholeProcess([process.execPath, VTA, 'compile', RESNET18_ONNX, '-o', join(dir, 'r.vtapkg')], { cwd: ROOT });
    return {
      'node -e 1': figure(node.value, 'CPU s'),
      'vta --help, whole process': figure(help.cpu, 'CPU s', node, '≤ 3× node -e 1'),
      'vta compile resnet18 ONNX → .vtapkg, whole process': figure(compile.cpu, 'CPU s', node, '≤ 1 s'),
      'vta compile resnet18, whole process, wall': figure(compile.wall, 's'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(formatTable('startup', await runStartupBench()));

/** What `vta compile` and `vta run` both print about a compiled model. */
import { describePlacement, placementOf } from '../api/index.ts';
import type { CompiledModel } from '../compiler/compile.ts';

/** The partition (each host step with why it runs on the host), where the steps run, and per-kernel figures. */
export function summarize(model: CompiledModel): string[] {
  const lines = ['partition:', ...model.partition.map((l) => `  ${l}`), `  ${describePlacement(placementOf(model))}`, 'kernels:'];
  for (const k of model.kernels) {
    const t = k.tiling ? ` tile oc${k.tiling.tOC} ic${k.tiling.tIC} h${k.tiling.tOH} w${k.tiling.tOW} x${k.tiling.slots}` : '';
    const b = k.bands && k.bands > 1 ? ` in ${k.bands} channel bands (tile of the first)` : '';
    lines.push(`  ${k.name}: ${k.insnCount} insns, ${k.uopCount} uops, DRAM ${k.dramBytes} B (minimum ${k.minDramBytes} B)${t}${b}`);
  }
  return lines;
}

/** An import note as compile and run print it. */
export const printNote = (note: string): void => console.log(`note: ${note}`);

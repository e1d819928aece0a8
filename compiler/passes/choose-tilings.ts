/**
 * Pass `choose-tilings`: each kernel's tiling, chosen by its kind (tile.ts; a grouped convolution
 * tiles each band width once and reuses it for the bands of that width).
 */
import type { VtaConfig } from '../../config/config.ts';
import { loweringOf, type KernelKind, type TilingOf } from '../lower/table.ts';
import type { PackedKernel } from './pack-constants.ts';
import { firstProblem, type Pass } from './pass.ts';
import type { Placed } from './place-buffers.ts';

export interface TiledKernel<K extends KernelKind = KernelKind> extends PackedKernel<K> {
  tiling: TilingOf<K>;
}

/** A tiling chosen outside the kind's cost model (vta tune's file: compiler/tuning.ts), or undefined to keep the kind's own. */
export type TilingOverride = <K extends KernelKind>(kernel: PackedKernel<K>, cfg: VtaConfig) => TilingOf<K> | undefined;

export interface Tiled extends Placed {
  kernels: TiledKernel[];
}

/** Every tiling fits the SRAMs and fields of the config. */
export function checkTilings(s: Tiled): string | undefined {
  return firstProblem(s.kernels.map((k) => {
    const why = loweringOf(k.kind).checkTiling(k.problem, k.tiling, s.cfg);
    return why && `kernel ${k.name}: ${why}`;
  }));
}

export const chooseTilingsPass: Pass<Placed, Tiled> = {
  name: 'choose-tilings',
  run: (s) => ({ ...s, kernels: s.kernels.map((k) => ({ ...k, tiling: s.options.tilings?.(k, s.cfg) ?? loweringOf(k.kind).tile(k.group, k.problem, s.cfg) })) }),
  verify: checkTilings,
  dump: (s) => s.kernels.map((k) => `${k.name}: ${loweringOf(k.kind).describeTiling(k.tiling)}`).join('\n'),
};

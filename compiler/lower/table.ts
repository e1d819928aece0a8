/** The lowerings by kernel kind: one row per kind; a new kind is one file and one row here. */
import type { VtaGroup } from '../fuse.ts';
import { convLowering } from './conv.ts';
import { eltwiseAddLowering } from './eltwise-add.ts';
import { groupedConvLowering } from './grouped-conv.ts';
import type { KindLowering } from './kind.ts';

export const LOWERINGS = {
  conv: convLowering,
  'grouped-conv': groupedConvLowering,
  'eltwise-add': eltwiseAddLowering,
} as const;

export type KernelKind = keyof typeof LOWERINGS;
export type ProblemOf<K extends KernelKind> = (typeof LOWERINGS)[K] extends KindLowering<infer P, infer _T> ? P : never;
export type TilingOf<K extends KernelKind> = (typeof LOWERINGS)[K] extends KindLowering<infer _P, infer T> ? T : never;

export const KERNEL_KINDS = Object.keys(LOWERINGS) as KernelKind[];

/** The table row of a kind, typed for its problem and tiling. */
export function loweringOf<K extends KernelKind>(kind: K): KindLowering<ProblemOf<K>, TilingOf<K>> {
  return LOWERINGS[kind] as unknown as KindLowering<ProblemOf<K>, TilingOf<K>>;
}

/** The kinds that lower a group (exactly one for every group the partition sends to VTA). */
export const kindsMatching = (g: VtaGroup): KernelKind[] => KERNEL_KINDS.filter((k) => LOWERINGS[k].matches(g));

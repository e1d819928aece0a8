/**
 * The default pass list, in order:
 *
 *   shapes → partition → offload-check → name-kernels → build-problems → pack-constants →
 *   place-buffers → choose-tilings → tensorize → sync → emit → link
 *
 * and helpers to derive a list from it.
 */
import { buildProblemsPass } from './build-problems.ts';
import { chooseTilingsPass } from './choose-tilings.ts';
import { emitPass } from './emit.ts';
import { linkPass } from './link.ts';
import { nameKernelsPass } from './name-kernels.ts';
import { packConstantsPass } from './pack-constants.ts';
import { offloadCheckPass, partitionPass } from './partition.ts';
import type { Pass } from './pass.ts';
import { placeBuffersPass } from './place-buffers.ts';
import { shapesPass } from './shapes.ts';
import { syncPass } from './sync.ts';
import { tensorizePass } from './tensorize.ts';

export const DEFAULT_PASSES: readonly Pass[] = Object.freeze([
  shapesPass,
  partitionPass,
  offloadCheckPass,
  nameKernelsPass,
  buildProblemsPass,
  packConstantsPass,
  placeBuffersPass,
  chooseTilingsPass,
  tensorizePass,
  syncPass,
  emitPass,
  linkPass,
]);

function indexOf(passes: readonly Pass[], name: string): number {
  const i = passes.findIndex((p) => p.name === name);
  if (i < 0) throw new Error(`no pass named ${name} (passes: ${passes.map((p) => p.name).join(', ')})`);
  return i;
}

/** `passes` with `pass` inserted before the pass named `before`. */
export function insertPass(passes: readonly Pass[], before: string, pass: Pass): Pass[] {
  const out = [...passes];
  out.splice(indexOf(passes, before), 0, pass);
  return out;
}

/**
 * `passes` with the pass named `name` replaced by `pass`, which produces the same result: it keeps
 * the replaced pass's IR check and printer unless it has its own.
 */
export function replacePass(passes: readonly Pass[], name: string, pass: Pass): Pass[] {
  const out = [...passes];
  const i = indexOf(passes, name);
  const { verify, dump } = passes[i]!;
  out[i] = { ...(verify ? { verify } : {}), ...(dump ? { dump } : {}), ...pass };
  return out;
}

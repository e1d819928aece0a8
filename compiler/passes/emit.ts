/** Pass `emit`: instructions, uop images and symbolic relocations per kernel (compiler/emit.ts). */
import { formatInsn } from '../../isa/index.ts';
import { emitKernel, type EmittedKernel } from '../emit.ts';
import { verifyTokens } from '../sync.ts';
import type { Pass } from './pass.ts';
import { problemOf, type Synced, type SyncedKernel } from './sync.ts';

export interface EmittedKernelPlan extends SyncedKernel {
  emitted: EmittedKernel;
}

export interface Emitted extends Synced {
  kernels: EmittedKernelPlan[];
}

export const uopBuffer = (kernel: string) => `${kernel}.uops`;

/** Tokens balanced in every stream; every relocation names a placed buffer or the kernel's uops. */
export function checkEmitted(s: Emitted): string | undefined {
  for (const k of s.kernels) {
    const why = problemOf(() => verifyTokens(k.emitted.insns));
    if (why) return `kernel ${k.name}: ${why}`;
    const bad = k.emitted.relocs.find((r) => r.buffer !== uopBuffer(k.name) && !s.plan.buffers.has(r.buffer));
    if (bad) return `kernel ${k.name}: instruction ${bad.insn} refers to ${bad.buffer}, which is not placed`;
    if (k.emitted.relocs.some((r) => r.insn >= k.emitted.insns.length)) return `kernel ${k.name}: a relocation names an instruction past the stream`;
  }
  return undefined;
}

export const emitPass: Pass<Synced, Emitted> = {
  name: 'emit',
  run(s) {
    const kernels = s.kernels.map((k) => {
      const emitted = emitKernel(k.name, k.ops, k.flags, s.cfg);
      // Always, not only with verify: a stream that could deadlock must never leave the compiler.
      verifyTokens(emitted.insns);
      return { ...k, emitted };
    });
    return { ...s, kernels };
  },
  verify: checkEmitted,
  dump: (s) =>
    s.kernels
      .map((k) => [`${k.name}: ${k.emitted.insns.length} instructions, ${k.emitted.uops.length} uops`, ...k.emitted.insns.map((i, n) => `${String(n).padStart(6)}  ${formatInsn(s.cfg, i)}`)].join('\n'))
      .join('\n'),
};

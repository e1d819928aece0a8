/** Pass `sync`: dependency flags per op (compiler/sync.ts insertSync). */
import { type Insn, MEM_TYPE } from '../../isa/index.ts';
import { OPCODE_OF } from '../kernel-ir.ts';
import { insertSync, verifyTokens, type SyncFlags } from '../sync.ts';
import type { Pass } from './pass.ts';
import { dumpOps, type Tensorized, type TensorizedKernel } from './tensorize.ts';

export interface SyncedKernel extends TensorizedKernel {
  flags: SyncFlags[];
}

export interface Synced extends Tensorized {
  kernels: SyncedKernel[];
}

/** Run a check and turn its E_INTERNAL error into the problem it names. */
export function problemOf(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * One flag set per op, and tokens balanced: the ops' flags, replayed in program order as the
 * instructions they become, never pop an empty queue and leave none behind (sync.ts verifyTokens).
 */
export function checkFlags(s: Synced): string | undefined {
  for (const k of s.kernels) {
    if (k.flags.length !== k.ops.length) return `kernel ${k.name} has ${k.flags.length} flag sets for ${k.ops.length} ops`;
    const asInsns = k.ops.map((op, i) => ({ opcode: OPCODE_OF[op.kind], memory_type: op.kind === 'load' ? op.memType : MEM_TYPE.OUT, ...k.flags[i]! }) as unknown as Insn);
    const why = problemOf(() => verifyTokens(asInsns));
    if (why) return `kernel ${k.name}: ${why}`;
  }
  return undefined;
}

const flagText = (f: SyncFlags) =>
  (['pop_prev', 'pop_next', 'push_prev', 'push_next'] as const).filter((n) => f[n]).map((n) => ` ${n}`).join('');

export const syncPass: Pass<Tensorized, Synced> = {
  name: 'sync',
  run: (s) => ({ ...s, kernels: s.kernels.map((k) => ({ ...k, flags: insertSync(k.ops, s.cfg.accDepth) })) }),
  verify: checkFlags,
  dump: (s) => s.kernels.map((k) => dumpOps(k.name, k.ops, (i) => flagText(k.flags[i]!))).join('\n'),
};

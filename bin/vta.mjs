#!/usr/bin/env node
// The `vta` command. It runs dist/vta.mjs, which starts the bundle `make deps` builds (dist/vta.cjs,
// scripts/build.ts) from V8's code cache, so no TypeScript is compiled at start-up. In a checkout whose sources changed since that build (a file
// the bundle holds is newer than it or gone), with no bundle, or with VTA_DEV=1, it runs the
// sources through tsx instead: an edit never runs stale code. An installed package has no sources.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// A command is a short process, so V8's defaults for long-lived ones cost it (measured on `vta compile`
// of the ResNet-18-shaped model, whole process, paired runs): the optimising compiler's threads
// optimise over a hundred functions that run a few times (a higher tier-up budget, 400,000 bytecodes
// for V8's 67,584: 0.87x the CPU, only really hot code is optimised; 800,000 with the code cache:
// 0.92x of 400,000, a fsim run of the package 0.94x; 600,000 and 1,600,000 cost more), and the
// young generation grows to 16 MiB, each new page a page fault (kept at its first size: 0.94x, 7000
// faults fewer). Its 180-odd scavenges of 1 MiB run on the main thread alone: helper threads cost
// more to start and join than they save there (0.96-0.98x). Set before any of the toolchain's code
// loads, so every function of it sees them, and before the bundle's code cache is read: V8 takes a
// cache only under the flags it was made with.
setFlagsFromString('--interrupt-budget=800000');
setFlagsFromString('--semi-space-growth-factor=1');
setFlagsFromString('--no-parallel-scavenge');
// tsim clocks each device on a thread of libuv's pool (4 threads unless this says otherwise, read
// when the pool first starts): one per core, so that `vta run --driver tsim` spreads a network's
// kernels over every core (compiler/execute-parallel.ts).
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism()));

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = `${root}dist/vta.mjs`;

function bundleIsCurrent() {
  if (process.env.VTA_DEV) return false;
  const built = statSync(bundle, { throwIfNoEntry: false });
  if (!built) return false;
  if (!existsSync(`${root}cli/main.ts`)) return true;
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(`${root}dist/vta.inputs.json`, 'utf8'));
  } catch {
    return false;
  }
  return inputs.every((f) => {
    const s = statSync(root + f, { throwIfNoEntry: false });
    return s !== undefined && s.mtimeMs <= built.mtimeMs;
  });
}

if (bundleIsCurrent()) {
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}

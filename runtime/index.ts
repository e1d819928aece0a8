/** The VTA runtime: device buffers, micro-op kernels and the command builder (spec §4.2). */
export * from './errors.ts';
export * from './buffer.ts';
export * from './uop-kernel.ts';
export * from './uop-cache.ts';
export * from './insn-queue.ts';
export * from './dump.ts';
export * from './command-queue.ts';

export * from './fields.ts';
export * from './encoding.ts';
export * from './disasm.ts';
export * from './asm.ts';
export * from './pipeline.ts';

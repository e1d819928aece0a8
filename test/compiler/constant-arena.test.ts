/**
 * pack-constants packs constants into one arena where the const segment places them, and link
 * takes the arena as the constant image instead of copying; when a constant cannot go there, or
 * the plan places the constants elsewhere, link copies them into a new image, which is the same.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { BUFFER_ALIGN, MemoryPlan } from '../../compiler/memplan.ts';
import { type ImageAllocator, packActivation, packBias } from '../../compiler/pack.ts';
import { ConstantArena } from '../../compiler/passes/pack-constants.ts';
import { compile, denseGraph, rng } from './helpers.ts';

const cfg = defaultVtaConfig();
const bias = (allocate?: ImageAllocator) => packBias(Int32Array.from([1, -2, 3, 70000]), cfg, allocate);
const operand = (allocate?: ImageAllocator) =>
  packActivation({ shape: [3, 20], dtype: 'int8', data: Int8Array.from({ length: 60 }, (_, i) => i - 30) }, cfg, allocate);

function placed(names: [string, Uint8Array][]): MemoryPlan {
  const plan = new MemoryPlan();
  for (const [name, bytes] of names) plan.place(name, 'const', bytes.length);
  return plan;
}

describe('ConstantArena', () => {
  it('packs each constant in place and is the image of a plan that places them in that order', () => {
    const arena = new ConstantArena(4 * BUFFER_ALIGN);
    const constants = new Map([['b', arena.pack('b', bias)], ['x', arena.pack('x', operand)]]);
    for (const bytes of constants.values()) expect(bytes.buffer).toBe(arena.memory.buffer);
    expect(constants.get('x')!.byteOffset - arena.memory.byteOffset).toBe(BUFFER_ALIGN);
    expect([...constants.get('b')!]).toEqual([...bias()]);
    expect([...constants.get('x')!]).toEqual([...operand()]);
    const plan = placed([...constants]);
    const image = arena.imageFor(constants, plan)!;
    expect(image).toBeDefined();
    expect(image.length).toBe(plan.sizes.const);
    const copied = new Uint8Array(plan.sizes.const);
    for (const [name, bytes] of constants) copied.set(bytes, plan.get(name).offset);
    expect([...image]).toEqual([...copied]);
  });

  it('is no image when the plan places the constants otherwise or holds others', () => {
    const arena = new ConstantArena(4 * BUFFER_ALIGN);
    const constants = new Map([['b', arena.pack('b', bias)], ['x', arena.pack('x', operand)]]);
    expect(arena.imageFor(constants, placed([['x', constants.get('x')!], ['b', constants.get('b')!]]))).toBeUndefined();
    expect(arena.imageFor(new Map([['b', constants.get('b')!]]), placed([['b', constants.get('b')!]]))).toBeUndefined();
  });

  it('packs a constant that does not fit on its own, and is then no image', () => {
    const arena = new ConstantArena(8);
    const constants = new Map([['x', arena.pack('x', operand)]]);
    expect(constants.get('x')!.buffer).not.toBe(arena.memory.buffer);
    expect([...constants.get('x')!]).toEqual([...operand()]);
    expect(arena.imageFor(constants, placed([...constants]))).toBeUndefined();
  });

  it('leaves zeros where a packer wrote an image it did not return, and places the next constant there', () => {
    const arena = new ConstantArena(4 * BUFFER_ALIGN);
    const copy = arena.pack('b', (allocate) => new Uint8Array(bias(allocate)));
    expect(copy.buffer).not.toBe(arena.memory.buffer);
    expect(arena.memory.every((v) => v === 0)).toBe(true);
    const x = arena.pack('x', operand);
    expect(x.byteOffset).toBe(arena.memory.byteOffset);
  });

  it('is the constant image of a compiled model (the e2e tests run such models bit-exact)', () => {
    const model = compile(denseGraph(rng(3), 16, 40, 24, { bias: true, shift: 6, relu: true }));
    expect(model.constImage.length).toBeGreaterThan(0);
    // Adopted: a view on the arena, which has room to spare.
    expect(model.constImage.buffer.byteLength).toBeGreaterThan(model.constImage.length);
  });
});

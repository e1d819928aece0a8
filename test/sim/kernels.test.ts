/**
 * The WebAssembly SIMD GEMM and ALU against the JavaScript kernels (themselves checked against plain
 * references in semantics and config tests): random uop lists and loop nests on random SRAM,
 * every ACC lane compared, for the default and the b2x8 shapes.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig, type VtaConfig } from '../../config/config.ts';
import type { LoopNest } from '../../isa/pipeline.ts';
import { createKernels, type SimKernels } from '../../sim/kernels.ts';
import { randomBytes } from './harness.ts';

function fillSame(a: SimKernels, b: SimKernels, seed: number): void {
  for (const key of ['inp', 'wgt', 'acc'] as const) {
    const bytes = randomBytes(a.storage[key].byteLength, seed++);
    new Uint8Array(a.storage[key].buffer, a.storage[key].byteOffset, bytes.length).set(bytes);
    new Uint8Array(b.storage[key].buffer, b.storage[key].byteOffset, bytes.length).set(bytes);
  }
}

/** A random in-range nest: indices stay below each depth by construction. */
function randomNest(cfg: VtaConfig, seed: number): { uops: [number, number, number][]; loop: LoopNest } {
  const r = randomBytes(64, seed);
  let p = 0;
  const next = (n: number) => r[p++]! % n;
  const iterOut = 1 + next(6);
  const iterIn = 1 + next(6);
  const f = () => next(9);
  const loop = { iterOut, iterIn, dstOut: f(), dstIn: f(), srcOut: f(), srcIn: f(), wgtOut: f(), wgtIn: f() };
  const n = 1 + next(7);
  const room = (depth: number, o: number, i: number) => depth - (iterOut - 1) * o - (iterIn - 1) * i;
  const uops = Array.from({ length: n }, (): [number, number, number] => [
    (r[p++]! * 7) % room(cfg.accDepth, loop.dstOut, loop.dstIn),
    (r[p++]! * 5) % room(cfg.inpDepth, loop.srcOut, loop.srcIn),
    (r[p++]! * 3) % room(cfg.wgtDepth, loop.wgtOut, loop.wgtIn),
  ]);
  return { uops, loop };
}

function setUops(k: SimKernels, uops: [number, number, number][]): void {
  uops.forEach(([d, s, w], i) => {
    k.storage.uops.dst[i] = d;
    k.storage.uops.src[i] = s;
    k.storage.uops.wgt[i] = w;
  });
  k.storage.uops.count = uops.length;
}

const configs: [string, VtaConfig][] = [
  ['default 1x16x16', defaultVtaConfig()],
  ['b2x8', loadConfig(new URL('../../config/b2x8.json', import.meta.url).pathname)],
];

for (const [name, cfg] of configs) {
  describe(`kernels, ${name}`, () => {
    it('the WebAssembly SIMD GEMM is available and equals the JavaScript GEMM bit for bit', () => {
      const js = createKernels(cfg, 'js');
      const wasm = createKernels(cfg, 'wasm');
      expect([js.name, wasm.name]).toEqual(['js', 'wasm-simd']);
      fillSame(js, wasm, 1);
      const before = js.storage.acc.slice();
      for (let t = 0; t < 200; t++) {
        const { uops, loop } = randomNest(cfg, 1000 + t);
        setUops(js, uops);
        setUops(wasm, uops);
        js.gemm(loop);
        wasm.gemm(loop);
      }
      // Random data drives many lanes through int32 wrap-around; every lane must agree.
      expect(Buffer.from(wasm.storage.acc.buffer, wasm.storage.acc.byteOffset, wasm.storage.acc.byteLength).equals(Buffer.from(js.storage.acc.buffer))).toBe(true);
      // ...and the nests really did work: hundreds of lanes changed.
      expect(js.storage.acc.filter((v, i) => v !== before[i]).length).toBeGreaterThan(500);
    });

    it('the WebAssembly SIMD ALU equals the JavaScript ALU for every opcode, immediate and tensor', () => {
      const js = createKernels(cfg, 'js');
      const wasm = createKernels(cfg, 'wasm');
      fillSame(js, wasm, 5);
      const accBytes = (k: SimKernels) => Buffer.from(k.storage.acc.buffer, k.storage.acc.byteOffset, k.storage.acc.byteLength);
      const imms = [0, 1, 5, 31, 32, 33, -1, -5, -31, -32, -33, 32767, -32768, 200, -200];
      let t = 0;
      for (let op = 0; op <= 4; op++) {
        for (const useImm of [false, true]) {
          for (let rep = 0; rep < 12; rep++, t++) {
            const { uops, loop } = randomNest({ ...cfg, inpDepth: cfg.accDepth, wgtDepth: 1 }, 5000 + t);
            setUops(js, uops);
            setUops(wasm, uops);
            const imm = imms[t % imms.length]!;
            js.alu(loop, op, useImm, imm);
            wasm.alu(loop, op, useImm, imm);
            expect(accBytes(wasm).equals(accBytes(js)), `op ${op} imm ${useImm ? imm : 'tensor'} case ${rep}`).toBe(true);
          }
        }
      }
    });
  });
}

/**
 * The WebAssembly SIMD GEMM and ALU against the JavaScript kernels (themselves checked against plain
 * references in semantics and config tests): random uop lists and loop nests on random SRAM,
 * every ACC lane compared, for the default and the b2x8 shapes.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig, type VtaConfig } from '../../config/config.ts';
import type { LoopNest } from '../../isa/pipeline.ts';
import { createKernels, type SimKernels } from '../../sim/kernels.ts';
import { nativeIsas } from '../../sim/native-kernels.ts';
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

/**
 * The native GEMM (sim/native/, every instruction set this CPU has) against the WebAssembly GEMM,
 * every ACC byte compared: random nests, extreme operands through int32 wrap-around, runs of uops
 * sharing a weight tile (the native nest keeps it in registers), and WGT rewritten between two
 * instructions (the native nest caches transposed tiles for one instruction only).
 */
const accBytesOf = (k: SimKernels) => Buffer.from(k.storage.acc.buffer, k.storage.acc.byteOffset, k.storage.acc.byteLength);

for (const [name, cfg] of configs) {
  describe(`native GEMM, ${name}`, () => {
    if (nativeIsas().length === 0) {
      it('without the addon or a VNNI CPU, auto falls back to the WebAssembly kernels and native refuses', () => {
        expect(createKernels(cfg).name).toBe('wasm-simd');
        expect(() => createKernels(cfg, 'native')).toThrow(/native fsim GEMM/);
      });
      return;
    }
    it('auto takes the best native instruction set here', () => {
      expect(createKernels(cfg).name).toBe(`native-${nativeIsas()[0]}`);
    });
    for (const isa of nativeIsas()) {
      const pair = () => {
        const wasm = createKernels(cfg, 'wasm');
        const native = createKernels(cfg, `native-${isa}`);
        expect(native.name).toBe(`native-${isa}`);
        return { wasm, native, both: [wasm, native] };
      };
      const run = (ks: SimKernels[], uops: [number, number, number][], loop: LoopNest) => {
        for (const k of ks) {
          setUops(k, uops);
          k.gemm(loop);
        }
      };

      it(`${isa}: random nests equal the WebAssembly GEMM bit for bit`, () => {
        const { wasm, native, both } = pair();
        fillSame(wasm, native, 11);
        const before = wasm.storage.acc.slice();
        for (let t = 0; t < 200; t++) {
          const { uops, loop } = randomNest(cfg, 3000 + t);
          run(both, uops, loop);
        }
        expect(accBytesOf(native).equals(accBytesOf(wasm))).toBe(true);
        expect(wasm.storage.acc.filter((v, i) => v !== before[i]).length).toBeGreaterThan(500);
      });

      it(`${isa}: GEMM with reset_reg zeroes the tiles the JavaScript reset zeroes`, () => {
        const { wasm, native, both } = pair();
        fillSame(wasm, native, 31);
        const before = wasm.storage.acc.slice();
        for (let t = 0; t < 50; t++) {
          const { uops, loop } = randomNest(cfg, 7000 + t);
          for (const k of both) {
            setUops(k, uops);
            k.gemmReset(loop);
          }
        }
        expect(accBytesOf(native).equals(accBytesOf(wasm))).toBe(true);
        expect(wasm.storage.acc.filter((v, i) => v === 0 && before[i] !== 0).length).toBeGreaterThan(100);
      });

      it(`${isa}: extreme operands wrap as the WebAssembly GEMM does`, () => {
        const { wasm, native, both } = pair();
        for (const k of both) {
          k.storage.inp.forEach((_, i, a) => (a[i] = i % 3 === 0 ? -128 : i % 3 === 1 ? 127 : -1));
          k.storage.wgt.forEach((_, i, a) => (a[i] = i % 5 === 0 ? 127 : -128));
          k.storage.acc.forEach((_, i, a) => (a[i] = i % 2 ? 0x7fffffff : -0x80000000));
        }
        const loop = { iterOut: 3, iterIn: 4, dstOut: 1, dstIn: 0, srcOut: 0, srcIn: 1, wgtOut: 1, wgtIn: 2 };
        run(both, [[0, 0, 0], [5, 3, 1], [0, 7, 0]], loop);
        expect(accBytesOf(native).equals(accBytesOf(wasm))).toBe(true);
        expect(native.storage.acc[0]).not.toBe(0x7fffffff);
      });

      it(`${isa}: runs of uops sharing a weight tile, and WGT rewritten between instructions`, () => {
        const { wasm, native, both } = pair();
        fillSame(wasm, native, 21);
        // Tiles 4 4 4 9 4 9 9: held, switched, switched back; j moves the tile by wgtIn.
        const uops: [number, number, number][] = [4, 4, 4, 9, 4, 9, 9].map((w, k) => [k * 3, k, w]);
        const loop = { iterOut: 2, iterIn: 3, dstOut: 1, dstIn: 40, srcOut: 2, srcIn: 9, wgtOut: 0, wgtIn: 7 };
        const initial = native.storage.acc.slice();
        run(both, uops, loop);
        expect(accBytesOf(native).equals(accBytesOf(wasm))).toBe(true);
        const rewritten = randomBytes(cfg.blockOut * cfg.blockIn * 30, 99);
        for (const k of both) new Uint8Array(k.storage.wgt.buffer, k.storage.wgt.byteOffset, rewritten.length).set(rewritten);
        const after = native.storage.acc.slice();
        run(both, uops, loop);
        expect(accBytesOf(native).equals(accBytesOf(wasm))).toBe(true);
        // The new weights changed what the same nest adds (so a stale tile could not pass above).
        const added = (to: Int32Array, from: Int32Array) => to.map((v, i) => (v - from[i]!) | 0);
        expect(Buffer.from(added(native.storage.acc, after).buffer).equals(Buffer.from(added(after, initial).buffer))).toBe(false);
      });
    }
  });
}

/**
 * The native GEMM nest (sim/native/fsim_kernels.cc, a Node-API addon built by `make deps`): AVX-512
 * VNNI or AVX-VNNI, the best the CPU has; also the DMA of strided LOADs and STOREs at 8 bits, one
 * call per instruction instead of a JavaScript copy per row. Optional: when the addon was not
 * built (an installed package), cannot load, or the CPU or tile shape does not suit it, fsim keeps
 * the WebAssembly GEMM and JavaScript DMA, which give the same bytes. The ALU stays in
 * WebAssembly: its calls are many and short, and a call into WebAssembly costs less than one
 * through Node-API.
 *
 * The native code works on the WebAssembly kernels' memory (the SRAMs and uop lists where
 * wasm-kernels.ts lays them out); a call writes the loop into that memory's argument block and
 * crosses into native code without arguments to convert.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { packagePath } from '../lib/paths.ts';
import type { WasmLayout, WasmShape } from './wasm-kernels.ts';

/** Where `make deps` leaves the addon (node-gyp's output folder). */
export const NATIVE_ADDON = packagePath('sim', 'native', 'build', 'Release', 'vta_fsim.node');

/** Slots of the int32 argument block (layout.args), in the order fsim_kernels.cc reads them. */
export const NATIVE_ARG = { count: 0, iterOut: 1, iterIn: 2, dstOut: 3, dstIn: 4, srcOut: 5, srcIn: 6, wgtOut: 7, wgtIn: 8 } as const;
/** The DMA calls' slots. */
export const NATIVE_DMA_ARG = { stride: 16, rowBytes: 17, rows: 18, sramAt: 19, pitch: 20, pad0: 21, pad1: 22, signExtend: 23 } as const;

/** The native GEMM's instruction sets, best first. */
export const NATIVE_ISAS = ['avx512vnni', 'avxvnni'] as const;
export type NativeIsa = (typeof NATIVE_ISAS)[number];

export interface NativeKernels {
  /** The GEMM of the loop in the argument block, on the uops [0, count) of the lists. */
  gemm(): void;
  /** The same nest with reset_reg: ACC[dst] = 0. */
  reset(): void;
  /** LOAD rows of `dram` into the SRAM as the DMA slots say (fsim_kernels.cc LoadRows). */
  loadRows(dram: Uint8Array): void;
  /** STORE rows of ACC lanes into `dram` as the DMA slots say (fsim_kernels.cc StoreRows). */
  storeRows(dram: Uint8Array): void;
}

interface Addon {
  features(): string;
  Kernels: new (buffer: ArrayBuffer, offsets: Record<string, number>, shape: Record<string, number>, isa: string) => NativeKernels;
}

let addon: Addon | null | undefined;

function loadAddon(): Addon | null {
  if (addon === undefined) {
    try {
      addon = existsSync(NATIVE_ADDON) ? (createRequire(import.meta.url)(NATIVE_ADDON) as Addon) : null;
    } catch {
      // Built for another Node ABI or platform: the WebAssembly kernels serve instead.
      addon = null;
    }
  }
  return addon;
}

/** The instruction sets the native GEMM can use on this CPU, best first (none without the addon). */
export function nativeIsas(): NativeIsa[] {
  const here = (loadAddon()?.features() ?? '').split(',');
  return NATIVE_ISAS.filter((i) => here.includes(i));
}

/** The best of them, or undefined. */
export function nativeIsa(): NativeIsa | undefined {
  return nativeIsas()[0];
}

/**
 * The native kernels over `memory` laid out as `layout` (the WebAssembly kernels' memory), with
 * instruction set `isa` (default the best here), or undefined when the addon or the CPU feature is
 * missing or the tile shape is not one the native nest handles.
 */
export function instantiateNativeKernels(shape: WasmShape & { wgtDepth: number }, layout: WasmLayout, memory: ArrayBuffer, isa = nativeIsa()): NativeKernels | undefined {
  const a = loadAddon();
  if (!a || !isa) return undefined;
  const offsets = { inp: layout.inp, wgt: layout.wgt, acc: layout.acc, dst: layout.dst, src: layout.src, wgtIdx: layout.wgtIdx, args: layout.args };
  try {
    return new a.Kernels(memory, offsets, { ...shape }, isa);
  } catch {
    return undefined; // an instruction set this CPU lacks, or a tile shape the native nest does not cover
  }
}

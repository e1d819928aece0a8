/**
 * The machine state of the functional simulator: the four on-chip SRAMs sized from the config and
 * the four dependency-token counters. There is no OUT buffer: STORE writes the low OUT-width bits
 * of ACC (Decision 2). Each SRAM also has a byte view over the same memory, so DMA at 8 bits is a
 * plain byte copy (SRAM and DRAM tile images are identical, little-endian, spec §3.1). INP and WGT
 * keep one value per byte at every width: LOAD unpacks 2- and 4-bit DRAM tiles (isa/elements.ts),
 * so the GEMM kernels never see the packing.
 */
import type { VtaConfig } from '../config/config.ts';
import { QUEUE_NAMES, type SramView, formatCounts } from '../isa/pipeline.ts';
import { type KernelChoice, type SimKernels, createKernels } from './kernels.ts';

if (new Uint8Array(Uint32Array.of(1).buffer)[0] !== 1) {
  // The byte views below rely on the host being little-endian, as the DRAM image is.
  throw new Error('the VTA simulator needs a little-endian host');
}

export class Machine implements SramView {
  readonly cfg: VtaConfig;
  /** The hot loops; they own the SRAM storage below. */
  readonly kernels: SimKernels;
  readonly uop: Uint32Array;
  readonly inp: Int8Array;
  readonly wgt: Int8Array;
  readonly acc: Int32Array;
  /** Byte views of the same buffers (for DMA). */
  readonly uopBytes: Uint8Array;
  readonly inpBytes: Uint8Array;
  readonly wgtBytes: Uint8Array;
  readonly accBytes: Uint8Array;
  /** Tokens waiting per queue, indexed by Queue (fsim's queues carry no data, so a count suffices). */
  readonly tokens = new Int32Array(QUEUE_NAMES.length);

  constructor(cfg: VtaConfig, kernels: KernelChoice = 'auto') {
    this.cfg = cfg;
    this.kernels = createKernels(cfg, kernels);
    ({ uop: this.uop, inp: this.inp, wgt: this.wgt, acc: this.acc } = this.kernels.storage);
    const bytes = (a: Uint32Array | Int8Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    this.uopBytes = bytes(this.uop);
    this.inpBytes = bytes(this.inp);
    this.wgtBytes = bytes(this.wgt);
    this.accBytes = bytes(this.acc);
  }

  /** Every run starts with empty token queues (Decision 9); SRAM persists like hardware. */
  clearTokens(): void {
    this.tokens.fill(0);
  }

  tokenSummary(): string {
    return formatCounts(this.tokens);
  }
}

/**
 * The load stage's engine (hw/rtl/vta_load.sv): INP and WGT LOADs, one at a time, each a padded
 * 2-D load through the load stage's read client.
 */
import type { VtaConfig } from '../../config/config.ts';
import { MEM_TYPE, type Insn, type MemInsn } from '../../isa/index.ts';
import { TensorLoad } from './tensor-load.ts';

export class LoadEngine {
  readonly tensor: TensorLoad;

  constructor(
    private readonly cfg: VtaConfig,
    busBytes: number,
  ) {
    this.tensor = new TensorLoad(busBytes);
  }

  /** Start a LOAD; true when it is done at once. */
  start(insn: Insn): boolean {
    const mem = insn as MemInsn;
    const tileBytes = mem.memory_type === MEM_TYPE.WGT ? this.cfg.wgtElemBytes : this.cfg.inpElemBytes;
    return this.tensor.start(mem, tileBytes, mem.dram_base * tileBytes);
  }
}

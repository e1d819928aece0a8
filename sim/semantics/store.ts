/**
 * STORE (spec §3.3): a 2-D strided DMA from ACC to DRAM that keeps the low OUT-width bits of every
 * lane (fsim has no OUT buffer, Decision 2), packed as isa/elements.ts defines below 8 bits. Only
 * memory type OUT, no padding; the SRAM side is contiguous (pitch x_size). x_size = 0 is a no-op whatever the other fields say, as in fsim.
 */
import { packSigned } from '../../isa/elements.ts';
import { MEM_TYPE, MEM_TYPE_NAMES, type MemInsn } from '../../isa/index.ts';
import { InsnFault, sramRange } from '../errors.ts';
import type { ExecContext } from './context.ts';

/** DRAM bytes `dst` = the ACC lanes from `lane` narrowed to `width` bits. */
function storeRow(ctx: ExecContext, dst: Uint8Array, lane: number, width: number): void {
  if (width === 8) {
    ctx.kernels.truncateRow(dst, lane);
    return;
  }
  const count = (dst.length * 8) / width;
  packSigned(ctx.kernels.storage.acc.subarray(lane, lane + count), width, dst);
}

export function execStore(ctx: ExecContext, insn: MemInsn): void {
  const { x_size: xSize, y_size: ySize } = insn;
  if (xSize === 0) return;
  if (insn.memory_type !== MEM_TYPE.OUT) {
    const name = MEM_TYPE_NAMES[insn.memory_type] ?? `unknown memory type ${insn.memory_type}`;
    throw new InsnFault(`STORE must use memory type OUT, not ${name}`);
  }
  if (insn.y_pad_0 || insn.y_pad_1 || insn.x_pad_0 || insn.x_pad_1) {
    throw new InsnFault('STORE cannot pad: y_pad_0, y_pad_1, x_pad_0 and x_pad_1 must be 0');
  }
  const { cfg, memory } = ctx;
  const depth = cfg.accDepth;
  const end = insn.sram_base + xSize * ySize;
  if (end > depth) throw sramRange('acc', end - 1, depth, ` for sram_base ${insn.sram_base} + ${ySize} rows of ${xSize} elements`);
  if (ySize === 0) return; // nothing to write, so no DRAM address to check
  const lanes = cfg.lanesPerUop;
  const elem = cfg.outElemBytes;
  const width = cfg.outWidth;
  const rows = ctx.kernels.rows;
  if (rows && width === 8) {
    const dram = memory.viewInside(insn.dram_base * elem, ((ySize - 1) * insn.x_stride + xSize) * elem);
    if (dram) {
      rows.store(dram, insn.x_stride * elem, xSize * elem, ySize, ctx.kernels.storage.acc.byteOffset + insn.sram_base * lanes * 4);
      ctx.counters.out_store_nbytes += xSize * ySize * elem;
      return;
    }
  }
  if (insn.x_stride === xSize) {
    // Rows contiguous in DRAM as they are in SRAM: one pass.
    storeRow(ctx, memory.view(insn.dram_base * elem, xSize * ySize * elem), insn.sram_base * lanes, width);
    ctx.counters.out_store_nbytes += xSize * ySize * elem;
    return;
  }
  for (let y = 0; y < ySize; y++) {
    const dst = memory.view((insn.dram_base + y * insn.x_stride) * elem, xSize * elem);
    storeRow(ctx, dst, (insn.sram_base + y * xSize) * lanes, width);
  }
  ctx.counters.out_store_nbytes += xSize * ySize * elem;
}

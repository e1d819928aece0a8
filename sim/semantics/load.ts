/**
 * LOAD (spec §3.2): a 2-D strided DMA from DRAM into an SRAM, with zero padding on every memory
 * type (Decision 5). SRAM rows are contiguous with pitch x_pad_0 + x_size + x_pad_1. ACC_8BIT
 * sign-extends each DRAM byte into one int32 accumulator lane. INP and WGT narrower than 8 bits are
 * packed in DRAM (isa/elements.ts) and unpacked to one value per SRAM byte. x_size = 0 is a no-op.
 */
import { unpackSigned } from '../../isa/elements.ts';
import { MEM_TYPE, type MemInsn, memElemBytes } from '../../isa/index.ts';
import type { Counters } from '../../isa/pipeline.ts';
import { InsnFault, sramRange } from '../errors.ts';
import type { Machine } from '../machine.ts';
import type { ExecContext } from './context.ts';

interface LoadTarget {
  buffer: string;
  depth: number;
  /** SRAM bytes per element. */
  elemBytes: number;
  bytes: Uint8Array;
  /** Bits per DRAM value: 8 copies bytes as they are; 2 and 4 unpack into `values`. */
  width: number;
  values?: Int8Array;
  counter: keyof Counters;
}

/** Per machine, the target of each loadable memory type (built once: loads are frequent). */
const targetsByMachine = new WeakMap<Machine, (LoadTarget | undefined)[]>();

function targets(m: Machine): (LoadTarget | undefined)[] {
  let t = targetsByMachine.get(m);
  if (!t) {
    const cfg = m.cfg;
    const wgtTile = cfg.blockOut * cfg.blockIn;
    const inpTile = cfg.batch * cfg.blockIn;
    t = [];
    t[MEM_TYPE.UOP] = { buffer: 'uop', depth: cfg.uopDepth, elemBytes: cfg.uopElemBytes, bytes: m.uopBytes, width: 8, counter: 'uop_load_nbytes' };
    t[MEM_TYPE.WGT] = { buffer: 'wgt', depth: cfg.wgtDepth, elemBytes: wgtTile, bytes: m.wgtBytes, width: cfg.wgtWidth, values: m.wgt, counter: 'wgt_load_nbytes' };
    t[MEM_TYPE.INP] = { buffer: 'inp', depth: cfg.inpDepth, elemBytes: inpTile, bytes: m.inpBytes, width: cfg.inpWidth, values: m.inp, counter: 'inp_load_nbytes' };
    t[MEM_TYPE.ACC] = { buffer: 'acc', depth: cfg.accDepth, elemBytes: cfg.accElemBytes, bytes: m.accBytes, width: 8, counter: 'acc_load_nbytes' };
    t[MEM_TYPE.ACC_8BIT] = { buffer: 'acc', depth: cfg.accDepth, elemBytes: cfg.accElemBytes, bytes: m.accBytes, width: 8, counter: 'acc8_load_nbytes' };
    targetsByMachine.set(m, t);
  }
  return t;
}

/** DRAM bytes `src` into SRAM from byte `at`: copied at 8 bits, unpacked to one value per byte below. */
function copyIn(t: LoadTarget, src: Uint8Array, at: number): void {
  if (t.width === 8) {
    t.bytes.set(src, at);
    return;
  }
  const count = (src.length * 8) / t.width;
  unpackSigned(src, t.width, count, t.values!.subarray(at, at + count));
}

export function execLoad(ctx: ExecContext, insn: MemInsn): void {
  const t = targets(ctx.machine)[insn.memory_type];
  // The scheduler refuses other memory types before routing; kept so this function stands alone.
  if (!t) throw new InsnFault(`LOAD cannot target memory type ${insn.memory_type}`);
  const { x_size: xSize, y_size: ySize } = insn;
  if (xSize === 0) return;
  const xTotal = insn.x_pad_0 + xSize + insn.x_pad_1;
  const yTotal = insn.y_pad_0 + ySize + insn.y_pad_1;
  const end = insn.sram_base + xTotal * yTotal;
  if (end > t.depth) throw sramRange(t.buffer, end - 1, t.depth, ` for sram_base ${insn.sram_base} + ${yTotal} rows of ${xTotal} elements`);
  if (xTotal * yTotal === 0) return;

  const dramElem = memElemBytes(ctx.cfg, insn.memory_type);
  const rowBytes = xSize * dramElem;
  const acc8 = insn.memory_type === MEM_TYPE.ACC_8BIT;
  const E = t.elemBytes;
  const sram = t.bytes;
  const base = insn.sram_base * E;
  const pitch = xTotal * E;
  // Top and bottom pad rows are one contiguous zero range each.
  if (insn.y_pad_0) sram.fill(0, base, base + insn.y_pad_0 * pitch);
  if (insn.y_pad_1) sram.fill(0, base + (insn.y_pad_0 + ySize) * pitch, base + yTotal * pitch);
  const { memory, kernels } = ctx;
  if (!acc8 && xTotal === xSize && insn.x_stride === xSize) {
    // Rows contiguous on both sides: one copy.
    if (ySize > 0) copyIn(t, memory.view(insn.dram_base * dramElem, rowBytes * ySize), base + insn.y_pad_0 * pitch);
    ctx.counters[t.counter]! += xSize * ySize * dramElem;
    return;
  }
  if (kernels.rows && t.width === 8 && ySize > 0) {
    // The rows in one native call when they lie in one allocation (else row by row, below, which
    // names the first row outside).
    const stride = insn.x_stride * dramElem;
    const dram = memory.viewInside(insn.dram_base * dramElem, (ySize - 1) * stride + rowBytes);
    if (dram) {
      const at = sram.byteOffset + base + insn.y_pad_0 * pitch;
      kernels.rows.load(dram, stride, rowBytes, ySize, at, pitch, insn.x_pad_0 * E, insn.x_pad_1 * E, acc8);
      ctx.counters[t.counter]! += xSize * ySize * dramElem;
      return;
    }
  }
  for (let y = 0; y < ySize; y++) {
    const row = base + (insn.y_pad_0 + y) * pitch;
    const data = row + insn.x_pad_0 * E;
    if (insn.x_pad_0) sram.fill(0, row, data);
    if (insn.x_pad_1) sram.fill(0, data + xSize * E, row + pitch);
    const src = memory.view((insn.dram_base + y * insn.x_stride) * dramElem, rowBytes);
    if (acc8) kernels.signExtendRow(data >> 2, src);
    else copyIn(t, src, data);
  }
  ctx.counters[t.counter]! += xSize * ySize * dramElem;
}

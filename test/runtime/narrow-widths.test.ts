/**
 * The runtime's DMA builder on config/int4.json: DRAM addresses and bounds count packed tiles
 * (INP and OUT 8 bytes, WGT 128 bytes), as the simulator reads them.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/config.ts';
import type { DeviceBuffer } from '../../drivers/api.ts';
import { MEM_TYPE, OPCODE } from '../../isa/index.ts';
import { CommandQueue, RUNTIME_ERROR } from '../../runtime/index.ts';

const int4 = loadConfig(new URL('../../config/int4.json', import.meta.url).pathname);
const buffer = (phys: number, bytes: number): DeviceBuffer => ({ phys, bytes });

describe('CommandQueue on int4', () => {
  it('dram_base counts packed tiles of each memory type', () => {
    const cmd = new CommandQueue(int4);
    const buf = buffer(0x10000, 0x10000);
    cmd.loadBuffer2D(buf, 1, 1, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.INP);
    cmd.loadBuffer2D(buf, 2, 1, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.WGT);
    cmd.loadBuffer2D(buf, 3, 1, 1, 1, 0, 0, 0, 0, 0, MEM_TYPE.ACC);
    cmd.storeBuffer2D(0, MEM_TYPE.OUT, buf, 4, 1, 1, 1);
    expect(cmd.pending().map((i) => (i.opcode === OPCODE.LOAD || i.opcode === OPCODE.STORE ? i.dram_base : -1))).toEqual([
      0x10000 / 8 + 1,
      0x10000 / 128 + 2,
      0x10000 / 64 + 3,
      0x10000 / 8 + 4,
    ]);
  });

  it('checks rows against the buffer in packed bytes, and alignment to the packed tile', () => {
    const cmd = new CommandQueue(int4);
    // 3 rows of 4 INP tiles, stride 16: the last row ends at tile 2·16 + 4 = 36, byte 36·8 = 288.
    cmd.loadBuffer2D(buffer(0x1000, 288), 0, 4, 3, 16, 0, 0, 0, 0, 0, MEM_TYPE.INP);
    expect(() => cmd.loadBuffer2D(buffer(0x1000, 287), 0, 4, 3, 16, 0, 0, 0, 0, 0, MEM_TYPE.INP)).toThrow(
      expect.objectContaining({ code: RUNTIME_ERROR.RANGE, message: 'loadBuffer2D: 3 row(s) of 4 INP elements (stride 16) from element 0 end at byte 288, past the 287-byte buffer at 0x1000' }),
    );
    // 0x1008 is a multiple of the 8-byte OUT tile at 4 bits (it is not at 8 bits).
    cmd.storeBuffer2D(0, MEM_TYPE.OUT, buffer(0x1008, 8), 0, 1, 1, 1);
    expect(() => cmd.storeBuffer2D(0, MEM_TYPE.OUT, buffer(0x1004, 8), 0, 1, 1, 1)).toThrow(expect.objectContaining({ code: RUNTIME_ERROR.ALIGN }));
  });
});

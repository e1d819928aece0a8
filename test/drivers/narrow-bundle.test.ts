/**
 * Bundles of narrow-width configs: the config travels in the bundle, a driver for another config
 * refuses it, and a hand-made 2-bit bundle replays on fsim to hand-computed packed bytes.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig, loadConfig } from '../../config/config.ts';
import { BUNDLE_FORMAT, loadBundle, parseBundle, replayBundle } from '../../drivers/bundle.ts';
import { getDriver } from '../../drivers/registry.ts';
import { MEM_TYPE, OPCODE, encodeProgram, finishInsn, memInsn } from '../../isa/index.ts';

const INT4_KIT = new URL('../../conformance/int4/', import.meta.url).pathname;
const int2 = loadConfig(new URL('../../config/int2.json', import.meta.url).pathname);

describe('narrow-width bundles', () => {
  it('carry their config: an int4 bundle opens as 4-bit, and a default-config driver refuses it', async () => {
    const b = loadBundle(join(INT4_KIT, 'conv-s0-blocked-b1000.bundle.json'));
    expect([b.config.inpWidth, b.config.wgtWidth, b.config.outWidth, b.config.bitstream]).toEqual([4, 4, 4, '1x16_i4w4a32_15_14_17_17']);
    const d = await (await getDriver('fsim')).open(defaultVtaConfig());
    try {
      await expect(replayBundle(d, b)).rejects.toThrow(/conv-s0-blocked-b1000\.bundle\.json: config 1x16_i4w4a32_15_14_17_17 differs from the fsim driver's 1x16_i8w8a32_15_15_18_17/);
    } finally {
      d.close();
    }
  });

  it('a 2-bit STORE bundle: ACC lanes narrowed to 2 bits, four values a byte, value 0 in the low bits', async () => {
    // ACC tile 0 from DRAM (64 bytes at 0x1100), STORE to OUT tile 0x1200 / 4 (4 bytes).
    const lanes = Int32Array.from([0, 1, 7, 8, -1, -8, -9, 15, 16, 17, 100, -100, 127, -128, 0x7fffffff, -0x80000000]);
    const insns = encodeProgram(int2, [
      memInsn({ opcode: OPCODE.LOAD, memory_type: MEM_TYPE.ACC, dram_base: 0x1100 / 64, y_size: 1, x_size: 1, x_stride: 1, push_next: 1 }),
      memInsn({ opcode: OPCODE.STORE, memory_type: MEM_TYPE.OUT, dram_base: 0x1200 / 4, y_size: 1, x_size: 1, x_stride: 1, pop_prev: 1, push_prev: 1 }),
      finishInsn({ pop_next: 1 }),
    ]);
    const image = new Uint8Array(0x300);
    image.set(insns, 0);
    image.set(new Uint8Array(lanes.buffer), 0x100);
    image.fill(0xa5, 0x200, 0x208);
    const bundle = parseBundle(
      {
        format: BUNDLE_FORMAT,
        config: { ...int2.json },
        memory: { base: 0x1000, data: Buffer.from(image).toString('base64') },
        insn: { addr: 0x1000, count: 3 },
        outputs: [{ name: 'out', addr: 0x1200, bytes: 8 }],
      },
      'int2.bundle.json',
    );
    const d = await (await getDriver('fsim')).open(bundle.config);
    try {
      const { outputs } = await replayBundle(d, bundle);
      // Low 2 bits: 0,1,3,0 | 3,0,3,3 | 0,1,0,0 | 3,0,3,0; the next tile is left alone.
      expect(Array.from(outputs.out!)).toEqual([0x34, 0xf3, 0x04, 0x33, 0xa5, 0xa5, 0xa5, 0xa5]);
    } finally {
      d.close();
    }
  });
});

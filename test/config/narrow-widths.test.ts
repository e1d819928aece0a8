/**
 * Configs with 2- and 4-bit inputs and weights: which are accepted, what they derive (packed tile
 * bytes, depths, buffer bytes, the bitstream name), and which are refused, in one line.
 */
import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig, makeConfig } from '../../config/config.ts';
import { layouts } from '../../isa/fields.ts';

const path = (name: string) => new URL(`../../config/${name}`, import.meta.url).pathname;
const DEFAULT_JSON = { TARGET: 'sim', HW_VER: '0.0.2', LOG_INP_WIDTH: 3, LOG_WGT_WIDTH: 3, LOG_ACC_WIDTH: 5, LOG_BATCH: 0, LOG_BLOCK: 4, LOG_UOP_BUFF_SIZE: 15, LOG_INP_BUFF_SIZE: 15, LOG_WGT_BUFF_SIZE: 18, LOG_ACC_BUFF_SIZE: 17 };

describe('narrow-width configs', () => {
  it('config/int4.json: 4-bit INP/WGT/OUT, packed tiles, the default depths in half the INP/WGT bytes', () => {
    const cfg = loadConfig(path('int4.json'));
    expect(layouts(cfg).uop.fields.map((f) => f.width)).toEqual([11, 11, 10]);
    const d = describeConfig(cfg);
    expect([d.inpWidth, d.wgtWidth, d.outWidth, d.accWidth]).toEqual([4, 4, 4, 32]);
    // A 1x16 INP/OUT tile of 4-bit values is 16·4/8 = 8 bytes; a 16x16 WGT tile 128 bytes.
    expect([d.inpElemBytes, d.wgtElemBytes, d.outElemBytes, d.accElemBytes]).toEqual([8, 128, 8, 64]);
    expect([d.inpDepth, d.wgtDepth, d.accDepth, d.outDepth]).toEqual([2048, 1024, 2048, 2048]);
    expect([d.inpBuffBytes, d.wgtBuffBytes, d.accBuffBytes, d.outBuffBytes]).toEqual([16384, 131072, 131072, 16384]);
    expect(d.bitstream).toBe('1x16_i4w4a32_15_14_17_17');
  });

  it('config/int2.json: 2-bit tiles of 4 and 64 bytes', () => {
    const cfg = loadConfig(path('int2.json'));
    layouts(cfg);
    expect([cfg.inpWidth, cfg.wgtWidth, cfg.outWidth]).toEqual([2, 2, 2]);
    expect([cfg.inpElemBytes, cfg.wgtElemBytes, cfg.outElemBytes]).toEqual([4, 64, 4]);
    expect([cfg.inpDepth, cfg.wgtDepth, cfg.accDepth]).toEqual([2048, 1024, 2048]);
    expect(cfg.outBuffBytes).toBe(cfg.outDepth * cfg.outElemBytes);
    expect(cfg.bitstream).toBe('1x16_i2w2a32_15_13_16_17');
  });

  it('accepts mixed widths (4-bit inputs, 2-bit weights) and derives each side from its own width', () => {
    const cfg = makeConfig({ ...DEFAULT_JSON, LOG_INP_WIDTH: 2, LOG_WGT_WIDTH: 1, LOG_INP_BUFF_SIZE: 14, LOG_WGT_BUFF_SIZE: 16 });
    layouts(cfg);
    expect([cfg.inpElemBytes, cfg.wgtElemBytes, cfg.outElemBytes, cfg.inpDepth, cfg.wgtDepth]).toEqual([8, 64, 8, 2048, 1024]);
    expect(cfg.bitstream).toBe('1x16_i4w2a32_15_14_16_17');
  });

  it('refuses widths other than 2, 4 and 8 bits and accumulators other than 32, in one line', () => {
    for (const [key, v] of [['LOG_INP_WIDTH', 0], ['LOG_WGT_WIDTH', 4], ['LOG_INP_WIDTH', 1.5], ['LOG_ACC_WIDTH', 4]] as const) {
      expect(() => makeConfig({ ...DEFAULT_JSON, [key]: v }, 'x.json')).toThrow(
        expect.objectContaining({ code: 'E_CONFIG', message: `x.json: ${key} is ${v}; allowed range ${key === 'LOG_ACC_WIDTH' ? '5..5' : '1..3'}` }),
      );
    }
  });

  it('refuses narrow widths with the default buffer bytes: the doubled depths do not fit the 32-bit uop', () => {
    const cfg = makeConfig({ ...DEFAULT_JSON, LOG_INP_WIDTH: 2, LOG_WGT_WIDTH: 2 }, 'int4-big.json');
    expect(cfg.inpDepth).toBe(4096);
    let message = '';
    try {
      layouts(cfg);
    } catch (e) {
      message = (e as Error).message;
      expect((e as { code?: string }).code).toBe('E_CONFIG');
    }
    expect(message).toMatch(/^int4-big\.json: .*LOG_INP_WIDTH 2 and LOG_WGT_WIDTH 2 the buffer depths .*need smaller LOG_\*_BUFF_SIZE values$/);
    expect(message).not.toContain('\n');
  });

  it('keeps the default 8-bit config as it was', () => {
    const d = makeConfig(DEFAULT_JSON);
    expect([d.inpElemBytes, d.wgtElemBytes, d.outElemBytes, d.inpDepth, d.wgtDepth, d.outBuffBytes, d.bitstream]).toEqual([16, 256, 16, 2048, 1024, 32768, '1x16_i8w8a32_15_15_18_17']);
  });
});

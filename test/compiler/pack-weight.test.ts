/**
 * packWeight against the layout's definition, element by element: OIHW element (o, i, kh, kw)
 * lies in tile [o / BO][i / BI][kh][kw] at lane (o % BO) · BI + i % BI, and padding is zero.
 * Shapes with ragged channel counts (neither a multiple of the block) and with several taps.
 */
import { describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { packWeight } from '../../compiler/pack.ts';
import { mulberry32 } from '../../lib/random.ts';

const cfg = defaultVtaConfig();

function packedByDefinition(shape: number[], data: Int8Array): Int8Array {
  const [O, I, KH, KW] = (shape.length === 2 ? [shape[0]!, shape[1]!, 1, 1] : shape) as [number, number, number, number];
  const BO = cfg.blockOut;
  const BI = cfg.blockIn;
  const CT = Math.ceil(I / BI);
  const out = new Int8Array(Math.ceil(O / BO) * CT * KH * KW * BO * BI);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let kh = 0; kh < KH; kh++)
        for (let kw = 0; kw < KW; kw++) {
          const tile = ((Math.floor(o / BO) * CT + Math.floor(i / BI)) * KH + kh) * KW + kw;
          out[tile * BO * BI + (o % BO) * BI + (i % BI)] = data[((o * I + i) * KH + kh) * KW + kw]!;
        }
  return out;
}

describe('packWeight', () => {
  const shapes = [[16, 16, 1, 1], [20, 35, 3, 3], [7, 3, 1, 7], [33, 17], [1, 1, 2, 2], [64, 48, 3, 3]];
  for (const shape of shapes) {
    it(`lays out OIHW [${shape.join(',')}] as the tile layout defines`, () => {
      const random = mulberry32(shape.reduce((a, b) => a * 31 + b, 7));
      const data = Int8Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.floor(random() * 256) - 128);
      const { bytes } = packWeight(shape, data, cfg);
      expect(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length)).toEqual(packedByDefinition(shape, data));
    });
  }
});

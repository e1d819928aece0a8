/**
 * Pooling. Padded positions are not part of a window: max ignores them, the average does not count
 * them; integer averages round half away from zero, float ones are the mean.
 */
import type { OpAttrs, Tensor } from '../ir.ts';
import { divRoundHalfAway } from './rounding.ts';

export function pool(x: Tensor, out: Tensor, a: Required<OpAttrs['max_pool']>, kind: 'max' | 'avg'): void {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [, , oh, ow] = out.shape as [number, number, number, number];
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.stride;
  const [pt, pl] = a.pad;
  const float = x.dtype === 'float32';
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        let best = -Infinity;
        let sum = 0;
        let count = 0;
        for (let ky = 0; ky < kh; ky++) {
          const iy = y * sh + ky - pt;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = xo * sw + kx - pl;
            if (ix < 0 || ix >= w) continue;
            const v = x.data[(p * h + iy) * w + ix]!;
            best = Math.max(best, v);
            sum = float ? sum + v : (sum + v) | 0;
            count++;
          }
        }
        out.data[(p * oh + y) * ow + xo] = kind === 'max' ? best : float ? sum / count : divRoundHalfAway(sum, count);
      }
    }
  }
}

export function globalAvgPool(x: Tensor, out: Tensor): void {
  const area = x.shape[2]! * x.shape[3]!;
  const float = x.dtype === 'float32';
  for (let p = 0; p < out.data.length; p++) {
    let sum = 0;
    for (let k = 0; k < area; k++) sum = float ? sum + x.data[p * area + k]! : (sum + x.data[p * area + k]!) | 0;
    out.data[p] = float ? sum / area : divRoundHalfAway(sum, area);
  }
}

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
  const src = x.data;
  const dst = out.data;
  // Each window clipped to the input once (padded positions are not part of it), not per element:
  // max pooling runs on the host on every inference of a network.
  for (let p = 0; p < n * c; p++) {
    const plane = p * h * w;
    for (let y = 0; y < oh; y++) {
      const y0 = Math.max(0, y * sh - pt);
      const y1 = Math.min(h, y * sh - pt + kh);
      for (let xo = 0; xo < ow; xo++) {
        const x0 = Math.max(0, xo * sw - pl);
        const x1 = Math.min(w, xo * sw - pl + kw);
        let best = -Infinity;
        let sum = 0;
        for (let iy = y0; iy < y1; iy++) {
          const row = plane + iy * w;
          for (let ix = x0; ix < x1; ix++) {
            const v = src[row + ix]!;
            if (kind === 'max') best = Math.max(best, v);
            else sum = float ? sum + v : (sum + v) | 0;
          }
        }
        const count = Math.max(0, y1 - y0) * Math.max(0, x1 - x0);
        dst[(p * oh + y) * ow + xo] = kind === 'max' ? best : float ? sum / count : divRoundHalfAway(sum, count);
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

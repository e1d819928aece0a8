/**
 * GEMM-shaped and element-wise arithmetic: integer forms wrap mod 2^32 (as VTA's GEMM and ALU do),
 * float32 forms accumulate in double and round the result to float32.
 */
import type { OpAttrs, Tensor } from '../ir.ts';
import { broadcastIndex } from './tensor.ts';

const isFloat = (t: Tensor): boolean => t.dtype === 'float32';

export function dense(x: Tensor, w: Tensor, out: Tensor): void {
  const [n, k] = x.shape as [number, number];
  const m = w.shape[0]!;
  const float = isFloat(x);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let acc = 0;
      if (float) for (let t = 0; t < k; t++) acc += x.data[i * k + t]! * w.data[j * k + t]!;
      else for (let t = 0; t < k; t++) acc = (acc + Math.imul(x.data[i * k + t]!, w.data[j * k + t]!)) | 0;
      out.data[i * m + j] = acc;
    }
  }
}

export function conv2d(x: Tensor, w: Tensor, out: Tensor, a: Required<OpAttrs['conv2d']>): void {
  const [, c, h, wd] = x.shape as [number, number, number, number];
  const [o, ci, kh, kw] = w.shape as [number, number, number, number];
  const [n, , oh, ow] = out.shape as [number, number, number, number];
  const [sh, sw] = a.stride;
  const [pt, pl] = a.pad;
  const outPerGroup = o / a.groups;
  const float = isFloat(x);
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      const group = Math.floor(oc / outPerGroup);
      for (let y = 0; y < oh; y++) {
        for (let xo = 0; xo < ow; xo++) {
          let acc = 0;
          for (let ic = 0; ic < ci; ic++) {
            const inC = group * ci + ic;
            for (let ky = 0; ky < kh; ky++) {
              const iy = y * sh + ky - pt;
              if (iy < 0 || iy >= h) continue; // zero padding contributes nothing
              for (let kx = 0; kx < kw; kx++) {
                const ix = xo * sw + kx - pl;
                if (ix < 0 || ix >= wd) continue;
                const xv = x.data[((b * c + inC) * h + iy) * wd + ix]!;
                const wv = w.data[((oc * ci + ic) * kh + ky) * kw + kx]!;
                acc = float ? acc + xv * wv : (acc + Math.imul(xv, wv)) | 0;
              }
            }
          }
          out.data[((b * o + oc) * oh + y) * ow + xo] = acc;
        }
      }
    }
  }
}

/** NumPy matmul over the last two axes, batched (and broadcast) over the leading ones. */
export function matmul(x: Tensor, w: Tensor, out: Tensor): void {
  const [m, k] = x.shape.slice(-2) as [number, number];
  const n = w.shape[w.shape.length - 1]!;
  const batchShape = out.shape.slice(0, -2);
  const xb = broadcastIndex(x.shape.slice(0, -2), batchShape);
  const wb = broadcastIndex(w.shape.slice(0, -2), batchShape);
  const float = isFloat(x);
  for (let b = 0; b < xb.length; b++) {
    const xo = xb[b]! * m * k;
    const wo = wb[b]! * k * n;
    const oo = b * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        if (float) for (let t = 0; t < k; t++) acc += x.data[xo + i * k + t]! * w.data[wo + t * n + j]!;
        else for (let t = 0; t < k; t++) acc = (acc + Math.imul(x.data[xo + i * k + t]!, w.data[wo + t * n + j]!)) | 0;
        out.data[oo + i * n + j] = acc;
      }
    }
  }
}

export function biasAdd(x: Tensor, bias: Tensor, out: Tensor): void {
  const channels = x.shape[1]!;
  const inner = x.shape.slice(2).reduce((a, b) => a * b, 1);
  const n = out.data.length;
  // Stores into an Int32Array wrap; into a Float32Array they round to float32.
  for (let k = 0; k < n; k++) out.data[k] = x.data[k]! + bias.data[Math.floor(k / inner) % channels]!;
}

type Binary = (a: number, b: number) => number;
const INTEGER: Record<'add' | 'sub' | 'mul', Binary> = { add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => Math.imul(a, b) };
const FLOAT: Record<'add' | 'sub' | 'mul' | 'div', Binary> = { add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b };

/** Element-wise with NumPy broadcasting. */
export function elementwise(op: 'add' | 'sub' | 'mul' | 'div', x: Tensor, y: Tensor, out: Tensor): void {
  const f = isFloat(x) ? FLOAT[op] : INTEGER[op as 'add' | 'sub' | 'mul'];
  const same = x.data.length === out.data.length && y.data.length === out.data.length;
  if (same) {
    for (let k = 0; k < out.data.length; k++) out.data[k] = f(x.data[k]!, y.data[k]!);
    return;
  }
  const xi = broadcastIndex(x.shape, out.shape);
  const yi = broadcastIndex(y.shape, out.shape);
  for (let k = 0; k < out.data.length; k++) out.data[k] = f(x.data[xi[k]!]!, y.data[yi[k]!]!);
}

/**
 * Host execution of the nodes that do not run on VTA (layout ops, pooling, and any chain the
 * partition left on the host), with the integer semantics of compiler/ir.ts. Plain loops: these
 * ops are small next to the convolutions VTA runs.
 */
import { compileError } from './errors.ts';
import type { GraphNode, OpAttrs, Tensor, TensorType } from './ir.ts';

const wrap32 = (v: number) => v | 0;
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

function make(t: TensorType): Tensor {
  const n = numel(t.shape);
  return { shape: [...t.shape], dtype: t.dtype, data: t.dtype === 'int8' ? new Int8Array(n) : new Int32Array(n) };
}

/** Integer division rounding half away from zero. */
function divRound(sum: number, n: number): number {
  const q = Math.floor((Math.abs(sum) * 2 + n) / (2 * n));
  return sum < 0 ? -q : q;
}

function pool(n: GraphNode, x: Tensor, outT: TensorType, kind: 'max' | 'avg'): Tensor {
  const a = n.attrs as OpAttrs['max_pool'];
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.stride ?? a.kernel;
  const [pt, pl] = a.pad ?? [0, 0, 0, 0];
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [, , OH, OW] = outT.shape as [number, number, number, number];
  const out = make(outT);
  let o = 0;
  for (let b = 0; b < N; b++)
    for (let c = 0; c < C; c++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let acc = kind === 'max' ? -Infinity : 0;
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++) {
              const h = oh * sh + i - pt;
              const w = ow * sw + j - pl;
              const inside = h >= 0 && h < H && w >= 0 && w < W;
              // Padding is zero for both pools (it takes part in max and in the average's count).
              const v = inside ? x.data[((b * C + c) * H + h) * W + w]! : 0;
              acc = kind === 'max' ? Math.max(acc, v) : wrap32(acc + v);
            }
          out.data[o++] = kind === 'max' ? acc : divRound(acc, kh * kw);
        }
  return out;
}

/** Run one node on the host. `outT` is its inferred output type. */
export function runHostNode(n: GraphNode, ins: Tensor[], outT: TensorType): Tensor {
  const x = ins[0]!;
  const out = make(outT);
  const o = out.data;
  switch (n.op) {
    case 'dense': {
      const w = ins[1]!;
      const [N, K] = x.shape as [number, number];
      const M = w.shape[0]!;
      for (let i = 0; i < N; i++)
        for (let m = 0; m < M; m++) {
          let s = 0;
          for (let k = 0; k < K; k++) s = wrap32(s + x.data[i * K + k]! * w.data[m * K + k]!);
          o[i * M + m] = s;
        }
      return out;
    }
    case 'conv2d': {
      const w = ins[1]!;
      const a = (n.attrs ?? {}) as OpAttrs['conv2d'];
      const g = a.groups ?? 1;
      const [sh, sw] = a.stride ?? [1, 1];
      const [pt, pl] = a.pad ?? [0, 0, 0, 0];
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const [O, I, KH, KW] = w.shape as [number, number, number, number];
      const [, , OH, OW] = outT.shape as [number, number, number, number];
      const opg = O / g;
      let idx = 0;
      for (let b = 0; b < N; b++)
        for (let oc = 0; oc < O; oc++) {
          const grp = Math.floor(oc / opg);
          for (let oh = 0; oh < OH; oh++)
            for (let ow = 0; ow < OW; ow++) {
              let s = 0;
              for (let ic = 0; ic < I; ic++) {
                const c = grp * I + ic;
                for (let kh = 0; kh < KH; kh++) {
                  const h = oh * sh + kh - pt;
                  if (h < 0 || h >= H) continue;
                  for (let kw = 0; kw < KW; kw++) {
                    const ww = ow * sw + kw - pl;
                    if (ww < 0 || ww >= W) continue;
                    s = wrap32(s + x.data[((b * C + c) * H + h) * W + ww]! * w.data[((oc * I + ic) * KH + kh) * KW + kw]!);
                  }
                }
              }
              o[idx++] = s;
            }
        }
      return out;
    }
    case 'bias_add': {
      const bias = ins[1]!;
      const C = x.shape[1]!;
      const inner = numel(x.shape.slice(2));
      for (let i = 0; i < o.length; i++) o[i] = wrap32(x.data[i]! + bias.data[Math.floor(i / inner) % C]!);
      return out;
    }
    case 'requantize': {
      const { shift: s, multiplier = 1 } = n.attrs as OpAttrs['requantize'];
      const r = s === 0 ? 0 : 2 ** (s - 1);
      for (let i = 0; i < o.length; i++) o[i] = wrap32(Math.imul(x.data[i]!, multiplier) + r) >> s;
      return out;
    }
    case 'requantize_float': {
      const { scale } = n.attrs as OpAttrs['requantize_float'];
      const f = Math.fround(scale);
      for (let i = 0; i < o.length; i++) {
        // ONNX QuantizeLinear: float32 product, ties to even, saturated.
        const y = Math.fround(Math.fround(x.data[i]!) * f);
        let q = Math.round(y);
        if (q - y === 0.5 && q % 2 !== 0) q -= 1;
        o[i] = Math.max(-2147483648, Math.min(2147483647, q));
      }
      return out;
    }
    case 'relu':
      for (let i = 0; i < o.length; i++) o[i] = Math.max(x.data[i]!, 0);
      return out;
    case 'clip': {
      const { min, max } = n.attrs as OpAttrs['clip'];
      for (let i = 0; i < o.length; i++) o[i] = Math.min(Math.max(x.data[i]!, min), max);
      return out;
    }
    case 'cast':
      o.set(x.data); // typed-array assignment wraps to the target width
      return out;
    case 'add': {
      const y = ins[1]!;
      for (let i = 0; i < o.length; i++) o[i] = wrap32(x.data[i]! + y.data[i]!);
      return out;
    }
    case 'reshape':
    case 'flatten':
      o.set(x.data);
      return out;
    case 'max_pool':
      return pool(n, x, outT, 'max');
    case 'avg_pool':
      return pool(n, x, outT, 'avg');
    case 'global_avg_pool': {
      const [N, C, H, W] = x.shape as [number, number, number, number];
      for (let i = 0; i < N * C; i++) {
        let s = 0;
        for (let j = 0; j < H * W; j++) s = wrap32(s + x.data[i * H * W + j]!);
        o[i] = divRound(s, H * W);
      }
      return out;
    }
    default:
      throw compileError('E_UNKNOWN_OP', n, 'no host implementation');
  }
}

/**
 * Host steps run directly on packed tile images (compiler/pack.ts), for the common case where a
 * host op sits between two VTA kernels: spatial zero-point padding and max pooling. Running them
 * on the tiles skips unpacking the producer's output and packing the consumer's input on every
 * inference. The result is byte for byte the image `packActivation(evaluateNode(...))` would give
 * (test/compiler/packed-host-ops.test.ts checks it against the reference semantics).
 *
 * Only images without padding lanes qualify (channels a multiple of BLOCK_IN, batch a multiple of
 * BATCH, 8-bit elements): a packed image then holds exactly the tensor's values, and a kernel's
 * garbage in padding lanes can never leak into the result.
 */
import type { VtaConfig } from '../config/config.ts';
import type { GraphNode, OpAttrs, TensorType } from '../graph/ir.ts';
import { gridTiles, tileGrid } from './pack.ts';

/** A packed int8 activation: its logical shape and its tile image (one byte per element). */
export interface PackedImage {
  shape: number[];
  bytes: Uint8Array;
}

/** True when `shape`'s packed image is exactly its values (no padding lanes, one byte each). */
export function packsExactly(type: TensorType, cfg: VtaConfig): boolean {
  if (type.dtype !== 'int8' || type.shape.length !== 4 || cfg.inpWidth !== 8 || cfg.outWidth !== 8) return false;
  const [n, c] = type.shape as [number, number];
  return n % cfg.batch === 0 && c % cfg.blockIn === 0;
}

/** True when `node` can run on packed images: pad over H and W only, or max pooling. */
export function runsPacked(node: GraphNode, input: TensorType, output: TensorType, cfg: VtaConfig): boolean {
  if (!packsExactly(input, cfg) || !packsExactly(output, cfg)) return false;
  if (node.op === 'max_pool') return true;
  if (node.op !== 'pad') return false;
  const { pads } = node.attrs as OpAttrs['pad'];
  // [n, c, h, w] begins then ends: the batch and channel dimensions stay as they are.
  return pads.length === 8 && pads.every((p) => p >= 0) && pads[0] === 0 && pads[1] === 0 && pads[4] === 0 && pads[5] === 0;
}

/** Bytes of the packed image of an activation that packs exactly. */
export function packedBytes(shape: number[], cfg: VtaConfig): number {
  return gridTiles(tileGrid(shape, cfg)) * cfg.batch * cfg.blockIn;
}

/**
 * Run a node runsPacked accepted: its output's packed image, written into `into` when given (a
 * buffer of packedBytes(output) reused across inferences; every byte is written).
 */
export function runPacked(node: GraphNode, x: PackedImage, output: TensorType, cfg: VtaConfig, into?: Uint8Array): PackedImage {
  if (node.op === 'pad') return padPacked(x, output.shape, node.attrs as OpAttrs['pad'], cfg, into);
  return maxPoolPacked(x, output.shape, node.attrs as OpAttrs['max_pool'], cfg, into);
}

/** Pad H and W of a packed image with `value`: whole rows of tiles move with one copy each. */
export function padPacked(x: PackedImage, outShape: number[], a: OpAttrs['pad'], cfg: VtaConfig, into?: Uint8Array): PackedImage {
  const g = tileGrid(x.shape, cfg);
  const o = tileGrid(outShape, cfg);
  const tile = cfg.batch * cfg.blockIn;
  const [, , pt, pl] = a.pads as [number, number, number, number];
  const bytes = into ?? new Uint8Array(packedBytes(outShape, cfg));
  new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length).fill(a.value ?? 0);
  const row = g.W * tile;
  for (let plane = 0; plane < g.NB * g.CT; plane++) {
    for (let h = 0; h < g.H; h++) {
      const from = (plane * g.H + h) * row;
      bytes.set(x.bytes.subarray(from, from + row), ((plane * o.H + h + pt) * o.W + pl) * tile);
    }
  }
  return { shape: [...outShape], bytes };
}

/**
 * Max pooling on a packed image, all lanes of a tile at once. Padded positions are not part of a
 * window (graph/semantics/window.ts); an empty window stores -Infinity into int8, which is 0.
 */
export function maxPoolPacked(x: PackedImage, outShape: number[], a: OpAttrs['max_pool'], cfg: VtaConfig, into?: Uint8Array): PackedImage {
  const g = tileGrid(x.shape, cfg);
  const o = tileGrid(outShape, cfg);
  const tile = cfg.batch * cfg.blockIn;
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.stride ?? [1, 1];
  const [pt, pl] = a.pad ?? [0, 0, 0, 0];
  const bytes = into ?? new Uint8Array(packedBytes(outShape, cfg));
  // Four lanes per 32-bit word when tiles and both images are word-aligned (they are for every
  // config with BATCH x BLOCK_IN a multiple of 4), else one lane per byte.
  const words = tile % 4 === 0 && x.bytes.byteOffset % 4 === 0 && bytes.byteOffset % 4 === 0;
  const unit = words ? 4 : 1;
  const src = words ? new Int32Array(x.bytes.buffer, x.bytes.byteOffset, x.bytes.length / 4) : new Int8Array(x.bytes.buffer, x.bytes.byteOffset, x.bytes.length);
  const out = words ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) : new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  const lanes = tile / unit;
  const rowStride = g.W * lanes;
  for (let plane = 0; plane < g.NB * g.CT; plane++) {
    for (let y = 0; y < o.H; y++) {
      const y0 = Math.max(0, y * sh - pt);
      const y1 = Math.min(g.H, y * sh - pt + kh);
      for (let xo = 0; xo < o.W; xo++) {
        const x0 = Math.max(0, xo * sw - pl);
        const x1 = Math.min(g.W, xo * sw - pl + kw);
        const at = ((plane * o.H + y) * o.W + xo) * lanes;
        const first = ((plane * g.H + y0) * g.W + x0) * lanes;
        if (y1 <= y0 || x1 <= x0) out.fill(0, at, at + lanes); // empty window
        else if (words) maxWindowWords(out as Int32Array, at, src as Int32Array, first, y1 - y0, x1 - x0, rowStride, lanes);
        else maxWindow(out as Int8Array, at, src as Int8Array, first, y1 - y0, x1 - x0, rowStride, lanes);
      }
    }
  }
  return { shape: [...outShape], bytes };
}

/**
 * Each lane's maximum over a window of `rows` x `cols` tiles starting at `first`, kept in a
 * register and stored once. Branch-free (max as m + (d & ~(d >> 31))): with data-dependent
 * comparisons the branch predictor missed about every other element. A small function called per
 * window is optimized early and stays so, where the deep nest, entered once per inference, ran
 * mostly unoptimized.
 */
function maxWindow(out: Int8Array, at: number, src: Int8Array, first: number, rows: number, cols: number, rowStride: number, tile: number): void {
  for (let l = 0; l < tile; l++) {
    let m = src[first + l]!;
    for (let r = 0; r < rows; r++) {
      let p = first + r * rowStride + l;
      for (let c = 0; c < cols; c++, p += tile) {
        const d = src[p]! - m;
        m += d & ~(d >> 31);
      }
    }
    out[at + l] = m;
  }
}

/**
 * maxWindow on four int8 lanes packed in each int32 word, without unpacking them: per byte, the
 * top bit of (a | 0x80) - (b & 0x7f) says whether a's low seven bits are at least b's (no borrow
 * crosses a byte); where the signs differ the non-negative one is larger. That gives a 0x80 per
 * byte where a >= b, widened to a 0xff byte mask that picks a or b.
 */
function maxWindowWords(out: Int32Array, at: number, src: Int32Array, first: number, rows: number, cols: number, rowStride: number, lanes: number): void {
  for (let l = 0; l < lanes; l++) {
    let m = src[first + l]!;
    for (let r = 0; r < rows; r++) {
      let p = first + r * rowStride + l;
      for (let c = 0; c < cols; c++, p += lanes) {
        const v = src[p]!;
        const low = ((m | 0x80808080) - (v & 0x7f7f7f7f)) | 0;
        const ge = ((v & ~m) | (~(m ^ v) & low)) & 0x80808080;
        const mask = (ge - (ge >>> 7)) | ge;
        m = (m & mask) | (v & ~mask);
      }
    }
    out[at + l] = m;
  }
}

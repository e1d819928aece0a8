/**
 * Layout packing between the graph's row-major tensors and VTA's tiled DRAM layouts.
 *
 * Activations (int8) are stored as a 4-D grid of tiles [NB][CT][H][W], each tile BATCH x BLOCK:
 *   NCHW tensor (N,C,H,W): NB = ceil(N/BATCH), CT = ceil(C/BLOCK)   (NCHW{BATCH}n{BLOCK}c)
 *   dense operand (N,K):   NB = 1, CT = ceil(K/BLOCK), H = ceil(N/BATCH), W = 1
 * The second form makes a dense layer a 1x1 convolution over "rows" of BATCH samples, so dense and
 * conv2d share one lowering, and a dense output is directly the next dense layer's input.
 * Weights (int8) are [OT][CT][KH][KW] tiles of BLOCK_OUT x BLOCK_IN (OIHW{BLOCK}o{BLOCK}i).
 * Biases (int32) are [OT] accumulator tiles, the bias row repeated for every batch lane.
 * Channel, batch and row padding is zero.
 * Elements are laid out as above and then packed at their width (isa/elements.ts): activations at
 * the config's INP/OUT width, weights at its WGT width; at 8 bits that is one byte per element.
 */
import type { VtaConfig } from '../config/config.ts';
import type { ConstTensor, Tensor } from '../graph/ir.ts';
import type { TypedData } from '../lib/dtype.ts';
import { decodeConst } from '../graph/load.ts';
import { packSigned, unpackSigned } from '../isa/elements.ts';

/** The tile grid of one activation tensor. */
export interface TileGrid {
  /** The logical tensor shape (rank 2 or 4). */
  shape: number[];
  NB: number;
  CT: number;
  H: number;
  W: number;
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

export function tileGrid(shape: number[], cfg: VtaConfig): TileGrid {
  if (shape.length === 4) {
    const [n, c, h, w] = shape as [number, number, number, number];
    return { shape, NB: ceilDiv(n, cfg.batch), CT: ceilDiv(c, cfg.blockIn), H: h, W: w };
  }
  if (shape.length === 2) {
    const [n, k] = shape as [number, number];
    return { shape, NB: 1, CT: ceilDiv(k, cfg.blockIn), H: ceilDiv(n, cfg.batch), W: 1 };
  }
  throw new Error(`tileGrid: rank ${shape.length} tensors have no packed layout`);
}

export const gridTiles = (g: TileGrid) => g.NB * g.CT * g.H * g.W;

/** Element index in the packed image of logical element `idx` (row-major over g.shape). */
function packedIndexer(g: TileGrid, cfg: VtaConfig): (n: number, c: number, h: number, w: number) => number {
  const B = cfg.batch;
  const K = cfg.blockIn;
  return (n, c, h, w) => {
    const tile = ((Math.floor(n / B) * g.CT + Math.floor(c / K)) * g.H + h) * g.W + w;
    return (tile * B + (n % B)) * K + (c % K);
  };
}

/**
 * Visit the logical elements in runs: `count` elements from row-major index `flat` on, which lie
 * from packed element `packed` on, `step` apart. Runs keep the per-element work a plain loop
 * (activations cross between host and device on every run of a model).
 */
function forEachRun(g: TileGrid, cfg: VtaConfig, f: (flat: number, packed: number, count: number, step: number) => void): void {
  const at = packedIndexer(g, cfg);
  const B = cfg.batch;
  const K = cfg.blockIn;
  if (g.shape.length === 2) {
    const [n, k] = g.shape as [number, number];
    // Row n of a dense operand is batch lane n % B of tile row n / B; a block of K columns is contiguous.
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j += K) f(i * k + j, at(i % B, j, Math.floor(i / B), 0), Math.min(K, k - j), 1);
    return;
  }
  const [N, C, H, W] = g.shape as [number, number, number, number];
  // Along w the packed index moves one tile: BATCH x BLOCK elements.
  let flat = 0;
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++, flat += W) f(flat, at(n, c, h, 0), W, B * K);
}

const tileElements = (g: TileGrid, cfg: VtaConfig) => gridTiles(g) * cfg.batch * cfg.blockIn;

/**
 * Where a packer allocates the image it returns. pack-constants passes one that lends memory of
 * the model's constant image (ConstantArena), so that megabytes of weights are packed in place
 * instead of being packed and then copied there. It must give zeroed memory.
 */
export type ImageAllocator = (bytes: number) => Uint8Array;

const newImage: ImageAllocator = (bytes) => new Uint8Array(bytes);

/** Zeroed int8 elements for an image of `elements` at `width` bits: the returned image itself at 8 bits. */
function imageElements(elements: number, width: number, allocate: ImageAllocator): Int8Array {
  if (width !== 8) return new Int8Array(elements);
  const bytes = allocate(elements);
  return new Int8Array(bytes.buffer, bytes.byteOffset, elements);
}

/** The image of int8 `elements` packed at `width` bits (at 8 bits, the elements' own bytes). */
const imageOf = (elements: Int8Array, width: number): Uint8Array =>
  width === 8 ? new Uint8Array(elements.buffer, elements.byteOffset, elements.length) : packSigned(elements, width);

/** Pack an int8 activation into its tile image (bytes, elements of the INP width). */
export function packActivation(t: Tensor, cfg: VtaConfig, allocate: ImageAllocator = newImage): Uint8Array {
  const g = tileGrid(t.shape, cfg);
  const out = imageElements(tileElements(g, cfg), cfg.inpWidth, allocate);
  const src = t.data;
  forEachRun(g, cfg, (flat, packed, count, step) => {
    for (let i = 0; i < count; i++) out[packed + i * step] = src[flat + i]!;
  });
  return imageOf(out, cfg.inpWidth);
}

/** Unpack a tile image (elements of the OUT width, sign-extended) into a row-major int8 tensor of `shape`. */
export function unpackActivation(bytes: Uint8Array, shape: number[], cfg: VtaConfig): Tensor {
  const g = tileGrid(shape, cfg);
  const elements = tileElements(g, cfg);
  // At 8 bits the bytes are the elements (read here, never written).
  const src = cfg.outWidth === 8 ? new Int8Array(bytes.buffer, bytes.byteOffset, elements) : unpackSigned(bytes, cfg.outWidth, elements);
  const out = new Int8Array(shape.reduce((a, b) => a * b, 1));
  forEachRun(g, cfg, (flat, packed, count, step) => {
    for (let i = 0; i < count; i++) out[flat + i] = src[packed + i * step]!;
  });
  return { shape: [...shape], dtype: 'int8', data: out };
}

/** Byte offset in the packed image of the element with row-major index `flat` (fractional below 8 bits). */
export function packedOffsetOf(shape: number[], flat: number, cfg: VtaConfig): number {
  return (packedElementOf(shape, flat, cfg) * cfg.outWidth) / 8;
}

function packedElementOf(shape: number[], flat: number, cfg: VtaConfig): number {
  const g = tileGrid(shape, cfg);
  const at = packedIndexer(g, cfg);
  const idx: number[] = [];
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = rest % shape[d]!;
    rest = Math.floor(rest / shape[d]!);
  }
  if (shape.length === 2) return at(idx[0]! % cfg.batch, idx[1]!, Math.floor(idx[0]! / cfg.batch), 0);
  return at(idx[0]!, idx[1]!, idx[2]!, idx[3]!);
}

/** Weight geometry in tiles: OT x CT x KH x KW. */
export interface WeightGrid {
  OT: number;
  CT: number;
  KH: number;
  KW: number;
}

/** Pack an OIHW (conv) or OI (dense) int8 weight into [OT][CT][KH][KW] tiles of [BLOCK_OUT][BLOCK_IN], elements of the WGT width. */
export function packWeight(shape: number[], data: Int8Array, cfg: VtaConfig, allocate: ImageAllocator = newImage): { grid: WeightGrid; bytes: Uint8Array } {
  const [O, I, KH, KW] = (shape.length === 2 ? [shape[0]!, shape[1]!, 1, 1] : shape) as [number, number, number, number];
  const BO = cfg.blockOut;
  const BI = cfg.blockIn;
  const grid = { OT: ceilDiv(O, BO), CT: ceilDiv(I, BI), KH, KW };
  const out = imageElements(grid.OT * grid.CT * KH * KW * cfg.blockOut * cfg.blockIn, cfg.wgtWidth, allocate);
  const taps = KH * KW;
  // Written in the packed order, one tile row (BI consecutive input channels of one output
  // channel at one tap) at a time, reading those channels `taps` apart in the OIHW row: writes
  // scattered a tile apart cost a cache miss each, over millions of weights.
  let at = 0;
  for (let ot = 0; ot < grid.OT; ot++) {
    for (let ct = 0; ct < grid.CT; ct++) {
      const inputs = Math.min(BI, I - ct * BI);
      for (let k = 0; k < taps; k++) {
        for (let bo = 0; bo < BO; bo++, at += BI) {
          const o = ot * BO + bo;
          if (o >= O) continue;
          let from = (o * I + ct * BI) * taps + k;
          for (let bi = 0; bi < inputs; bi++, from += taps) out[at + bi] = data[from]!;
        }
      }
    }
  }
  return { grid, bytes: imageOf(out, cfg.wgtWidth) };
}

/** Pack a per-channel int32 bias into OT accumulator tiles (little-endian), repeated per batch lane. */
export function packBias(data: Int32Array, cfg: VtaConfig, allocate: ImageAllocator = newImage): Uint8Array {
  const BO = cfg.blockOut;
  const B = cfg.batch;
  const OT = ceilDiv(data.length, BO);
  const out = new Int32Array(OT * B * BO);
  for (let c = 0; c < data.length; c++) {
    const t = Math.floor(c / BO);
    for (let b = 0; b < B; b++) out[(t * B + b) * BO + (c % BO)] = data[c]!;
  }
  // Int32Array is little-endian on every platform Node runs on; make it explicit anyway.
  const bytes = allocate(out.length * 4);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  out.forEach((v, i) => dv.setInt32(i * 4, v, true));
  return bytes;
}

/** Decode a graph constant (checked: length and range) into a typed array. */
export function constData(name: string, t: ConstTensor): TypedData {
  return decodeConst(name, t);
}

/** Where a convolution's taps read its input: kernel, stride and zero padding [top, left, bottom, right]. */
export interface ConvWindow {
  KH: number;
  KW: number;
  sh: number;
  sw: number;
  pad: [number, number, number, number];
}

/** The shape of an NCHW input's im2col image: [N, C·KH·KW, OH, OW]. */
export function im2colShape(shape: number[], win: ConvWindow): [number, number, number, number] {
  const [N, C, H, W] = shape as [number, number, number, number];
  const [pt, pl, pb, pr] = win.pad;
  return [N, C * win.KH * win.KW, Math.floor((H + pt + pb - win.KH) / win.sh) + 1, Math.floor((W + pl + pr - win.KW) / win.sw) + 1];
}

/**
 * The im2col image of an NCHW int8 input: [N, C·KH·KW, OH, OW], channel (c·KH + kh)·KW + kw at
 * output pixel (oh, ow) holding x[c][oh·sh + kh − pt][ow·sw + kw − pl] (zero outside). An OIHW
 * weight reshaped to [O, C·KH·KW, 1, 1] without moving a byte is then the same convolution as a
 * 1×1 one, so a few input channels fill the GEMM's reduction instead of being padded to BLOCK_IN.
 */
export function im2colActivation(x: Tensor, win: ConvWindow): Tensor {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const { KH, KW, sh, sw } = win;
  const [pt, pl] = win.pad;
  const [, , OH, OW] = im2colShape(x.shape, win);
  const out = new Int8Array(N * C * KH * KW * OH * OW);
  const src = x.data;
  let o = 0;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let kh = 0; kh < KH; kh++)
        for (let kw = 0; kw < KW; kw++)
          for (let oh = 0; oh < OH; oh++) {
            const ih = oh * sh + kh - pt;
            const row = ((n * C + c) * H + ih) * W;
            for (let ow = 0; ow < OW; ow++, o++) {
              const iw = ow * sw + kw - pl;
              if (ih >= 0 && ih < H && iw >= 0 && iw < W) out[o] = src[row + iw]!;
            }
          }
  return { shape: [N, C * KH * KW, OH, OW], dtype: 'int8', data: out };
}

/** Bytes of the packed im2col image of an NCHW input of `shape`. */
export function im2colPackedBytes(shape: number[], win: ConvWindow, cfg: VtaConfig): number {
  return (tileElements(tileGrid(im2colShape(shape, win), cfg), cfg) * cfg.inpWidth) / 8;
}

/**
 * `packActivation(im2colActivation(x, win), cfg)` in one pass, without the row-major image in
 * between: a network's first convolution rearranges its input this way on every inference. With
 * `into` (im2colPackedBytes long, reused across inferences) the image is written there.
 */
export function packIm2col(x: Tensor, win: ConvWindow, cfg: VtaConfig, into?: Uint8Array): Uint8Array {
  if (cfg.inpWidth !== 8) {
    const bytes = packActivation(im2colActivation(x, win), cfg);
    if (!into) return bytes;
    into.set(bytes);
    return into;
  }
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const { KH, KW, sh, sw } = win;
  const [pt, pl] = win.pad;
  const shape = im2colShape(x.shape, win);
  const [, , OH, OW] = shape;
  const g = tileGrid(shape, cfg);
  const B = cfg.batch;
  const K = cfg.blockIn;
  const bytes = into ?? new Uint8Array(tileElements(g, cfg));
  const out = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length).fill(0);
  const src = x.data;
  // Along ow the packed index moves one tile (B x K elements).
  const step = B * K;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let kh = 0; kh < KH; kh++)
        for (let kw = 0; kw < KW; kw++) {
          const ch = (c * KH + kh) * KW + kw;
          const lane = (n % B) * K + (ch % K);
          const plane = (Math.floor(n / B) * g.CT + Math.floor(ch / K)) * OH;
          // The output columns whose tap lies inside the input row: [owLo, owHi).
          const owLo = Math.max(0, Math.ceil((pl - kw) / sw));
          const owHi = Math.min(OW, Math.floor((W - 1 + pl - kw) / sw) + 1);
          for (let oh = 0; oh < OH; oh++) {
            const ih = oh * sh + kh - pt;
            if (ih < 0 || ih >= H) continue;
            let from = ((n * C + c) * H + ih) * W + owLo * sw + kw - pl;
            let at = ((plane + oh) * OW + owLo) * step + lane;
            for (let ow = owLo; ow < owHi; ow++, at += step, from += sw) out[at] = src[from]!;
          }
        }
  return bytes;
}

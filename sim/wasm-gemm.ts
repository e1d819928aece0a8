/**
 * A WebAssembly SIMD build of the GEMM loop nest, generated as bytes at start-up for one tile
 * shape (no toolchain needed, nothing binary in the repository). The SRAMs and the decoded uop
 * lists live in the module's memory, so one call runs a whole GEMM instruction.
 *
 * Per uop-iteration and batch row: the input row is loaded once as int16 chunks
 * (v128.load8x8_s); each output channel is a sum of i32x4.dot_i16x8_s over the chunks; four
 * channels' partial vectors are reduced together with two shuffle/add rounds and added to ACC
 * with one 128-bit load/add/store. Arithmetic is exact: 16-bit products summed in 32 bits.
 */

/** Byte offsets of each region inside the module memory. */
export interface WasmLayout {
  uop: number;
  inp: number;
  wgt: number;
  acc: number;
  dst: number;
  src: number;
  wgtIdx: number;
  bytes: number;
}

export interface WasmGemmShape {
  batch: number;
  blockIn: number;
  blockOut: number;
}

/** gemm(n, iterOut, iterIn, dO, dI, sO, sI, wO, wI): uops in the dst/src/wgt lists [0, n). */
export type WasmGemmFn = (n: number, iterOut: number, iterIn: number, dO: number, dI: number, sO: number, sI: number, wO: number, wI: number) => void;

// ---- a minimal WebAssembly binary writer ----

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const str = (s: string) => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (d: number) => [0x0c, ...uleb(d)],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  get: (l: number) => [0x20, ...uleb(l)],
  set: (l: number) => [0x21, ...uleb(l)],
  tee: (l: number) => [0x22, ...uleb(l)],
  i32: (v: number) => [0x41, ...sleb(v)],
  load: (offset: number) => [0x28, 0x02, ...uleb(offset)],
  add: [0x6a],
  mul: [0x6c],
  geU: [0x4f],
  simd: (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm],
};
const v128Load = (offset: number) => op.simd(0x00, 0x00, ...uleb(offset));
const load8x8s = (offset: number) => op.simd(0x01, 0x00, ...uleb(offset));
const v128Store = (offset: number) => op.simd(0x0b, 0x00, ...uleb(offset));
const i32x4Add = op.simd(0xae);
const dot = op.simd(0xba);
/** i8x16.shuffle selecting whole i32 lanes (0-3 from a, 4-7 from b). */
const shuffle32 = (lanes: number[]) => op.simd(0x0d, ...lanes.flatMap((l) => [l * 4, l * 4 + 1, l * 4 + 2, l * 4 + 3]));

/** The module bytes for a shape and memory layout. */
export function buildGemmModule(shape: WasmGemmShape, layout: WasmLayout): Uint8Array<ArrayBuffer> {
  const { batch, blockIn, blockOut } = shape;
  const chunks = blockIn / 8;
  const inpTile = batch * blockIn;
  const wgtTile = blockOut * blockIn;
  const accTile = batch * blockOut * 4;
  // Params 0..8, then i32 locals, then v128 locals.
  const [N, IO, II, DO, DI, SO, SI, WO, WI] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [I, J, K, KEND, DB, SB, WB, A, X, W] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
  const V = 19; // v128 locals: X chunks, then 4 partials, then 2 pair sums
  const XV = (c: number) => V + c;
  const P = (q: number) => V + chunks + q;
  const S01 = V + chunks + 4;
  const S23 = S01 + 1;
  const body: number[] = [];
  const emit = (...xs: number[][]) => xs.forEach((x) => body.push(...x));

  // k runs over byte offsets into the uop lists: kEnd = n * 4.
  emit(op.get(N), op.i32(4), op.mul, op.set(KEND));
  emit(op.i32(0), op.set(I), op.block, op.loop);
  emit(op.get(I), op.get(IO), op.geU, op.brIf(1));
  emit(op.i32(0), op.set(J), op.block, op.loop);
  emit(op.get(J), op.get(II), op.geU, op.brIf(1));
  // Per (i, j) index offsets, as element indices.
  emit(op.get(I), op.get(DO), op.mul, op.get(J), op.get(DI), op.mul, op.add, op.set(DB));
  emit(op.get(I), op.get(SO), op.mul, op.get(J), op.get(SI), op.mul, op.add, op.set(SB));
  emit(op.get(I), op.get(WO), op.mul, op.get(J), op.get(WI), op.mul, op.add, op.set(WB));
  emit(op.i32(0), op.set(K), op.block, op.loop);
  emit(op.get(K), op.get(KEND), op.geU, op.brIf(1));
  // a, x, w: byte addresses of the tiles.
  emit(op.get(K), op.load(layout.dst), op.get(DB), op.add, op.i32(accTile), op.mul, op.set(A));
  emit(op.get(K), op.load(layout.src), op.get(SB), op.add, op.i32(inpTile), op.mul, op.set(X));
  emit(op.get(K), op.load(layout.wgtIdx), op.get(WB), op.add, op.i32(wgtTile), op.mul, op.set(W));
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < chunks; c++) emit(op.get(X), load8x8s(layout.inp + b * blockIn + c * 8), op.set(XV(c)));
    for (let o = 0; o < blockOut; o += 4) {
      for (let q = 0; q < 4; q++) {
        for (let c = 0; c < chunks; c++) {
          emit(op.get(W), load8x8s(layout.wgt + (o + q) * blockIn + c * 8), op.get(XV(c)), dot);
          if (c > 0) emit(i32x4Add);
        }
        emit(op.set(P(q)));
      }
      // [P0, P1, P2, P3] partial vectors -> one vector of their four horizontal sums.
      emit(op.get(P(0)), op.get(P(1)), shuffle32([0, 4, 1, 5]), op.get(P(0)), op.get(P(1)), shuffle32([2, 6, 3, 7]), i32x4Add, op.set(S01));
      emit(op.get(P(2)), op.get(P(3)), shuffle32([0, 4, 1, 5]), op.get(P(2)), op.get(P(3)), shuffle32([2, 6, 3, 7]), i32x4Add, op.set(S23));
      const accAt = layout.acc + (b * blockOut + o) * 4;
      emit(op.get(A)); // store address
      emit(op.get(A), v128Load(accAt));
      emit(op.get(S01), op.get(S23), shuffle32([0, 1, 4, 5]), op.get(S01), op.get(S23), shuffle32([2, 3, 6, 7]), i32x4Add);
      emit(i32x4Add, v128Store(accAt));
    }
  }
  emit(op.get(K), op.i32(4), op.add, op.set(K), op.br(0), op.end, op.end);
  emit(op.get(J), op.i32(1), op.add, op.set(J), op.br(0), op.end, op.end);
  emit(op.get(I), op.i32(1), op.add, op.set(I), op.br(0), op.end, op.end);
  emit(op.end);

  const locals = [
    [...uleb(10), I32],
    [...uleb(chunks + 6), V128],
  ];
  const func = [...vec(locals), ...body];
  const pages = Math.ceil(layout.bytes / 65536);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...uleb(9), ...new Array(9).fill(I32), 0x00]])),
    ...section(2, vec([[...str('env'), ...str('mem'), 0x02, 0x00, ...uleb(pages)]])),
    ...section(3, vec([[0x00]])),
    ...section(7, vec([[...str('gemm'), 0x00, 0x00]])),
    ...section(10, vec([[...uleb(func.length), ...func]])),
  ]);
}

/** Memory layout for a config's buffers (each region 16-byte aligned). */
export function wasmLayout(sizes: { uop: number; inp: number; wgt: number; acc: number; uopDepth: number }): WasmLayout {
  let at = 0;
  const take = (n: number) => {
    const here = at;
    at += Math.ceil(n / 16) * 16;
    return here;
  };
  const uop = take(sizes.uop);
  const inp = take(sizes.inp);
  const wgt = take(sizes.wgt);
  const acc = take(sizes.acc);
  const dst = take(sizes.uopDepth * 4);
  const src = take(sizes.uopDepth * 4);
  const wgtIdx = take(sizes.uopDepth * 4);
  return { uop, inp, wgt, acc, dst, src, wgtIdx, bytes: at };
}

/** Instantiate the module on a fresh memory; undefined when this engine has no WebAssembly SIMD. */
export function instantiateGemm(shape: WasmGemmShape, layout: WasmLayout): { memory: WebAssembly.Memory; gemm: WasmGemmFn } | undefined {
  if (typeof WebAssembly !== 'object' || shape.blockIn % 8 !== 0 || shape.blockOut % 4 !== 0) return undefined;
  const bytes = buildGemmModule(shape, layout);
  if (!WebAssembly.validate(bytes)) return undefined;
  const memory = new WebAssembly.Memory({ initial: Math.ceil(layout.bytes / 65536) });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: memory } });
  return { memory, gemm: instance.exports.gemm as WasmGemmFn };
}

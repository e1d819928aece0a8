/**
 * WebAssembly SIMD builds of the GEMM and ALU loop nests, generated as bytes at start-up for one
 * tile shape (no toolchain needed, nothing binary in the repository). The SRAMs and the decoded
 * uop lists live in the module's memory, so one call runs a whole instruction.
 *
 * GEMM, per uop-iteration and batch row: the input row is loaded once as int16 chunks
 * (v128.load8x8_s); each output channel is a sum of i32x4.dot_i16x8_s over the chunks; four
 * channels' partial vectors are reduced together with two shuffle/add rounds and added to ACC
 * with one 128-bit load/add/store. Arithmetic is exact: 16-bit products summed in 32 bits.
 * ALU: four lanes at a time with the i32x4 operation; SHR with a tensor operand has a count per
 * lane, which SIMD cannot shift by, so it runs one lane at a time (wasm masks counts to 5 bits,
 * which is exactly |B| & 31 once the sign picks the direction).
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
  /** 32 int32 of parameters for the native calls (native-kernels.ts), unused by the module. */
  args: number;
  bytes: number;
}

export interface WasmShape {
  batch: number;
  blockIn: number;
  blockOut: number;
}

/** Every export takes (n, iterOut, iterIn, dO, dI, sO, sI, wO, wI, imm); uops are [0, n) of the lists. */
export type WasmNestFn = (n: number, iterOut: number, iterIn: number, dO: number, dI: number, sO: number, sI: number, wO: number, wI: number, imm: number) => void;

/** Export names: `gemm`, and `alu_<op>` / `alu_<op>_imm` for min, max, add, mul, plus `alu_shr`, `alu_sra_imm`, `alu_shl_imm`. */
export type WasmKernelExports = Record<string, WasmNestFn>;

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
  store: (offset: number) => [0x36, 0x02, ...uleb(offset)],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  shl: [0x74],
  shrS: [0x75],
  geU: [0x4f],
  geS: [0x4e],
  select: [0x1b],
  simd: (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm],
};
const v128Load = (offset: number) => op.simd(0x00, 0x00, ...uleb(offset));
const load8x8s = (offset: number) => op.simd(0x01, 0x00, ...uleb(offset));
const v128Store = (offset: number) => op.simd(0x0b, 0x00, ...uleb(offset));
const i32x4Add = op.simd(0xae);
const dot = op.simd(0xba);
/** i8x16.shuffle selecting whole i32 lanes (0-3 from a, 4-7 from b). */
const shuffle32 = (lanes: number[]) => op.simd(0x0d, ...lanes.flatMap((l) => [l * 4, l * 4 + 1, l * 4 + 2, l * 4 + 3]));


const i32x4 = { min: op.simd(0xb6), max: op.simd(0xb8), add: op.simd(0xae), mul: op.simd(0xb5), shl: op.simd(0xab), shrS: op.simd(0xac), splat: op.simd(0x11) };

// Params 0..9, then i32 locals, then v128 locals.
const [N, IO, II, DO, DI, SO, SI, WO, WI, IMM] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const [I, J, K, KEND, DB, SB, WB, A, X, W, T] = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
const I32_LOCALS = 11;
const V = 10 + I32_LOCALS; // first v128 local

/**
 * The i / j / uop loops shared by every function. Inside, locals A, X, W hold the byte addresses
 * of the dst (ACC), src (INP for GEMM, ACC for ALU) and wgt tiles of the current uop-iteration;
 * X and W only when the body `uses` them (the ALU never reads WGT, and with an immediate no src).
 */
function nest(layout: WasmLayout, tiles: { dst: number; src: number; wgt: number; srcBase: number }, inner: number[], uses: { src: boolean; wgt: boolean }): number[] {
  const b: number[] = [];
  const emit = (...xs: number[][]) => xs.forEach((x) => b.push(...x));
  emit(op.get(N), op.i32(4), op.mul, op.set(KEND));
  emit(op.i32(0), op.set(I), op.block, op.loop);
  emit(op.get(I), op.get(IO), op.geU, op.brIf(1));
  emit(op.i32(0), op.set(J), op.block, op.loop);
  emit(op.get(J), op.get(II), op.geU, op.brIf(1));
  emit(op.get(I), op.get(DO), op.mul, op.get(J), op.get(DI), op.mul, op.add, op.set(DB));
  if (uses.src) emit(op.get(I), op.get(SO), op.mul, op.get(J), op.get(SI), op.mul, op.add, op.set(SB));
  if (uses.wgt) emit(op.get(I), op.get(WO), op.mul, op.get(J), op.get(WI), op.mul, op.add, op.set(WB));
  emit(op.i32(0), op.set(K), op.block, op.loop);
  emit(op.get(K), op.get(KEND), op.geU, op.brIf(1));
  emit(op.get(K), op.load(layout.dst), op.get(DB), op.add, op.i32(tiles.dst), op.mul, op.i32(layout.acc), op.add, op.set(A));
  if (uses.src) emit(op.get(K), op.load(layout.src), op.get(SB), op.add, op.i32(tiles.src), op.mul, op.i32(tiles.srcBase), op.add, op.set(X));
  if (uses.wgt) emit(op.get(K), op.load(layout.wgtIdx), op.get(WB), op.add, op.i32(tiles.wgt), op.mul, op.i32(layout.wgt), op.add, op.set(W));
  b.push(...inner);
  emit(op.get(K), op.i32(4), op.add, op.set(K), op.br(0), op.end, op.end);
  emit(op.get(J), op.i32(1), op.add, op.set(J), op.br(0), op.end, op.end);
  emit(op.get(I), op.i32(1), op.add, op.set(I), op.br(0), op.end, op.end);
  return b;
}

function gemmBody(shape: WasmShape): number[] {
  const { batch, blockIn, blockOut } = shape;
  const chunks = blockIn / 8;
  const XV = (c: number) => V + c;
  const P = (q: number) => V + chunks + q;
  const S01 = V + chunks + 4;
  const S23 = S01 + 1;
  const b: number[] = [];
  const emit = (...xs: number[][]) => xs.forEach((x) => b.push(...x));
  for (let r = 0; r < batch; r++) {
    for (let c = 0; c < chunks; c++) emit(op.get(X), load8x8s(r * blockIn + c * 8), op.set(XV(c)));
    for (let o = 0; o < blockOut; o += 4) {
      for (let q = 0; q < 4; q++) {
        for (let c = 0; c < chunks; c++) {
          emit(op.get(W), load8x8s((o + q) * blockIn + c * 8), op.get(XV(c)), dot);
          if (c > 0) emit(i32x4Add);
        }
        emit(op.set(P(q)));
      }
      // [P0, P1, P2, P3] partial vectors -> one vector of their four horizontal sums.
      emit(op.get(P(0)), op.get(P(1)), shuffle32([0, 4, 1, 5]), op.get(P(0)), op.get(P(1)), shuffle32([2, 6, 3, 7]), i32x4Add, op.set(S01));
      emit(op.get(P(2)), op.get(P(3)), shuffle32([0, 4, 1, 5]), op.get(P(2)), op.get(P(3)), shuffle32([2, 6, 3, 7]), i32x4Add, op.set(S23));
      const at = (r * blockOut + o) * 4;
      emit(op.get(A), op.get(A), v128Load(at));
      emit(op.get(S01), op.get(S23), shuffle32([0, 1, 4, 5]), op.get(S01), op.get(S23), shuffle32([2, 3, 6, 7]), i32x4Add);
      emit(i32x4Add, v128Store(at));
    }
  }
  return b;
}

/** ACC[A] = f(ACC[A], operand) four lanes at a time; the operand is ACC[X] or the splatted imm. */
function aluVectorBody(lanes: number, vop: number[], useImm: boolean): number[] {
  const b: number[] = [];
  const emit = (...xs: number[][]) => xs.forEach((x) => b.push(...x));
  for (let l = 0; l < lanes; l += 4) {
    emit(op.get(A), op.get(A), v128Load(l * 4));
    if (useImm) emit(op.get(IMM), i32x4.splat);
    else emit(op.get(X), v128Load(l * 4));
    emit(vop, v128Store(l * 4));
  }
  return b;
}

/** SHR with a shift count of 0 for use with a uniform count (imm): shr_s / shl take the i32 count. */
function aluShiftImmBody(lanes: number, vop: number[]): number[] {
  const b: number[] = [];
  const emit = (...xs: number[][]) => xs.forEach((x) => b.push(...x));
  for (let l = 0; l < lanes; l += 4) emit(op.get(A), op.get(A), v128Load(l * 4), op.get(IMM), vop, v128Store(l * 4));
  return b;
}

/** SHR with a tensor operand: per lane, B >= 0 ? A >> B : A << -B (wasm masks both counts to 5 bits). */
function aluShrTensorBody(lanes: number): number[] {
  const b: number[] = [];
  const emit = (...xs: number[][]) => xs.forEach((x) => b.push(...x));
  for (let l = 0; l < lanes; l++) {
    emit(op.get(X), op.load(l * 4), op.set(T));
    emit(op.get(A)); // store address
    emit(op.get(A), op.load(l * 4), op.get(T), op.shrS);
    emit(op.get(A), op.load(l * 4), op.i32(0), op.get(T), op.sub, op.shl);
    emit(op.get(T), op.i32(0), op.geS, op.select);
    emit(op.store(l * 4));
  }
  return b;
}

/** The module bytes for a shape and memory layout. */
export function buildKernelModule(shape: WasmShape, layout: WasmLayout): Uint8Array<ArrayBuffer> {
  const lanes = shape.batch * shape.blockOut;
  const gemmTiles = { dst: lanes * 4, src: shape.batch * shape.blockIn, wgt: shape.blockOut * shape.blockIn, srcBase: layout.inp };
  const aluTiles = { dst: lanes * 4, src: lanes * 4, wgt: 0, srcBase: layout.acc };
  const tensor = { src: true, wgt: false };
  const imm = { src: false, wgt: false };
  const funcs: [string, number[], typeof gemmTiles, typeof tensor][] = [['gemm', gemmBody(shape), gemmTiles, { src: true, wgt: true }]];
  for (const [name, vop] of [['min', i32x4.min], ['max', i32x4.max], ['add', i32x4.add], ['mul', i32x4.mul]] as const) {
    funcs.push([`alu_${name}`, aluVectorBody(lanes, vop, false), aluTiles, tensor]);
    funcs.push([`alu_${name}_imm`, aluVectorBody(lanes, vop, true), aluTiles, imm]);
  }
  funcs.push(['alu_sra_imm', aluShiftImmBody(lanes, i32x4.shrS), aluTiles, imm]);
  funcs.push(['alu_shl_imm', aluShiftImmBody(lanes, i32x4.shl), aluTiles, imm]);
  funcs.push(['alu_shr', aluShrTensorBody(lanes), aluTiles, tensor]);

  const vLocals = shape.blockIn / 8 + 6;
  const code = funcs.map(([, inner, tiles, uses]) => {
    const f = [...vec([[...uleb(I32_LOCALS), I32], [...uleb(vLocals), V128]]), ...nest(layout, tiles, inner, uses), ...op.end];
    return [...uleb(f.length), ...f];
  });
  const pages = Math.ceil(layout.bytes / 65536);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...uleb(10), ...new Array(10).fill(I32), 0x00]])),
    ...section(2, vec([[...str('env'), ...str('mem'), 0x02, 0x00, ...uleb(pages)]])),
    ...section(3, vec(funcs.map(() => [0x00]))),
    ...section(7, vec(funcs.map(([name], i) => [...str(name), 0x00, ...uleb(i)]))),
    ...section(10, vec(code)),
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
  const args = take(32 * 4);
  return { uop, inp, wgt, acc, dst, src, wgtIdx, args, bytes: at };
}

/**
 * Compiled modules by shape and layout (null: the engine refused the bytes): every fsim device of
 * one config shares one compilation instead of generating and compiling the module on each open.
 */
const compiled = new Map<string, WebAssembly.Module | null>();

function compiledModule(shape: WasmShape, layout: WasmLayout): WebAssembly.Module | null {
  const key = JSON.stringify([shape.batch, shape.blockIn, shape.blockOut, layout]);
  let module = compiled.get(key);
  if (module === undefined) {
    const bytes = buildKernelModule(shape, layout);
    module = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    compiled.set(key, module);
  }
  return module;
}

/** Instantiate the module on a fresh memory; undefined when this engine has no WebAssembly SIMD. */
export function instantiateKernels(shape: WasmShape, layout: WasmLayout): { memory: WebAssembly.Memory; exports: WasmKernelExports } | undefined {
  if (typeof WebAssembly !== 'object' || shape.blockIn % 8 !== 0 || (shape.batch * shape.blockOut) % 4 !== 0 || shape.blockOut % 4 !== 0) return undefined;
  const module = compiledModule(shape, layout);
  if (!module) return undefined;
  const memory = new WebAssembly.Memory({ initial: Math.ceil(layout.bytes / 65536) });
  const instance = new WebAssembly.Instance(module, { env: { mem: memory } });
  return { memory, exports: instance.exports as unknown as WasmKernelExports };
}

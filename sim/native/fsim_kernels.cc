// fsim's GEMM loop nests (accumulate and reset) and its strided 8-bit DMA in native code
// (sim/native-kernels.ts loads this addon). The WebAssembly kernels stay the fallback and the
// reference the tests compare against byte for byte, and keep the ALU: a native ALU measured no
// faster on ResNet-18 (its 9.5 k short calls cost more through Node-API than into WebAssembly).
//
// The SRAMs are the WebAssembly kernels' memory (sim/wasm-kernels.ts lays it out; it never grows,
// so its address is fixed); a call's parameters are written into an int32 block of it first, so
// a call crosses the Node-API boundary without numbers to convert.
//
// GEMM, instruction set chosen at run time: vpdpbusd (AVX-512 VNNI, or AVX-VNNI's 256-bit form)
// multiplies unsigned by signed bytes, so the input row is biased to unsigned (x + 128, an XOR of
// the sign bit) and each output channel starts from -128 * (sum of its weight row), which makes
// the sum exact: sum((x + 128) * w) - 128 * sum(w) = sum(x * w), all in wrapping int32 as the ISA
// says. Each weight tile is transposed (four input columns of every output channel side by side)
// the first time an instruction uses it and reused for the rest of that instruction (WGT does not
// change during one). Without VNNI there is no native GEMM: an AVX2 one (vpmaddwd on int16 pairs)
// measured slower than the WebAssembly kernel, which does the same.
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <immintrin.h>
#include <vector>

namespace {

// Indices into the int32 argument block (sim/native-kernels.ts writes them in this order).
enum Arg { kCount, kIterOut, kIterIn, kDstOut, kDstIn, kSrcOut, kSrcIn, kWgtOut, kWgtIn };
// The DMA calls' slots, after the loop's.
enum DmaArg { kStride = 16, kRowBytes, kRows, kSramAt, kPitch, kPad0, kPad1, kSignExtend };

// The instruction sets the GEMM has a nest for, best first.
enum class Isa { kAvx512Vnni, kAvxVnni, kNone };
constexpr Isa kIsas[] = {Isa::kAvx512Vnni, Isa::kAvxVnni};

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kAvx512Vnni: return "avx512vnni";
    case Isa::kAvxVnni: return "avxvnni";
    default: return "";
  }
}

bool CpuHas(Isa isa) {
  __builtin_cpu_init();
  switch (isa) {
    case Isa::kAvx512Vnni:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512vnni");
    case Isa::kAvxVnni: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni");
    default: return false;
  }
}

struct Nest {
  int32_t count, iterOut, iterIn, dstOut, dstIn, srcOut, srcIn, wgtOut, wgtIn;
};

class Kernels : public Napi::ObjectWrap<Kernels> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Kernels", {InstanceMethod("gemm", &Kernels::Gemm), InstanceMethod("reset", &Kernels::Reset),
                                        InstanceMethod("loadRows", &Kernels::LoadRows), InstanceMethod("storeRows", &Kernels::StoreRows)});
  }

  // new Kernels(buffer, offsets { inp, wgt, acc, dst, src, wgtIdx, args }, shape { batch, blockIn, blockOut, wgtDepth }, isa)
  explicit Kernels(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Kernels>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsArrayBuffer() || !info[1].IsObject() || !info[2].IsObject() || !info[3].IsString()) {
      throw Napi::TypeError::New(env, "error[E_NATIVE]: Kernels(buffer, offsets, shape, isa) expected");
    }
    Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
    buffer_ = Napi::Persistent(buffer);
    auto* base = static_cast<uint8_t*>(buffer.Data());
    base_ = base;
    Napi::Object at = info[1].As<Napi::Object>();
    Napi::Object shape = info[2].As<Napi::Object>();
    auto num = [](Napi::Object o, const char* k) { return o.Get(k).As<Napi::Number>().Int32Value(); };
    inp_ = reinterpret_cast<const int8_t*>(base + num(at, "inp"));
    wgt_ = reinterpret_cast<const int8_t*>(base + num(at, "wgt"));
    acc_ = reinterpret_cast<int32_t*>(base + num(at, "acc"));
    dst_ = reinterpret_cast<const int32_t*>(base + num(at, "dst"));
    src_ = reinterpret_cast<const int32_t*>(base + num(at, "src"));
    wgtIdx_ = reinterpret_cast<const int32_t*>(base + num(at, "wgtIdx"));
    args_ = reinterpret_cast<const int32_t*>(base + num(at, "args"));
    batch_ = num(shape, "batch");
    blockIn_ = num(shape, "blockIn");
    blockOut_ = num(shape, "blockOut");
    const int wgtDepth = num(shape, "wgtDepth");
    const std::string wanted = info[3].As<Napi::String>().Utf8Value();
    // Any instruction set this CPU has may be asked for (the tests run each one).
    for (Isa isa : kIsas) {
      if (wanted == IsaName(isa)) isa_ = isa;
    }
    if (isa_ == Isa::kNone || !CpuHas(isa_) || blockOut_ % 8 != 0 || blockIn_ % 4 != 0) {
      throw Napi::Error::New(env, "error[E_NATIVE]: native fsim kernels for " + wanted + " are not available on this CPU or shape");
    }
    // Transposed tile: blockIn / 4 column groups of blockOut int32 lanes, then blockOut int32 corrections.
    tileBytes_ = blockOut_ * blockIn_ + blockOut_ * 4;
    tiles_.assign(static_cast<size_t>(wgtDepth) * tileBytes_ / 4 + 16, 0);
    stamp_.assign(wgtDepth, 0);
  }

  // The instruction sets this CPU has a nest for, best first: "avx512vnni,avxvnni", or "".
  static Napi::Value Features(const Napi::CallbackInfo& info) {
    std::string list;
    for (Isa isa : kIsas) {
      if (CpuHas(isa)) list += (list.empty() ? "" : ",") + std::string(IsaName(isa));
    }
    return Napi::String::New(info.Env(), list);
  }

 private:
  Nest ReadNest() const {
    return {args_[kCount], args_[kIterOut], args_[kIterIn], args_[kDstOut], args_[kDstIn],
            args_[kSrcOut], args_[kSrcIn], args_[kWgtOut], args_[kWgtIn]};
  }

  void Gemm(const Napi::CallbackInfo&) {
    const Nest n = ReadNest();
    if (++generation_ == 0) {  // wrapped: forget every stamp rather than trust an old one
      std::fill(stamp_.begin(), stamp_.end(), 0);
      generation_ = 1;
    }
    if (isa_ == Isa::kAvx512Vnni) GemmAvx512(n);
    else GemmAvxVnni(n);
  }

  // The DRAM bytes of a DMA: a Uint8Array (JavaScript has checked it lies inside one allocation).
  static uint8_t* Span(const Napi::CallbackInfo& info) {
    Napi::Uint8Array span = info[0].As<Napi::Uint8Array>();
    return span.Data();
  }

  // LOAD rows from DRAM (rows of kRowBytes, kStride apart) into the SRAM at byte kSramAt of the
  // memory, kPitch bytes per row: kPad0 zero bytes, the row (copied, or with kSignExtend each byte
  // sign-extended to an int32 lane, ACC_8BIT), kPad1 zero bytes.
  void LoadRows(const Napi::CallbackInfo& info) {
    const uint8_t* src = Span(info);
    const int stride = args_[kStride], rowBytes = args_[kRowBytes], rows = args_[kRows], pitch = args_[kPitch];
    const int pad0 = args_[kPad0], pad1 = args_[kPad1];
    const bool widen = args_[kSignExtend] != 0;
    uint8_t* dst = base_ + args_[kSramAt];
    const int dataBytes = widen ? rowBytes * 4 : rowBytes;
    for (int y = 0; y < rows; y++, src += stride, dst += pitch) {
      if (pad0) std::memset(dst, 0, pad0);
      if (widen) {
        int32_t* lanes = reinterpret_cast<int32_t*>(dst + pad0);
        for (int b = 0; b < rowBytes; b++) lanes[b] = static_cast<int8_t>(src[b]);
      } else {
        std::memcpy(dst + pad0, src, rowBytes);
      }
      if (pad1) std::memset(dst + pad0 + dataBytes, 0, pad1);
    }
  }

  // STORE rows: kRows rows of kRowBytes DRAM bytes, kStride apart, each byte the low 8 bits of one
  // ACC lane, the lanes contiguous from byte kSramAt of the memory.
  void StoreRows(const Napi::CallbackInfo& info) {
    uint8_t* dst = Span(info);
    const int stride = args_[kStride], rowBytes = args_[kRowBytes], rows = args_[kRows];
    const int32_t* lanes = reinterpret_cast<const int32_t*>(base_ + args_[kSramAt]);
    for (int y = 0; y < rows; y++, dst += stride, lanes += rowBytes) {
      for (int b = 0; b < rowBytes; b++) dst[b] = static_cast<uint8_t>(lanes[b]);
    }
  }

  // GEMM with reset_reg: ACC[dst] = 0 for every uop-iteration.
  void Reset(const Napi::CallbackInfo&) {
    const Nest n = ReadNest();
    const size_t lanes = static_cast<size_t>(batch_) * blockOut_;
    for (int i = 0; i < n.iterOut; i++) {
      for (int j = 0; j < n.iterIn; j++) {
        const int dOff = i * n.dstOut + j * n.dstIn;
        for (int k = 0; k < n.count; k++) std::memset(acc_ + (dst_[k] + dOff) * lanes, 0, lanes * 4);
      }
    }
  }

  // The transposed copy of weight tile `w` for this instruction, made on its first use there:
  // dword g of row o (inputs 4g..4g+3 of output o) at t[g * blockOut + o], then the corrections
  // -128 * (sum of row o) (wrapping, as every sum here).
  __attribute__((noinline)) void Transpose(int w, int32_t* t) {
    stamp_[w] = generation_;
    const int8_t* src = wgt_ + static_cast<size_t>(w) * blockOut_ * blockIn_;
    const int groups = blockIn_ / 4;
    for (int g = 0; g < groups; g++) {
      for (int o = 0; o < blockOut_; o++) std::memcpy(t + g * blockOut_ + o, src + o * blockIn_ + g * 4, 4);
    }
    int32_t* corr = t + groups * blockOut_;
    for (int o = 0; o < blockOut_; o++) {
      uint32_t sum = 0;
      for (int c = 0; c < blockIn_; c++) sum += static_cast<uint32_t>(static_cast<int32_t>(src[o * blockIn_ + c]));
      corr[o] = static_cast<int32_t>(sum * static_cast<uint32_t>(-128));
    }
  }

  // The state a GEMM nest reads, in locals the compiler need not reload after every ACC store.
  struct Sram {
    int32_t* __restrict acc;
    const int8_t* __restrict inp;
    const int32_t* __restrict dst;
    const int32_t* __restrict src;
    const int32_t* __restrict wgt;
    const uint32_t* __restrict stamp;
    int32_t* __restrict tiles;
    uint32_t gen;
    int tileInts;
  };
  Sram Locals() { return {acc_, inp_, dst_, src_, wgtIdx_, stamp_.data(), tiles_.data(), generation_, tileBytes_ / 4}; }

  void GemmAvx512(const Nest& n) {
    if (batch_ == 1 && blockIn_ == 16 && blockOut_ == 16) return GemmVnni16(n);
    return GemmAvx512Ymm(n);
  }

  // The default 1x16x16 shape: a weight tile is four 512-bit registers (four input columns of all
  // 16 outputs each) plus the correction, kept while consecutive uops use the same tile (the
  // compiler's uop lists mostly do), and the input row is four broadcast dwords.
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void GemmVnni16(const Nest& n) {
    const __m512i bias = _mm512_set1_epi32(static_cast<int32_t>(0x80808080u));
    const Sram m = Locals();
    for (int i = 0; i < n.iterOut; i++) {
      for (int j = 0; j < n.iterIn; j++) {
        const int dOff = i * n.dstOut + j * n.dstIn, sOff = i * n.srcOut + j * n.srcIn, wOff = i * n.wgtOut + j * n.wgtIn;
        int held = -1;
        __m512i t0 = _mm512_setzero_si512(), t1 = t0, t2 = t0, t3 = t0, corr = t0;
        for (int k = 0; k < n.count; k++) {
          const int w = m.wgt[k] + wOff;
          if (w != held) {
            int32_t* t = m.tiles + static_cast<size_t>(w) * m.tileInts;
            if (m.stamp[w] != m.gen) Transpose16(w, t);
            t0 = _mm512_loadu_si512(t);
            t1 = _mm512_loadu_si512(t + 16);
            t2 = _mm512_loadu_si512(t + 32);
            t3 = _mm512_loadu_si512(t + 48);
            corr = _mm512_loadu_si512(t + 64);
            held = w;
          }
          const int32_t* x = reinterpret_cast<const int32_t*>(m.inp + static_cast<size_t>(m.src[k] + sOff) * 16);
          int32_t* a = m.acc + static_cast<size_t>(m.dst[k] + dOff) * 16;
          __m512i s0 = _mm512_dpbusd_epi32(corr, _mm512_xor_si512(_mm512_set1_epi32(x[0]), bias), t0);
          __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_xor_si512(_mm512_set1_epi32(x[1]), bias), t1);
          s0 = _mm512_dpbusd_epi32(s0, _mm512_xor_si512(_mm512_set1_epi32(x[2]), bias), t2);
          s1 = _mm512_dpbusd_epi32(s1, _mm512_xor_si512(_mm512_set1_epi32(x[3]), bias), t3);
          const __m512i s = _mm512_add_epi32(s0, s1);
          // The ACC row in two 256-bit halves: a 512-bit load of a row that two 256-bit halves of
          // an earlier store wrote is not forwarded on Zen 4 and stalls.
          auto* lo = reinterpret_cast<__m256i*>(a);
          _mm256_storeu_si256(lo, _mm256_add_epi32(_mm256_loadu_si256(lo), _mm512_castsi512_si256(s)));
          _mm256_storeu_si256(lo + 1, _mm256_add_epi32(_mm256_loadu_si256(lo + 1), _mm512_extracti64x4_epi64(s, 1)));
        }
      }
    }
  }

  // Transpose of a 16x16 tile: rows o as four dwords each (four zmm of four rows) -> column group
  // g of all 16 rows per zmm; corrections -128 * (row sum) from vpdpbusd with ones.
  __attribute__((noinline, target("avx512f,avx512bw,avx512vl,avx512vnni"))) void Transpose16(int w, int32_t* t) {
    stamp_[w] = generation_;
    const int8_t* src = wgt_ + static_cast<size_t>(w) * 256;
    const __m512i r0 = _mm512_loadu_si512(src), r1 = _mm512_loadu_si512(src + 64);
    const __m512i r2 = _mm512_loadu_si512(src + 128), r3 = _mm512_loadu_si512(src + 192);
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i sum = _mm512_setzero_si512();
    for (int g = 0; g < 4; g++) {
      // Lane o (< 8) takes dword o * 4 + g of r0:r1; lane o (>= 8) dword (o - 8) * 4 + g of r2:r3.
      alignas(64) int32_t idx[16];
      for (int o = 0; o < 16; o++) idx[o] = (o & 7) * 4 + g;
      const __m512i ix = _mm512_load_si512(idx);
      const __m512i col = _mm512_mask_blend_epi32(0xFF00, _mm512_permutex2var_epi32(r0, ix, r1), _mm512_permutex2var_epi32(r2, ix, r3));
      _mm512_storeu_si512(t + g * 16, col);
      sum = _mm512_dpbusd_epi32(sum, ones, col);
    }
    _mm512_storeu_si512(t + 64, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, 7)));
  }

  void GemmAvxVnni(const Nest& n) {
    if (batch_ == 1 && blockIn_ == 16 && blockOut_ == 16) return GemmAvxVnni16(n);
    return GemmAvxVnniYmm(n);
  }

  // The default shape with AVX-VNNI: as GemmVnni16 with the tile in eight 256-bit registers
  // (outputs 0-7 and 8-15 of each column group) plus two of corrections.
  __attribute__((target("avx2,avxvnni"))) void GemmAvxVnni16(const Nest& n) {
    const __m256i bias = _mm256_set1_epi32(static_cast<int32_t>(0x80808080u));
    const Sram m = Locals();
    for (int i = 0; i < n.iterOut; i++) {
      for (int j = 0; j < n.iterIn; j++) {
        const int dOff = i * n.dstOut + j * n.dstIn, sOff = i * n.srcOut + j * n.srcIn, wOff = i * n.wgtOut + j * n.wgtIn;
        int held = -1;
        __m256i t0 = _mm256_setzero_si256(), t1 = t0, t2 = t0, t3 = t0, u0 = t0, u1 = t0, u2 = t0, u3 = t0, c0 = t0, c1 = t0;
        for (int k = 0; k < n.count; k++) {
          const int w = m.wgt[k] + wOff;
          if (w != held) {
            int32_t* t = m.tiles + static_cast<size_t>(w) * m.tileInts;
            if (m.stamp[w] != m.gen) Transpose(w, t);
#define VTA_LOAD(p) _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))
            t0 = VTA_LOAD(t), u0 = VTA_LOAD(t + 8), t1 = VTA_LOAD(t + 16), u1 = VTA_LOAD(t + 24);
            t2 = VTA_LOAD(t + 32), u2 = VTA_LOAD(t + 40), t3 = VTA_LOAD(t + 48), u3 = VTA_LOAD(t + 56);
            c0 = VTA_LOAD(t + 64), c1 = VTA_LOAD(t + 72);
#undef VTA_LOAD
            held = w;
          }
          const int32_t* x = reinterpret_cast<const int32_t*>(m.inp + static_cast<size_t>(m.src[k] + sOff) * 16);
          auto* a = reinterpret_cast<__m256i*>(m.acc + static_cast<size_t>(m.dst[k] + dOff) * 16);
          const __m256i x0 = _mm256_xor_si256(_mm256_set1_epi32(x[0]), bias), x1 = _mm256_xor_si256(_mm256_set1_epi32(x[1]), bias);
          const __m256i x2 = _mm256_xor_si256(_mm256_set1_epi32(x[2]), bias), x3 = _mm256_xor_si256(_mm256_set1_epi32(x[3]), bias);
          __m256i lo = _mm256_dpbusd_avx_epi32(_mm256_dpbusd_avx_epi32(c0, x0, t0), x1, t1);
          __m256i hi = _mm256_dpbusd_avx_epi32(_mm256_dpbusd_avx_epi32(c1, x0, u0), x1, u1);
          lo = _mm256_dpbusd_avx_epi32(_mm256_dpbusd_avx_epi32(lo, x2, t2), x3, t3);
          hi = _mm256_dpbusd_avx_epi32(_mm256_dpbusd_avx_epi32(hi, x2, u2), x3, u3);
          _mm256_storeu_si256(a, _mm256_add_epi32(_mm256_loadu_si256(a), lo));
          _mm256_storeu_si256(a + 1, _mm256_add_epi32(_mm256_loadu_si256(a + 1), hi));
        }
      }
    }
  }

  // Any shape with blockIn a multiple of 4 and blockOut of 8: 256-bit vectors, the shape read at
  // run time. The same nest for AVX-512 VNNI (EVEX vpdpbusd) and AVX-VNNI (VEX vpdpbusd).
#define VTA_GEMM_VNNI_YMM(DPBUSD)                                                                                           \
  const int groups = blockIn_ / 4, rowIn = blockIn_, rowOut = blockOut_, batch = batch_;                                  \
  const __m256i bias = _mm256_set1_epi32(static_cast<int32_t>(0x80808080u));                                               \
  const Sram m = Locals();                                                                                                   \
  for (int i = 0; i < n.iterOut; i++) {                                                                                      \
    for (int j = 0; j < n.iterIn; j++) {                                                                                     \
      const int dOff = i * n.dstOut + j * n.dstIn, sOff = i * n.srcOut + j * n.srcIn, wOff = i * n.wgtOut + j * n.wgtIn;     \
      for (int k = 0; k < n.count; k++) {                                                                                    \
        int32_t* a = m.acc + static_cast<size_t>(m.dst[k] + dOff) * batch * rowOut;                                              \
        const int8_t* x = m.inp + static_cast<size_t>(m.src[k] + sOff) * batch * rowIn;                                           \
        const int w = m.wgt[k] + wOff;                                                                                         \
        int32_t* t = m.tiles + static_cast<size_t>(w) * m.tileInts;                                                              \
        if (m.stamp[w] != m.gen) Transpose(w, t);                                                                                \
        const int32_t* corr = t + groups * rowOut;                                                                           \
        for (int r = 0; r < batch; r++) {                                                                                    \
          for (int o = 0; o < rowOut; o += 8) {                                                                              \
            __m256i s0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr + o));                                     \
            for (int g = 0; g < groups; g++) {                                                                               \
              int32_t xg;                                                                                                    \
              std::memcpy(&xg, x + r * rowIn + g * 4, 4);                                                                    \
              s0 = DPBUSD(s0, _mm256_xor_si256(_mm256_set1_epi32(xg), bias),                                                 \
                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + g * rowOut + o)));                         \
            }                                                                                                                \
            auto* out = reinterpret_cast<__m256i*>(a + r * rowOut + o);                                                      \
            _mm256_storeu_si256(out, _mm256_add_epi32(_mm256_loadu_si256(out), s0));                                         \
          }                                                                                                                  \
        }                                                                                                                    \
      }                                                                                                                      \
    }                                                                                                                        \
  }

  __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void GemmAvx512Ymm(const Nest& n) { VTA_GEMM_VNNI_YMM(_mm256_dpbusd_epi32) }
  __attribute__((target("avx2,avxvnni"))) void GemmAvxVnniYmm(const Nest& n) { VTA_GEMM_VNNI_YMM(_mm256_dpbusd_avx_epi32) }
#undef VTA_GEMM_VNNI_YMM

  Napi::Reference<Napi::ArrayBuffer> buffer_;
  uint8_t* base_ = nullptr;
  const int8_t* inp_ = nullptr;
  const int8_t* wgt_ = nullptr;
  int32_t* acc_ = nullptr;
  const int32_t* dst_ = nullptr;
  const int32_t* src_ = nullptr;
  const int32_t* wgtIdx_ = nullptr;
  const int32_t* args_ = nullptr;
  int batch_ = 0, blockIn_ = 0, blockOut_ = 0, tileBytes_ = 0;
  Isa isa_ = Isa::kNone;
  std::vector<int32_t> tiles_;
  std::vector<uint32_t> stamp_;
  uint32_t generation_ = 0;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Kernels", Kernels::Define(env));
  exports.Set("features", Napi::Function::New(env, Kernels::Features));
  return exports;
}

}  // namespace

NODE_API_MODULE(vta_fsim, Init)

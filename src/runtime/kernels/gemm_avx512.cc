// AVX-512 VNNI int8 GEMM: _mm512_dpbusd_epi32 multiplies unsigned bytes by signed bytes and adds
// each group of 4 exact products to an int32 lane, without saturation (the saturating form is
// vpdpbusds, not used). x is made unsigned as x + 128 (a flip of the sign bit) and the result
// corrected by 128 Σ_i w_ji, so the integers equal gemm_s8_ref's. Weights are packed at load
// time as [16-channel block][4-byte group of k][16 channels][4 bytes]; the micro-kernel keeps
// up to 4 rows x 96 channels (6 blocks) of accumulators in registers over the whole k loop and
// broadcasts 4 bytes of x per row. The dense layers requantize in the epilogue (gemm_requant_s8):
// each micro-kernel's sums go through a small stack tile to int8 outputs (64-bit products,
// arithmetic shifts and the clamp in 64-bit lanes; requantize_avx512_inl.h), never through a
// rows x n int32 buffer.
//
// Only functions with the target attribute use AVX-512; best_isa() selects this path only when
// cpuid reports AVX-512 F/BW/VL/VNNI.
#include <cstring>
#include <vector>

#include "runtime/kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "runtime/kernels/requantize_avx512_inl.h"

#define BYTELITE_AVX512 __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni")))

namespace bytelite::rt {
namespace {

using avx512::load_rq16;
using avx512::load_rq_out;
using avx512::requant16;
using avx512::store16;

BYTELITE_AVX512 inline __mmask16 lane_mask(int64_t remaining) {
  return remaining >= 16 ? static_cast<__mmask16>(0xFFFF)
                         : static_cast<__mmask16>((1u << remaining) - 1u);
}

// The k loop of the micro-kernel: R rows (1..4) x NB blocks of 16 channels (1..6) of int32
// sums, x + 128 (xu) against the packed weights of the NB blocks starting at wb (block stride
// groups * 64 bytes), written to sums [R][NB][16]. The accumulators are named variables, not
// an array: GCC 12 at -O3 keeps a __m512i array of this size in memory, copying or spilling
// accumulators in every iteration (about 0.6 of the VNNI peak at the main job's shapes); named
// ones stay in registers (R x NB + NB + 1 <= 31 of the 32 zmm registers). Unused ones (r >= R,
// b >= NB) are never read or written and are removed by the compiler.
template <int R, int NB>
BYTELITE_AVX512 inline void dot_block(const uint8_t* xu, int64_t ldx, const int8_t* wb,
                                      int64_t groups, int32_t* sums) {
  static_assert(R >= 1 && R <= 4 && NB >= 1 && NB <= 6, "dot_block: R in 1..4, NB in 1..6");
  const __m512i z = _mm512_setzero_si512();
  __m512i c00 = z, c01 = z, c02 = z, c03 = z, c04 = z, c05 = z;
  __m512i c10 = z, c11 = z, c12 = z, c13 = z, c14 = z, c15 = z;
  __m512i c20 = z, c21 = z, c22 = z, c23 = z, c24 = z, c25 = z;
  __m512i c30 = z, c31 = z, c32 = z, c33 = z, c34 = z, c35 = z;
  const int64_t bs = groups * 64;  // bytes between blocks
  for (int64_t g = 0; g < groups; ++g) {
    const int8_t* wg = wb + g * 64;
    const __m512i w0 = _mm512_loadu_si512(wg);
    const __m512i w1 = NB > 1 ? _mm512_loadu_si512(wg + bs) : z;
    const __m512i w2 = NB > 2 ? _mm512_loadu_si512(wg + 2 * bs) : z;
    const __m512i w3 = NB > 3 ? _mm512_loadu_si512(wg + 3 * bs) : z;
    const __m512i w4 = NB > 4 ? _mm512_loadu_si512(wg + 4 * bs) : z;
    const __m512i w5 = NB > 5 ? _mm512_loadu_si512(wg + 5 * bs) : z;
#define BYTELITE_DOT_ROW(r)                                               \
  if constexpr (R > (r)) {                                                \
    int32_t x4;                                                           \
    std::memcpy(&x4, xu + (r)*ldx + 4 * g, 4);                            \
    const __m512i xb = _mm512_set1_epi32(x4);                             \
    c##r##0 = _mm512_dpbusd_epi32(c##r##0, xb, w0);                       \
    if constexpr (NB > 1) c##r##1 = _mm512_dpbusd_epi32(c##r##1, xb, w1); \
    if constexpr (NB > 2) c##r##2 = _mm512_dpbusd_epi32(c##r##2, xb, w2); \
    if constexpr (NB > 3) c##r##3 = _mm512_dpbusd_epi32(c##r##3, xb, w3); \
    if constexpr (NB > 4) c##r##4 = _mm512_dpbusd_epi32(c##r##4, xb, w4); \
    if constexpr (NB > 5) c##r##5 = _mm512_dpbusd_epi32(c##r##5, xb, w5); \
  }
    BYTELITE_DOT_ROW(0)
    BYTELITE_DOT_ROW(1)
    BYTELITE_DOT_ROW(2)
    BYTELITE_DOT_ROW(3)
#undef BYTELITE_DOT_ROW
  }
#define BYTELITE_DOT_STORE(r, b) \
  if constexpr (R > (r) && NB > (b)) _mm512_storeu_si512(sums + ((r)*NB + (b)) * 16, c##r##b);
#define BYTELITE_DOT_STORE_ROW(r) \
  BYTELITE_DOT_STORE(r, 0)        \
  BYTELITE_DOT_STORE(r, 1)        \
  BYTELITE_DOT_STORE(r, 2)        \
  BYTELITE_DOT_STORE(r, 3)        \
  BYTELITE_DOT_STORE(r, 4)        \
  BYTELITE_DOT_STORE(r, 5)
  BYTELITE_DOT_STORE_ROW(0)
  BYTELITE_DOT_STORE_ROW(1)
  BYTELITE_DOT_STORE_ROW(2)
  BYTELITE_DOT_STORE_ROW(3)
#undef BYTELITE_DOT_STORE_ROW
#undef BYTELITE_DOT_STORE
}

// R rows x NB blocks of 16 output channels, starting at channel block `blk`. Without rq: int32
// accumulators to acc [rows, n]; with rq: requantized int8 to y [rows, n].
template <int R, int NB>
BYTELITE_AVX512 inline void micro(const uint8_t* xu, int64_t ldx, const int8_t* wv,
                                  const int32_t* corr128, int64_t groups, int64_t blk, int64_t n,
                                  int32_t* acc, const RequantParams* rq, int8_t* y) {
  alignas(64) int32_t sums[R * NB * 16];
  dot_block<R, NB>(xu, ldx, wv + blk * groups * 64, groups, sums);
  if (rq != nullptr) {
    // the parameters of a block in registers for its R rows (see Rq16)
    const avx512::RqOut out = load_rq_out(*rq);
    for (int b = 0; b < NB; ++b) {
      const int64_t j0 = (blk + b) * 16;
      const __mmask16 m = lane_mask(n - j0);
      const __m512i corr = _mm512_loadu_si512(corr128 + j0);  // 128 Σw
      const avx512::Rq16 p = load_rq16(*rq, j0);
      for (int r = 0; r < R; ++r) {
        const __m512i v = _mm512_sub_epi32(_mm512_load_si512(sums + (r * NB + b) * 16), corr);
        store16(y + r * n + j0, m, requant16(v, p, out));
      }
    }
    return;
  }
  for (int b = 0; b < NB; ++b) {
    const int64_t j0 = (blk + b) * 16;
    const __mmask16 m = lane_mask(n - j0);
    const __m512i corr = _mm512_loadu_si512(corr128 + j0);  // 128 Σw
    for (int r = 0; r < R; ++r) {
      const __m512i v = _mm512_sub_epi32(_mm512_load_si512(sums + (r * NB + b) * 16), corr);
      _mm512_mask_storeu_epi32(acc + r * n + j0, m, v);
    }
  }
}

template <int R>
BYTELITE_AVX512 void rows_block(const uint8_t* xu, int64_t ldx, const PackedMatrix& w, int32_t* acc,
                                const RequantParams* rq, int8_t* y) {
  const int64_t groups = w.kp4 / 4;
  const int64_t blocks = w.np16 / 16;
  int64_t blk = 0;
  // 4 blocks at a time; a last 5 or 6 in one pass, so that 96 channels (3 S at S = 32: the main
  // job's QRNN gates) read each row of x once instead of twice.
  for (; blocks - blk > 6 || blocks - blk == 4; blk += 4)
    micro<R, 4>(xu, ldx, w.wvnni.data(), w.corr.data(), groups, blk, w.n, acc, rq, y);
  // the last 1..6 blocks: one pass of that width
  using Pass = void (*)(const uint8_t*, int64_t, const int8_t*, const int32_t*, int64_t, int64_t,
                        int64_t, int32_t*, const RequantParams*, int8_t*);
  static constexpr Pass kLast[7] = {nullptr,     micro<R, 1>, micro<R, 2>, micro<R, 3>,
                                    micro<R, 4>, micro<R, 5>, micro<R, 6>};
  if (blk < blocks)
    kLast[blocks - blk](xu, ldx, w.wvnni.data(), w.corr.data(), groups, blk, w.n, acc, rq, y);
}

BYTELITE_AVX512 void to_unsigned(const int8_t* src, int64_t count, uint8_t* dst) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  int64_t i = 0;
  for (; i + 64 <= count; i += 64) {
    const __m512i v = _mm512_loadu_si512(src + i);
    _mm512_storeu_si512(dst + i, _mm512_xor_si512(v, flip));
  }
  for (; i < count; ++i) dst[i] = static_cast<uint8_t>(src[i] ^ 0x80);
}

// The sum of the 16 int32 lanes (wrapping, as int32 sums do; the GEMM's sums never wrap).
BYTELITE_AVX512 inline int32_t hsum16(__m512i a) {
  const __m256i h = _mm256_add_epi32(_mm512_maskz_extracti64x4_epi64(0xF, a, 0),
                                     _mm512_maskz_extracti64x4_epi64(0xF, a, 1));
  __m128i q = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0x4E));
  q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0xB1));
  return _mm_cvtsi128_si32(q);
}

// One output channel (n = 1: the GBST block scores, attention logits): each row's dot product
// as one vpdpbusd per 64 bytes of k and a horizontal sum, 16 rows' sums requantized together
// with channel 0's parameters in every lane. The same integers as the general kernel: x + 128
// against w, minus 128 Σw; bytes past k are loaded as 0 in both x and w (x then reads 0x80,
// times a weight of 0).
BYTELITE_AVX512 void gemm_n1(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                             int32_t* acc, const RequantParams* rq, int8_t* y) {
  const int64_t k = w.k;
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i corr = _mm512_set1_epi32(w.corr[0]);
  auto kmask = [](int64_t left) {
    return left >= 64 ? ~__mmask64{0} : ((__mmask64{1} << left) - 1);
  };
  const __m512i w0 = _mm512_maskz_loadu_epi8(kmask(k), w.w);  // the first 64 weights
  alignas(64) int32_t sums[16];
  for (int64_t r0 = 0; r0 < rows; r0 += 16) {
    const int64_t nr = rows - r0 < 16 ? rows - r0 : 16;
    for (int64_t i = 0; i < nr; ++i) {
      const int8_t* xr = x + (r0 + i) * ldx;
      __m512i a =
          _mm512_dpbusd_epi32(_mm512_setzero_si512(),
                              _mm512_xor_si512(_mm512_maskz_loadu_epi8(kmask(k), xr), flip), w0);
      for (int64_t k0 = 64; k0 < k; k0 += 64) {
        const __mmask64 m = kmask(k - k0);
        a = _mm512_dpbusd_epi32(a, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, xr + k0), flip),
                                _mm512_maskz_loadu_epi8(m, w.w + k0));
      }
      sums[i] = hsum16(a);
    }
    const __mmask16 m = lane_mask(nr);
    const __m512i v = _mm512_sub_epi32(_mm512_maskz_load_epi32(m, sums), corr);
    if (rq != nullptr) {
      // channel 0's parameters in every lane
      avx512::Rq16 p;
      p.m0 = _mm512_set1_epi32(rq->m0_16[0]);
      p.m0_odd = _mm512_set1_epi64(rq->m0_16[0]);
      p.be = p.bo = _mm512_set1_epi64(rq->bias_16[0]);
      p.se = p.so = _mm512_set1_epi64(rq->shift_16[0]);
      store16(y + r0, m, requant16(v, p, load_rq_out(*rq)));
    } else {
      _mm512_mask_storeu_epi32(acc + r0, m, v);
    }
  }
}

// Both entry points: int32 accumulators (rq == nullptr) or requantized int8 outputs.
BYTELITE_AVX512 void gemm_vnni(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                               int32_t* acc, const RequantParams* rq, int8_t* y,
                               KernelScratch& scratch) {
  if (rows <= 0 || w.n <= 0) return;
  if (w.n == 1) {
    gemm_n1(x, rows, ldx, w, acc, rq, y);
    return;
  }
  // x + 128 as bytes over the span the rows cover; each row reads kp4 >= k bytes, and the
  // padded weights are 0 beyond k, so the extra bytes never change a sum.
  const int64_t span = (rows - 1) * ldx + w.k;
  const int64_t need = (rows - 1) * ldx + w.kp4;
  if (static_cast<int64_t>(scratch.xu8.size()) < need) scratch.xu8.resize(need);
  uint8_t* xu = scratch.xu8.data();
  to_unsigned(x, span, xu);
  for (int64_t i = span; i < need; ++i) xu[i] = 0;
  const int64_t n = w.n;
  auto at = [&](int64_t r) { return acc == nullptr ? nullptr : acc + r * n; };
  auto yt = [&](int64_t r) { return y == nullptr ? nullptr : y + r * n; };
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) rows_block<4>(xu + r * ldx, ldx, w, at(r), rq, yt(r));
  switch (rows - r) {
    case 3:
      rows_block<3>(xu + r * ldx, ldx, w, at(r), rq, yt(r));
      break;
    case 2:
      rows_block<2>(xu + r * ldx, ldx, w, at(r), rq, yt(r));
      break;
    case 1:
      rows_block<1>(xu + r * ldx, ldx, w, at(r), rq, yt(r));
      break;
    default:
      break;
  }
}

}  // namespace

// 16 int32 values from p (the lanes of m; a plain load when all 16 are there).
static BYTELITE_AVX512 inline __m512i load16(const int32_t* p, __mmask16 m) {
  return m == 0xFFFF ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi32(m, p);
}

// kernels.h requantize on the AVX-512 path: channel blocks outside (a block's parameters in
// registers, see Rq16), every row's 16 channels inside.
BYTELITE_AVX512 void requantize_avx512(const int32_t* acc, int64_t rows, const RequantParams& p,
                                       int8_t* y) {
  const int64_t n = p.n;
  const avx512::RqOut out = load_rq_out(p);
  for (int64_t j0 = 0; j0 < n; j0 += 16) {
    const __mmask16 m = lane_mask(n - j0);
    const avx512::Rq16 rq = load_rq16(p, j0);
    for (int64_t r = 0; r < rows; ++r)
      store16(y + r * n + j0, m, requant16(load16(acc + r * n + j0, m), rq, out));
  }
}

// kernels.h tap_sums_requant: k row loads per 16 channels, summed in registers, requantized there.
BYTELITE_AVX512 void tap_sums_requant_avx512(const int32_t* tab, int64_t rows, int64_t k, int64_t n,
                                             const int32_t* ids, int64_t T, int64_t pad_row,
                                             const RequantParams& p, int8_t* y) {
  // channel blocks outside, so that a block's requantization parameters stay in registers
  const avx512::RqOut out = load_rq_out(p);
  for (int64_t j0 = 0; j0 < n; j0 += 16) {
    const __mmask16 m = lane_mask(n - j0);
    const avx512::Rq16 rq = load_rq16(p, j0);
    // the first k - 1 positions read the padding row for the taps before the text
    const int64_t tp = T < k - 1 ? T : k - 1;
    for (int64_t t = 0; t < tp; ++t) {
      __m512i v = _mm512_setzero_si512();
      for (int64_t j = 0; j < k; ++j)
        v = _mm512_add_epi32(v, load16(tap_row(tab, rows, k, n, ids, t, j, pad_row) + j0, m));
      store16(y + t * n + j0, m, requant16(v, rq, out));
    }
    // then tap j of position t is row ids[t - k + 1 + j] of table j (the GBST's kernel 5 unrolled)
    const int64_t stride = rows * n;  // between the taps' tables
    const int32_t* tj0 = tab + j0;
    if (k == 5) {
      for (int64_t t = tp; t < T; ++t) {
        const int32_t* id = ids + t - 4;
        __m512i v = load16(tj0 + id[0] * n, m);
        v = _mm512_add_epi32(v, load16(tj0 + stride + id[1] * n, m));
        v = _mm512_add_epi32(v, load16(tj0 + 2 * stride + id[2] * n, m));
        v = _mm512_add_epi32(v, load16(tj0 + 3 * stride + id[3] * n, m));
        v = _mm512_add_epi32(v, load16(tj0 + 4 * stride + id[4] * n, m));
        store16(y + t * n + j0, m, requant16(v, rq, out));
      }
      continue;
    }
    for (int64_t t = tp; t < T; ++t) {
      const int32_t* id = ids + t - k + 1;
      __m512i v = _mm512_setzero_si512();
      for (int64_t j = 0; j < k; ++j)
        v = _mm512_add_epi32(v, load16(tj0 + j * stride + id[j] * n, m));
      store16(y + t * n + j0, m, requant16(v, rq, out));
    }
  }
}

void gemm_s8_avx512vnni(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                        int32_t* acc, KernelScratch& scratch) {
  gemm_vnni(x, rows, ldx, w, acc, nullptr, nullptr, scratch);
}

void gemm_requant_s8_avx512vnni(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                                const RequantParams& p, int8_t* y, KernelScratch& scratch) {
  gemm_vnni(x, rows, ldx, w, nullptr, &p, y, scratch);
}

}  // namespace bytelite::rt

#else  // not x86: this path is never selected

namespace bytelite::rt {
void gemm_s8_avx512vnni(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                        int32_t* acc, KernelScratch&) {
  gemm_s8_ref(x, rows, ldx, w, acc);
}
void gemm_requant_s8_avx512vnni(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                                const RequantParams& p, int8_t* y, KernelScratch&) {
  std::vector<int32_t> acc(static_cast<size_t>(rows * w.n));
  gemm_s8_ref(x, rows, ldx, w, acc.data());
  requantize_ref(acc.data(), rows, p, y);
}
void requantize_avx512(const int32_t* acc, int64_t rows, const RequantParams& p, int8_t* y) {
  requantize_ref(acc, rows, p, y);
}
void tap_sums_requant_avx512(const int32_t* tab, int64_t rows, int64_t k, int64_t n,
                             const int32_t* ids, int64_t T, int64_t pad_row, const RequantParams& p,
                             int8_t* y) {
  std::vector<int32_t> acc;
  tap_sums_requant_ref(tab, rows, k, n, ids, T, pad_row, p, y, acc);
}
}  // namespace bytelite::rt

#endif

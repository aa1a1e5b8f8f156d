// AVX-512 VNNI int8 GEMM: _mm512_dpbusd_epi32 multiplies unsigned bytes by signed bytes and adds
// each group of 4 exact products to an int32 lane, without saturation (the saturating form is
// vpdpbusds, not used). x is made unsigned as x + 128 (a flip of the sign bit) and the result
// corrected by 128 Σ_i w_ji, so the integers equal gemm_s8_ref's. Weights are packed at load
// time as [16-channel block][4-byte group of k][16 channels][4 bytes]; the micro-kernel keeps
// 4 rows x 64 channels of accumulators in registers and broadcasts 4 bytes of x per row. The
// dense layers requantize in the epilogue (gemm_requant_s8): the accumulators go from registers
// to int8 outputs (64-bit products, arithmetic shifts and the clamp in 64-bit lanes), never
// through an int32 buffer.
//
// Only functions with the target attribute use AVX-512; best_isa() selects this path only when
// cpuid reports AVX-512 F/BW/VL/VNNI.
#include <cstring>
#include <vector>

#include "runtime/kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define BYTELITE_AVX512 __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni")))

namespace bytelite::rt {
namespace {

BYTELITE_AVX512 inline __mmask16 lane_mask(int64_t remaining) {
  return remaining >= 16 ? static_cast<__mmask16>(0xFFFF)
                         : static_cast<__mmask16>((1u << remaining) - 1u);
}

// Requantizes 16 int32 accumulators (channels j0..j0+15 of one row) as requantize_ref does,
// in 64-bit lanes: v = acc m0 + (B + 2^(s-1)), q = clamp(zp + (v >> s), lo, hi) with an
// arithmetic shift (floor) and the clamp in int64, then stores the channels below n.
BYTELITE_AVX512 inline void requant_store16(__m512i acc, const RequantParams& p, int64_t j0,
                                            __mmask16 m, int8_t* y) {
  const __m512i m0 = _mm512_loadu_si512(p.m0_16.data() + j0);
  const int64_t* b = p.bias_16.data() + j0;
  const int64_t* sh = p.shift_16.data() + j0;
  const __m512i zp = _mm512_set1_epi64(p.zp);
  const __m512i lo = _mm512_set1_epi64(p.lo);
  const __m512i hi = _mm512_set1_epi64(p.hi);
  // even channels (64-bit lane i holds channel 2i), odd channels (lane i: channel 2i + 1). The
  // zero-masked forms (mask 0xFF: every lane) avoid GCC 12's -Wmaybe-uninitialized on the
  // unmasked intrinsics' undefined pass-through operand; they compute the same values.
  const __mmask8 all = 0xFF;
  __m512i ve = _mm512_add_epi64(_mm512_maskz_mul_epi32(all, acc, m0), _mm512_loadu_si512(b));
  __m512i vo = _mm512_add_epi64(_mm512_maskz_mul_epi32(all, _mm512_maskz_srli_epi64(all, acc, 32),
                                                       _mm512_maskz_srli_epi64(all, m0, 32)),
                                _mm512_loadu_si512(b + 8));
  ve = _mm512_add_epi64(_mm512_maskz_srav_epi64(all, ve, _mm512_loadu_si512(sh)), zp);
  vo = _mm512_add_epi64(_mm512_maskz_srav_epi64(all, vo, _mm512_loadu_si512(sh + 8)), zp);
  ve = _mm512_maskz_min_epi64(all, _mm512_maskz_max_epi64(all, ve, lo), hi);
  vo = _mm512_maskz_min_epi64(all, _mm512_maskz_max_epi64(all, vo, lo), hi);
  const __m128i qe = _mm512_maskz_cvtepi64_epi8(all, ve);  // 8 bytes: channels 0, 2, ..., 14
  const __m128i qo = _mm512_maskz_cvtepi64_epi8(all, vo);  // channels 1, 3, ..., 15
  _mm_mask_storeu_epi8(y + j0, m, _mm_unpacklo_epi8(qe, qo));
}

// R rows x NB blocks of 16 output channels, starting at channel block `blk`. Without rq: int32
// accumulators to acc [rows, n]; with rq: requantized int8 to y [rows, n].
template <int R, int NB>
BYTELITE_AVX512 inline void micro(const uint8_t* xu, int64_t ldx, const int8_t* wv,
                                  const int32_t* corr128, int64_t groups, int64_t blk, int64_t n,
                                  int32_t* acc, const RequantParams* rq, int8_t* y) {
  __m512i c[R][NB];
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < NB; ++b) c[r][b] = _mm512_setzero_si512();
  const int8_t* wb = wv + blk * groups * 64;
  for (int64_t g = 0; g < groups; ++g) {
    __m512i w[NB];
    for (int b = 0; b < NB; ++b)
      w[b] = _mm512_loadu_si512(wb + (static_cast<int64_t>(b) * groups + g) * 64);
    for (int r = 0; r < R; ++r) {
      int32_t x4;
      std::memcpy(&x4, xu + r * ldx + 4 * g, 4);
      const __m512i xb = _mm512_set1_epi32(x4);
      for (int b = 0; b < NB; ++b) c[r][b] = _mm512_dpbusd_epi32(c[r][b], xb, w[b]);
    }
  }
  for (int b = 0; b < NB; ++b) {
    const int64_t j0 = (blk + b) * 16;
    const __mmask16 m = lane_mask(n - j0);
    const __m512i corr = _mm512_loadu_si512(corr128 + j0);  // 128 Σw
    for (int r = 0; r < R; ++r) {
      const __m512i v = _mm512_sub_epi32(c[r][b], corr);
      if (rq != nullptr) {
        requant_store16(v, *rq, j0, m, y + r * n);
      } else {
        _mm512_mask_storeu_epi32(acc + r * n + j0, m, v);
      }
    }
  }
}

template <int R>
BYTELITE_AVX512 void rows_block(const uint8_t* xu, int64_t ldx, const PackedMatrix& w, int32_t* acc,
                                const RequantParams* rq, int8_t* y) {
  const int64_t groups = w.kp4 / 4;
  const int64_t blocks = w.np16 / 16;
  int64_t blk = 0;
  for (; blk + 4 <= blocks; blk += 4)
    micro<R, 4>(xu, ldx, w.wvnni.data(), w.corr.data(), groups, blk, w.n, acc, rq, y);
  switch (blocks - blk) {
    case 3:
      micro<R, 3>(xu, ldx, w.wvnni.data(), w.corr.data(), groups, blk, w.n, acc, rq, y);
      break;
    case 2:
      micro<R, 2>(xu, ldx, w.wvnni.data(), w.corr.data(), groups, blk, w.n, acc, rq, y);
      break;
    case 1:
      micro<R, 1>(xu, ldx, w.wvnni.data(), w.corr.data(), groups, blk, w.n, acc, rq, y);
      break;
    default:
      break;
  }
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

// Both entry points: int32 accumulators (rq == nullptr) or requantized int8 outputs.
BYTELITE_AVX512 void gemm_vnni(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                               int32_t* acc, const RequantParams* rq, int8_t* y,
                               KernelScratch& scratch) {
  if (rows <= 0 || w.n <= 0) return;
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

// kernels.h requantize on the AVX-512 path: requant_store16 over each row's channels.
BYTELITE_AVX512 void requantize_avx512(const int32_t* acc, int64_t rows, const RequantParams& p,
                                       int8_t* y) {
  const int64_t n = p.n;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j0 = 0; j0 < n; j0 += 16) {
      const __mmask16 m = lane_mask(n - j0);
      requant_store16(_mm512_maskz_loadu_epi32(m, acc + r * n + j0), p, j0, m, y + r * n);
    }
  }
}

// kernels.h tap_sums_requant: k row loads per 16 channels, summed in registers, requantized there.
BYTELITE_AVX512 void tap_sums_requant_avx512(const int32_t* tab, int64_t rows, int64_t k, int64_t n,
                                             const int32_t* ids, int64_t T, int64_t pad_row,
                                             const RequantParams& p, int8_t* y) {
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t j0 = 0; j0 < n; j0 += 16) {
      const __mmask16 m = lane_mask(n - j0);
      __m512i v = _mm512_setzero_si512();
      for (int64_t j = 0; j < k; ++j) {
        const int32_t* r = tap_row(tab, rows, k, n, ids, t, j, pad_row);
        v = _mm512_add_epi32(v, _mm512_maskz_loadu_epi32(m, r + j0));
      }
      requant_store16(v, p, j0, m, y + t * n);
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

// AVX2 element-wise kernels: requantization and the fused QRNN gates + fo-pooling. They compute
// the same integers as the reference (exhaustively tested where the input space is small).
#include "runtime/kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define BYTELITE_AVX2 __attribute__((target("avx2")))

namespace bytelite::rt {
namespace {

// Stores 8 int32 values already in [-128, 127] as 8 bytes.
BYTELITE_AVX2 inline void store8(int8_t* dst, __m256i v) {
  const __m256i p16 = _mm256_packs_epi32(v, v);
  const __m256i p8 = _mm256_packs_epi16(p16, p16);
  const __m256i perm = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), _mm256_castsi256_si128(perm));
}

// round(n / 255) for |n| <= 255 * 128 through float: the quotient is at least 1/510 away from
// a halfway point and the float error is below 2^-16, so rounding to nearest gives the exact
// result of round_div255 (tested on every n).
BYTELITE_AVX2 inline __m256i round_div255_v(__m256i n) {
  const __m256 q = _mm256_mul_ps(_mm256_cvtepi32_ps(n), _mm256_set1_ps(1.0f / 255.0f));
  return _mm256_cvttps_epi32(_mm256_round_ps(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

// 8 int8 gate values + 128 (table indices) as int32.
BYTELITE_AVX2 inline __m256i load8(const int8_t* src) {
  return _mm256_add_epi32(
      _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src))),
      _mm256_set1_epi32(128));
}

}  // namespace

BYTELITE_AVX2 void requantize_avx2(const int32_t* acc, int64_t rows, const RequantParams& p,
                                   int8_t* y) {
  const int64_t n = p.n;
  const int64_t n8 = n / 8 * 8;
  const __m256i zp = _mm256_set1_epi32(p.zp);
  const __m256i lo = _mm256_set1_epi32(p.lo);
  const __m256i hi = _mm256_set1_epi32(p.hi);
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a = acc + r * n;
    int8_t* yr = y + r * n;
    for (int64_t j = 0; j < n8; j += 8) {
      const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + j));
      const __m256i m0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.m0_v.data() + j));
      const auto* b = reinterpret_cast<const __m256i*>(p.bias_v.data() + j);
      const auto* s = reinterpret_cast<const __m256i*>(p.shift_v.data() + j);
      const auto* c = reinterpret_cast<const __m256i*>(p.corr_v.data() + j);
      // even channels (64-bit lanes hold channels 0, 2, 4, 6), then odd channels
      __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(av, m0), _mm256_loadu_si256(b));
      __m256i po =
          _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(av, 32), _mm256_srli_epi64(m0, 32)),
                           _mm256_loadu_si256(b + 1));
      pe = _mm256_sub_epi64(_mm256_srlv_epi64(pe, _mm256_loadu_si256(s)), _mm256_loadu_si256(c));
      po = _mm256_sub_epi64(_mm256_srlv_epi64(po, _mm256_loadu_si256(s + 1)),
                            _mm256_loadu_si256(c + 1));
      __m256i q = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
      q = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(q, zp), lo), hi);
      store8(yr + j, q);
    }
    for (int64_t j = n8; j < n; ++j) {
      const int sh = p.shift[j];
      const int64_t v = static_cast<int64_t>(a[j]) * p.m0[j] + p.bias[j] + (int64_t{1} << (sh - 1));
      int64_t q = p.zp + (v >> sh);
      q = q < p.lo ? p.lo : (q > p.hi ? p.hi : q);
      yr[j] = static_cast<int8_t>(q);
    }
  }
}

BYTELITE_AVX2 void qrnn_pool_avx2(const int8_t* g, int64_t T, int64_t S, bool reverse,
                                  const QrnnTables& tab, int8_t* y, int64_t ldy, float* state) {
  const int64_t S8 = S / 8 * 8;
  for (int64_t j = 0; j < S; ++j) state[j] = 0.0f;
  const __m256i k128 = _mm256_set1_epi32(128);
  const __m256i k127 = _mm256_set1_epi32(127);
  const __m256 s255 = _mm256_set1_ps(unit_scale());
  const __m256 s127 = _mm256_set1_ps(signed_unit_scale());
  const __m256 inv127 = _mm256_set1_ps(1.0f / signed_unit_scale());
  const __m256 qmin = _mm256_set1_ps(-128.0f);
  const __m256 qmax = _mm256_set1_ps(127.0f);
  const int* tanh32 = tab.tanh32.data();
  const int* sig32 = tab.sigmoid32.data();
  for (int64_t i = 0; i < T; ++i) {
    const int64_t t = reverse ? T - 1 - i : i;
    const int8_t* gt = g + t * 3 * S;
    int8_t* yt = y + t * ldy;
    for (int64_t j = 0; j < S8; j += 8) {
      const __m256i z = _mm256_i32gather_epi32(tanh32, load8(gt + j), 4);
      const __m256i f = _mm256_i32gather_epi32(sig32, load8(gt + S + j), 4);
      const __m256i o = _mm256_i32gather_epi32(sig32, load8(gt + 2 * S + j), 4);
      const __m256i c = round_div255_v(_mm256_mullo_epi32(_mm256_sub_epi32(k127, f), z));
      const __m256 m = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(f, k128)), s255);
      const __m256 cf = _mm256_mul_ps(_mm256_cvtepi32_ps(c), s127);
      const __m256 h = _mm256_add_ps(_mm256_mul_ps(m, _mm256_loadu_ps(state + j)), cf);
      _mm256_storeu_ps(state + j, h);
      __m256 r =
          _mm256_round_ps(_mm256_mul_ps(h, inv127), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      r = _mm256_min_ps(_mm256_max_ps(r, qmin), qmax);
      const __m256i qh = _mm256_cvttps_epi32(r);
      store8(yt + j, round_div255_v(_mm256_mullo_epi32(qh, _mm256_add_epi32(o, k128))));
    }
    for (int64_t j = S8; j < S; ++j) {
      yt[j] = qrnn_step(gt[j], gt[S + j], gt[2 * S + j], tab, &state[j]);
    }
  }
}

}  // namespace bytelite::rt

#else  // not x86: these paths are never selected

namespace bytelite::rt {
void requantize_avx2(const int32_t* acc, int64_t rows, const RequantParams& p, int8_t* y) {
  requantize_ref(acc, rows, p, y);
}
void qrnn_pool_avx2(const int8_t* g, int64_t T, int64_t S, bool reverse, const QrnnTables& tab,
                    int8_t* y, int64_t ldy, float* state) {
  qrnn_pool_ref(g, T, S, reverse, tab, y, ldy, state);
}
}  // namespace bytelite::rt

#endif

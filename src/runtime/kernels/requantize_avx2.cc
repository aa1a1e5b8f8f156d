// AVX2 requantization: the same integers as requantize_ref (requantize.cc), 8 channels at a
// time with 64-bit products and per-lane variable shifts.
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

}  // namespace bytelite::rt

#else  // not x86: this path is never selected

namespace bytelite::rt {

void requantize_avx2(const int32_t* acc, int64_t rows, const RequantParams& p, int8_t* y) {
  requantize_ref(acc, rows, p, y);
}

}  // namespace bytelite::rt

#endif

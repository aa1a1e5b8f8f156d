// AVX2 row kernel of the layer_norm op: the same double operations in the same order as the
// reference loop (src/runtime/ops/layer_norm.cc), 4 lanes at a time, no FMA: bit-identical
// (tests/test_ops.cc).
#include <algorithm>

#include "runtime/kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define BYTELITE_AVX2 __attribute__((target("avx2")))

namespace bytelite::rt {

BYTELITE_AVX2 void layer_norm_row_avx2(const int8_t* x, int64_t D, int32_t z, double mean, double a,
                                       const double* gamma_s, const double* beta_s, int32_t z_out,
                                       int8_t* y) {
  const __m256d vmean = _mm256_set1_pd(mean), va = _mm256_set1_pd(a);
  const __m256d lim = _mm256_set1_pd(1e9), nlim = _mm256_set1_pd(-1e9);
  const __m128i vz = _mm_set1_epi32(z), vzo = _mm_set1_epi32(z_out);
  const __m128i lo = _mm_set1_epi32(-128), hi = _mm_set1_epi32(127);
  int64_t c = 0;
  for (; c + 4 <= D; c += 4) {
    int32_t four;
    __builtin_memcpy(&four, x + c, 4);
    const __m128i xi = _mm_sub_epi32(_mm_cvtepi8_epi32(_mm_cvtsi32_si128(four)), vz);
    __m256d v = _mm256_sub_pd(_mm256_cvtepi32_pd(xi), vmean);
    v = _mm256_mul_pd(v, va);
    v = _mm256_mul_pd(v, _mm256_loadu_pd(gamma_s + c));
    v = _mm256_add_pd(v, _mm256_loadu_pd(beta_s + c));
    v = _mm256_min_pd(lim, _mm256_max_pd(nlim, v));
    const __m256d r = _mm256_round_pd(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m128i q = _mm_add_epi32(_mm256_cvtpd_epi32(r), vzo);
    q = _mm_min_epi32(hi, _mm_max_epi32(lo, q));
    const __m128i p16 = _mm_packs_epi32(q, q);
    const __m128i p8 = _mm_packs_epi16(p16, p16);
    const int32_t out = _mm_cvtsi128_si32(p8);
    __builtin_memcpy(y + c, &out, 4);
  }
  for (; c < D; ++c) {
    double v = (static_cast<double>(x[c] - z) - mean) * a * gamma_s[c] + beta_s[c];
    v = std::min(1e9, std::max(-1e9, v));
    const double r = (v + 6755399441055744.0) - 6755399441055744.0;
    const int64_t q = static_cast<int64_t>(r) + z_out;
    y[c] = static_cast<int8_t>(std::min<int64_t>(127, std::max<int64_t>(-128, q)));
  }
}

}  // namespace bytelite::rt

#endif

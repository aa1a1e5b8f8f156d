// AVX2 path of the add op: the same float operations in the same order as the reference loop
// (src/runtime/ops/add.cc), 8 lanes at a time, no FMA: bit-identical (tests/test_ops.cc).
#include <algorithm>

#include "runtime/kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define BYTELITE_AVX2 __attribute__((target("avx2")))

namespace bytelite::rt {

BYTELITE_AVX2 void add_avx2(const int8_t* a, float sa, int32_t za, const int8_t* b, float sb,
                            int32_t zb, int64_t n, float inv_out, int32_t z_out, int8_t* y) {
  const __m256i vza = _mm256_set1_epi32(za), vzb = _mm256_set1_epi32(zb);
  const __m256 vsa = _mm256_set1_ps(sa), vsb = _mm256_set1_ps(sb), vinv = _mm256_set1_ps(inv_out);
  const __m256 lim = _mm256_set1_ps(4194304.0f), nlim = _mm256_set1_ps(-4194304.0f);
  const __m256i vz = _mm256_set1_epi32(z_out);
  const __m256i lo = _mm256_set1_epi32(-128), hi = _mm256_set1_epi32(127);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i ia =
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a + i)));
    const __m256i ib =
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + i)));
    const __m256 xa = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(ia, vza)), vsa);
    const __m256 xb = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(ib, vzb)), vsb);
    __m256 v = _mm256_mul_ps(_mm256_add_ps(xa, xb), vinv);
    v = _mm256_min_ps(lim, _mm256_max_ps(nlim, v));
    const __m256 r = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(r), vz);
    q = _mm256_min_epi32(hi, _mm256_max_epi32(lo, q));
    const __m256i p16 = _mm256_packs_epi32(q, q);
    const __m256i p8 = _mm256_packs_epi16(p16, p16);
    const __m256i perm = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y + i), _mm256_castsi256_si128(perm));
  }
  for (; i < n; ++i) {
    const float xa = static_cast<float>(a[i] - za) * sa;
    const float xb = static_cast<float>(b[i] - zb) * sb;
    float v = (xa + xb) * inv_out;
    v = std::min(4194304.0f, std::max(-4194304.0f, v));
    const float r = (v + 12582912.0f) - 12582912.0f;
    const int32_t q = static_cast<int32_t>(r) + z_out;
    y[i] = static_cast<int8_t>(std::min(127, std::max(-128, q)));
  }
}

}  // namespace bytelite::rt

#endif

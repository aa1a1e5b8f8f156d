// AVX2 requantization: the same integers as requantize_ref (requantize.cc), 8 channels at a
// time with 64-bit products and per-lane variable shifts (requantize_avx2_inl.h, shared with the
// AVX2 GEMM's fused epilogue).
#include "runtime/kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "runtime/kernels/requantize_avx2_inl.h"

#define BYTELITE_AVX2 __attribute__((target("avx2")))

namespace bytelite::rt {

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
      const __m256i q = avx2::requant8(av, p, j, zp, lo, hi);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(yr + j), avx2::pack8(q));
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

// AVX2 int8 GEMM. x is sign-extended to int16 once per call (the rows of a convolution window
// overlap, so the whole strided span is widened, not each row); weights were widened at load
// time (pack_matrix). Products and pairwise sums come from _mm256_madd_epi16 (int16 x int16 ->
// int32, exact for |x| <= 128, |w| <= 127), accumulated in int32: the same integers as
// gemm_s8_ref. Register blocking: 2 rows x 4 output channels (8 accumulators; 3 rows measured
// slower on Zen 4).
//
// Only functions marked with the target attribute use AVX2; nothing in this file runs unless
// best_isa() found AVX2 via cpuid.
#include "runtime/kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define BYTELITE_AVX2 __attribute__((target("avx2")))

namespace bytelite::rt {
namespace {

BYTELITE_AVX2 inline __m128i hsum4(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
  const __m256i s01 = _mm256_hadd_epi32(a0, a1);  // a0 pairs, a1 pairs (per 128-bit lane)
  const __m256i s23 = _mm256_hadd_epi32(a2, a3);
  const __m256i s = _mm256_hadd_epi32(s01, s23);  // [a0 a1 a2 a3] partial per lane
  return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

BYTELITE_AVX2 inline int32_t hsum1(__m256i a) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// R rows (1 or 2) x 4 output channels.
template <int R>
BYTELITE_AVX2 inline void block_rx4(const int16_t* x, int64_t ldx, const int16_t* w, int64_t kp,
                                    int32_t* acc, int64_t n) {
  __m256i c[R][4];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < 4; ++j) c[r][j] = _mm256_setzero_si256();
  for (int64_t i = 0; i < kp; i += 16) {
    __m256i xv[R];
    for (int r = 0; r < R; ++r)
      xv[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + r * ldx + i));
    for (int j = 0; j < 4; ++j) {
      const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j * kp + i));
      for (int r = 0; r < R; ++r) c[r][j] = _mm256_add_epi32(c[r][j], _mm256_madd_epi16(xv[r], wv));
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(acc + r * n),
                     hsum4(c[r][0], c[r][1], c[r][2], c[r][3]));
  }
}

// R rows x 1 output channel.
template <int R>
BYTELITE_AVX2 inline void block_rx1(const int16_t* x, int64_t ldx, const int16_t* w, int64_t kp,
                                    int32_t* acc, int64_t n) {
  __m256i c[R];
  for (int r = 0; r < R; ++r) c[r] = _mm256_setzero_si256();
  for (int64_t i = 0; i < kp; i += 16) {
    const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i));
    for (int r = 0; r < R; ++r) {
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + r * ldx + i));
      c[r] = _mm256_add_epi32(c[r], _mm256_madd_epi16(xv, wv));
    }
  }
  for (int r = 0; r < R; ++r) acc[r * n] = hsum1(c[r]);
}

BYTELITE_AVX2 void widen(const int8_t* src, int64_t count, int16_t* dst) {
  int64_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_cvtepi8_epi16(v));
  }
  for (; i < count; ++i) dst[i] = src[i];
}

BYTELITE_AVX2 void gemm_avx2_impl(const int16_t* x, int64_t rows, int64_t ldx, const int16_t* w16,
                                  int64_t n, int64_t kp, int32_t* acc) {
  int64_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    const int16_t* xr = x + r * ldx;
    int32_t* ar = acc + r * n;
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) block_rx4<2>(xr, ldx, w16 + j * kp, kp, ar + j, n);
    for (; j < n; ++j) block_rx1<2>(xr, ldx, w16 + j * kp, kp, ar + j, n);
  }
  for (; r < rows; ++r) {
    const int16_t* xr = x + r * ldx;
    int32_t* ar = acc + r * n;
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) block_rx4<1>(xr, ldx, w16 + j * kp, kp, ar + j, n);
    for (; j < n; ++j) block_rx1<1>(xr, ldx, w16 + j * kp, kp, ar + j, n);
  }
}

}  // namespace

void gemm_s8_avx2(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w, int32_t* acc,
                  KernelScratch& scratch) {
  if (rows <= 0 || w.n <= 0) return;
  // Widen the span the rows cover; the kernel reads kp >= k values per row, and the padded
  // weights are 0 beyond k, so the extra (zeroed) values never change a sum.
  const int64_t span = (rows - 1) * ldx + w.k;
  const int64_t need = (rows - 1) * ldx + w.kp;
  if (static_cast<int64_t>(scratch.x16.size()) < need) scratch.x16.resize(need);
  int16_t* x16 = scratch.x16.data();
  widen(x, span, x16);
  for (int64_t i = span; i < need; ++i) x16[i] = 0;
  gemm_avx2_impl(x16, rows, ldx, w.w16.data(), w.n, w.kp, acc);
}

}  // namespace bytelite::rt

#else  // not x86: the AVX2 path is never selected (isa_supported returns false)

namespace bytelite::rt {
void gemm_s8_avx2(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w, int32_t* acc,
                  KernelScratch&) {
  gemm_s8_ref(x, rows, ldx, w, acc);
}
}  // namespace bytelite::rt

#endif

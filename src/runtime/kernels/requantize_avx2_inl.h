// The AVX2 requantization of 8 channels, shared by requantize_avx2 (requantize_avx2.cc) and the
// AVX2 GEMM's fused epilogue (gemm_avx2.cc gemm_requant_s8_avx2), so that both compute the same
// integers as requantize_ref by the same instructions. Include only from files whose functions
// carry the avx2 target attribute (x86 only).
#pragma once

#include <immintrin.h>

#include "runtime/kernels/kernels.h"

namespace bytelite::rt::avx2 {

/// Channels j..j+7 (j a multiple of 8, j < round_up(p.n, 8)) of int32 accumulators `av`:
/// clamp(zp + floor((acc m0 + B + 2^(s-1)) / 2^s), lo, hi) as int32 lanes, from the SIMD layout
/// of prepare_requant (m0_v, bias_v with 2^62 folded in, shift_v, corr_v): 64-bit products and
/// per-lane logical shifts. Requires |(acc m0 + B) >> s| < 2^31 (the loader's bounds give it).
__attribute__((target("avx2"), always_inline)) inline __m256i requant8(__m256i av,
                                                                       const RequantParams& p,
                                                                       int64_t j, __m256i zp,
                                                                       __m256i lo, __m256i hi) {
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
  po =
      _mm256_sub_epi64(_mm256_srlv_epi64(po, _mm256_loadu_si256(s + 1)), _mm256_loadu_si256(c + 1));
  const __m256i q = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
  return _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(q, zp), lo), hi);
}

/// The 8 int32 lanes of v, already in [-128, 127], as 8 bytes in the low half of the result.
__attribute__((target("avx2"), always_inline)) inline __m128i pack8(__m256i v) {
  const __m256i p16 = _mm256_packs_epi32(v, v);
  const __m256i p8 = _mm256_packs_epi16(p16, p16);
  const __m256i perm = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0));
  return _mm256_castsi256_si128(perm);
}

}  // namespace bytelite::rt::avx2

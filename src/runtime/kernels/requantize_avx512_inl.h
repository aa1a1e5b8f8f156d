// The AVX-512 requantization of 16 int32 lanes, shared by the VNNI GEMM's fused epilogue
// (gemm_avx512.cc), requantize_avx512, the table sums of the GBST convolution and the GBST
// mixture (ops/gbst.cc), so that all compute the same integers as requantize_ref by the same
// instructions. Include only where the including functions carry an AVX-512 target attribute
// (x86 only); these functions carry their own.
#pragma once

#include <immintrin.h>

#include "runtime/kernels/kernels.h"

#define BYTELITE_AVX512_RQ __attribute__((target("avx2,avx512f,avx512bw,avx512vl"), always_inline))

namespace bytelite::rt::avx512 {

// The parameters of 16 channels (j0..j0+15) in registers: m0 of each lane, m0 of the odd lanes
// moved to the low halves of the 64-bit lanes, (B + 2^(s-1)) and the shift s of the even lanes (0,
// 2, .., 14) and of the odd lanes. Loaded once per block of channels: stores of int8 results may
// alias anything, so a compiler reloads parameters read through a RequantParams after each one.
struct Rq16 {
  __m512i m0, m0_odd, be, bo, se, so;
};
/// The output zero point and the clamp bounds, one per 64-bit lane.
struct RqOut {
  __m512i zp, lo, hi;
};

BYTELITE_AVX512_RQ inline Rq16 load_rq16(const RequantParams& p, int64_t j0) {
  const __mmask8 all = 0xFF;  // zero-masked forms: see requant16
  Rq16 r;
  r.m0 = _mm512_loadu_si512(p.m0_16.data() + j0);
  r.m0_odd = _mm512_maskz_srli_epi64(all, r.m0, 32);
  r.be = _mm512_loadu_si512(p.bias_16.data() + j0);
  r.bo = _mm512_loadu_si512(p.bias_16.data() + j0 + 8);
  r.se = _mm512_loadu_si512(p.shift_16.data() + j0);
  r.so = _mm512_loadu_si512(p.shift_16.data() + j0 + 8);
  return r;
}

BYTELITE_AVX512_RQ inline RqOut load_rq_out(const RequantParams& p) {
  return {_mm512_set1_epi64(p.zp), _mm512_set1_epi64(p.lo), _mm512_set1_epi64(p.hi)};
}

// Requantizes 16 int32 values as requantize_ref does, in 64-bit lanes: v = acc m0 + (B +
// 2^(s-1)), q = clamp(zp + (v >> s), lo, hi) with an arithmetic shift (floor) and the clamp in
// int64. Returns the 16 int8 results in lane order.
BYTELITE_AVX512_RQ inline __m128i requant16(__m512i acc, const Rq16& r, const RqOut& o) {
  // even lanes (64-bit lane i holds lane 2i), odd lanes (64-bit lane i: lane 2i + 1). The
  // zero-masked forms (mask 0xFF: every lane) avoid GCC 12's -Wmaybe-uninitialized on the
  // unmasked intrinsics' undefined pass-through operand; they compute the same values.
  const __mmask8 all = 0xFF;
  __m512i ve = _mm512_add_epi64(_mm512_maskz_mul_epi32(all, acc, r.m0), r.be);
  __m512i vo = _mm512_add_epi64(
      _mm512_maskz_mul_epi32(all, _mm512_maskz_srli_epi64(all, acc, 32), r.m0_odd), r.bo);
  ve = _mm512_add_epi64(_mm512_maskz_srav_epi64(all, ve, r.se), o.zp);
  vo = _mm512_add_epi64(_mm512_maskz_srav_epi64(all, vo, r.so), o.zp);
  ve = _mm512_maskz_min_epi64(all, _mm512_maskz_max_epi64(all, ve, o.lo), o.hi);
  vo = _mm512_maskz_min_epi64(all, _mm512_maskz_max_epi64(all, vo, o.lo), o.hi);
  const __m128i qe = _mm512_maskz_cvtepi64_epi8(all, ve);  // 8 bytes: lanes 0, 2, ..., 14
  const __m128i qo = _mm512_maskz_cvtepi64_epi8(all, vo);  // lanes 1, 3, ..., 15
  return _mm_unpacklo_epi8(qe, qo);
}

// Stores the bytes of q whose mask bit is set (a full mask as a plain store).
BYTELITE_AVX512_RQ inline void store16(int8_t* y, __mmask16 m, __m128i q) {
  if (m == 0xFFFF) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), q);
  } else {
    _mm_mask_storeu_epi8(y, m, q);
  }
}

// Requantizes 16 int32 accumulators (channels j0..j0+15 of one row) with each channel's
// parameters (the m0_16 / bias_16 / shift_16 layout) and stores the channels below n.
BYTELITE_AVX512_RQ inline void requant_store16(__m512i acc, const RequantParams& p, int64_t j0,
                                               __mmask16 m, int8_t* y) {
  store16(y + j0, m, requant16(acc, load_rq16(p, j0), load_rq_out(p)));
}

}  // namespace bytelite::rt::avx512

#undef BYTELITE_AVX512_RQ

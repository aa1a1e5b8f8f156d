// Op block_mean (also downsample and query_pool): mean over blocks of positions, in the training
// graph's single-precision arithmetic.
#include <algorithm>
#include <cfloat>
#include <cstring>

#include "runtime/ops/ops.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "runtime/kernels/requantize_avx512_inl.h"
#endif

namespace bytelite::rt {

static_assert(FLT_EVAL_METHOD == 0,
              "float expressions must be evaluated in single precision (SSE, not x87)");

namespace {
// Round to nearest, ties to even, for |x| < 2^22 in the default rounding mode: adding and
// subtracting 1.5 * 2^23 leaves no fraction bits. Same result as std::nearbyint, but plain
// IEEE additions that the compiler can vectorize (std::nearbyint is a libm call without SSE4.1).
inline float round_even_small(float x) {
  const float magic = 12582912.0f;
  return (x + magic) - magic;
}
}  // namespace

namespace {

// The arithmetic below, shared by the reference function and its AVX2 clone: inlined into a
// function compiled for AVX2, the channel loops vectorize 8 lanes wide with the same IEEE
// single-precision operations per lane (no reassociation, no FMA), so both give the same bits.
inline __attribute__((always_inline)) void block_mean_body(const int8_t* x, int64_t T, int64_t C,
                                                           int64_t width, QParams q, int8_t* y,
                                                           float* acc) {
  const int64_t blocks = (T + width - 1) / width;
  if (width == 1) {
    std::memcpy(y, x, static_cast<size_t>(T * C));
    return;
  }
  // The training graph's arithmetic, operation by operation in IEEE single precision (each
  // operation exactly rounded; no FMA, see the -ffp-contract=off build flag): dequantize
  // fl((q - z) s), sum in position order, divide by the count, multiply by fl(1 / s) and round
  // half to even, as masked_block_mean + the fake quantizer do. Halfway cases (frequent for
  // widths 2 and 4) then round exactly as in training.
  const float s = q.scale;
  const float inv = 1.0f / s;
  const int32_t zp = q.zero_point;
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t t0 = b * width;
    const int64_t t1 = std::min(T, t0 + width);
    const float cnt = static_cast<float>(t1 - t0);
    for (int64_t c = 0; c < C; ++c) acc[c] = 0.0f;
    for (int64_t t = t0; t < t1; ++t) {
      const int8_t* xt = x + t * C;
      for (int64_t c = 0; c < C; ++c) acc[c] += static_cast<float>(xt[c] - zp) * s;
    }
    int8_t* yb = y + b * C;
    for (int64_t c = 0; c < C; ++c) {
      const float r = round_even_small((acc[c] / cnt) * inv);  // |r| <= 256
      yb[c] = static_cast<int8_t>(std::min(127, std::max(-128, zp + static_cast<int32_t>(r))));
    }
  }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) void block_mean_avx2(const int8_t* x, int64_t T, int64_t C,
                                                     int64_t width, QParams q, int8_t* y,
                                                     float* acc) {
  block_mean_body(x, T, C, width, q, y, acc);
}
// The same operations per channel written out for AVX-512 (16 channels a register, the block's
// positions summed in registers, masked loads and stores for the last channels): the same IEEE
// single-precision sequence as block_mean_body, lane by lane, so the same bits.
__attribute__((target("avx2,avx512f,avx512bw,avx512vl"))) void block_mean_avx512(
    const int8_t* x, int64_t T, int64_t C, int64_t width, QParams q, int8_t* y) {
  if (width == 1) {
    std::memcpy(y, x, static_cast<size_t>(T * C));
    return;
  }
  const int64_t blocks = (T + width - 1) / width;
  const __m512 s = _mm512_set1_ps(q.scale);
  const __m512 inv = _mm512_set1_ps(1.0f / q.scale);
  const __m512 magic = _mm512_set1_ps(12582912.0f);  // round_even_small
  const __m512i zp = _mm512_set1_epi32(q.zero_point);
  const __m512i lo = _mm512_set1_epi32(-128), hi = _mm512_set1_epi32(127);
  // zero-masked forms with every lane set: GCC 12 warns (-Wmaybe-uninitialized) on the unmasked
  // intrinsics' undefined pass-through operand; the values are the same
  const __mmask16 all = 0xFFFF;
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t t0 = b * width;
    const int64_t t1 = std::min(T, t0 + width);
    const int64_t count = t1 - t0;
    const __m512 cnt = _mm512_set1_ps(static_cast<float>(count));
    // Division by a power of two (counts 1, 2, 4: the widths 2 and 4 and the downsampling by 2)
    // is multiplication by its exact reciprocal: both are the correctly rounded a / cnt, so the
    // same bits; the multiplication avoids the division's latency. Other counts divide.
    const bool pow2 = (count & (count - 1)) == 0;
    const __m512 rcp = _mm512_set1_ps(1.0f / static_cast<float>(count));
    for (int64_t c0 = 0; c0 < C; c0 += 16) {
      const int64_t left = C - c0;
      const auto m = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
      __m512 acc = _mm512_setzero_ps();
      for (int64_t t = t0; t < t1; ++t) {
        const __m512i xi = _mm512_maskz_cvtepi8_epi32(all, _mm_maskz_loadu_epi8(m, x + t * C + c0));
        const __m512 v = _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(all, _mm512_sub_epi32(xi, zp)), s);
        acc = _mm512_add_ps(acc, v);
      }
      const __m512 mean = pow2 ? _mm512_mul_ps(acc, rcp) : _mm512_div_ps(acc, cnt);
      const __m512 r = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(mean, inv), magic), magic);
      __m512i qi = _mm512_add_epi32(zp, _mm512_maskz_cvtps_epi32(all, r));
      qi = _mm512_maskz_min_epi32(all, _mm512_maskz_max_epi32(all, qi, lo), hi);
      avx512::store16(y + b * C + c0, m, _mm512_maskz_cvtepi32_epi8(all, qi));
    }
  }
}
#endif

}  // namespace

void block_mean(const int8_t* x, int64_t T, int64_t C, int64_t width, QParams q, int8_t* y,
                std::vector<float>& sum) {
  block_mean_body(x, T, C, width, q, y, grow(sum, C));
}

void block_mean(Isa isa, const int8_t* x, int64_t T, int64_t C, int64_t width, QParams q, int8_t* y,
                std::vector<float>& sum) {
#if defined(__x86_64__) || defined(__i386__)
  if (isa == Isa::kAvx512Vnni && isa_supported(Isa::kAvx512Vnni)) {
    block_mean_avx512(x, T, C, width, q, y);
    return;
  }
  if (isa != Isa::kReference && isa_supported(Isa::kAvx2)) {
    block_mean_avx2(x, T, C, width, q, y, grow(sum, C));
    return;
  }
#endif
  block_mean(x, T, C, width, q, y, sum);
}

}  // namespace bytelite::rt

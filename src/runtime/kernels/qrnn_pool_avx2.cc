// AVX2 fused QRNN kernel: the same values as qrnn_pool_ref (qrnn_pool.cc), 8 channels at a time
// (gathers from the gate tables, the float recurrence in 8 lanes).
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

#else  // not x86: this path is never selected

namespace bytelite::rt {

void qrnn_pool_avx2(const int8_t* g, int64_t T, int64_t S, bool reverse, const QrnnTables& tab,
                    int8_t* y, int64_t ldy, float* state) {
  qrnn_pool_ref(g, T, S, reverse, tab, y, ldy, state);
}

}  // namespace bytelite::rt

#endif

// AVX-512 fused QRNN kernel: the same values as qrnn_pool_ref (qrnn_pool.cc), 64 channels of
// gates at a time. The gate tables are looked up with byte permutes (AVX-512 VBMI
// vpermi2b: a 256-entry int8 table is four 64-byte registers, two two-register permutes and a
// blend on the index's top bit give 64 lookups), instead of the AVX2 kernel's three 8-lane
// gathers per 8 channels; the arithmetic then runs in 16-lane int32 / float vectors exactly as
// in the AVX2 kernel (single-precision multiplications and additions, each rounded, no FMA:
// the runtime is built with -ffp-contract=off). Used on the avx512vnni path when the CPU also
// has AVX-512 VBMI (qrnn_pool_avx512_supported); otherwise that path uses the AVX2 kernel.
#include "runtime/kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
// GCC 12 reports -Wmaybe-uninitialized inside the unmasked AVX-512 intrinsics (their undefined
// pass-through operand, a false positive); the pragma precedes the header so that it covers it.
#if defined(__GNUC__) && !defined(__clang__)  // clang has no -Wmaybe-uninitialized
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define BYTELITE_POP_DIAGNOSTIC
#endif
#include <immintrin.h>

#define BYTELITE_AVX512VBMI __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vbmi")))

namespace bytelite::rt {

namespace {

// The four 64-byte quarters of a 256-entry int8 table indexed by gate + 128.
struct Table64 {
  __m512i q[4];
};

BYTELITE_AVX512VBMI inline Table64 load_table(const std::array<int8_t, 256>& t) {
  Table64 r;
  for (int i = 0; i < 4; ++i) r.q[i] = _mm512_loadu_si512(t.data() + 64 * i);
  return r;
}

// table[g + 128] for 64 int8 gates: index = g + 128 = g ^ 0x80; bits 0-6 pick an entry of the
// lower (bit 7 clear) or upper half, each half being two registers (bit 6).
BYTELITE_AVX512VBMI inline __m512i lookup(const Table64& t, __m512i g) {
  const __m512i idx = _mm512_xor_si512(g, _mm512_set1_epi8(static_cast<char>(0x80)));
  const __m512i lo = _mm512_permutex2var_epi8(t.q[0], idx, t.q[1]);
  const __m512i hi = _mm512_permutex2var_epi8(t.q[2], idx, t.q[3]);
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi);
}

// round(n / 255) for |n| <= 255 * 128 through float, as the AVX2 kernel (exact: see there).
BYTELITE_AVX512VBMI inline __m512i round_div255_v(__m512i n) {
  const __m512 q = _mm512_mul_ps(_mm512_cvtepi32_ps(n), _mm512_set1_ps(1.0f / 255.0f));
  return _mm512_cvttps_epi32(
      _mm512_roundscale_ps(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

// 16 channels (lanes) of one step: z, f, o are the looked-up table values as int32.
BYTELITE_AVX512VBMI inline void step16(__m512i z, __m512i f, __m512i o, float* state, __mmask16 m,
                                       int8_t* y) {
  const __m512i k128 = _mm512_set1_epi32(128);
  const __m512i c =
      round_div255_v(_mm512_mullo_epi32(_mm512_sub_epi32(_mm512_set1_epi32(127), f), z));
  const __m512 mf =
      _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(f, k128)), _mm512_set1_ps(unit_scale()));
  const __m512 cf = _mm512_mul_ps(_mm512_cvtepi32_ps(c), _mm512_set1_ps(signed_unit_scale()));
  const __m512 h = _mm512_add_ps(_mm512_mul_ps(mf, _mm512_maskz_loadu_ps(m, state)), cf);
  _mm512_mask_storeu_ps(state, m, h);
  __m512 r = _mm512_roundscale_ps(_mm512_mul_ps(h, _mm512_set1_ps(1.0f / signed_unit_scale())),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm512_min_ps(_mm512_max_ps(r, _mm512_set1_ps(-128.0f)), _mm512_set1_ps(127.0f));
  const __m512i q =
      round_div255_v(_mm512_mullo_epi32(_mm512_cvttps_epi32(r), _mm512_add_epi32(o, k128)));
  _mm_mask_storeu_epi8(y, m, _mm512_maskz_cvtepi32_epi8(0xFFFF, q));
}

BYTELITE_AVX512VBMI inline __mmask16 mask16(int64_t remaining) {
  return remaining >= 16 ? static_cast<__mmask16>(0xFFFF)
                         : (remaining <= 0 ? static_cast<__mmask16>(0)
                                           : static_cast<__mmask16>((1u << remaining) - 1u));
}

}  // namespace

bool qrnn_pool_avx512_supported() {
  return isa_supported(Isa::kAvx512Vnni) && __builtin_cpu_supports("avx512vbmi");
}

BYTELITE_AVX512VBMI void qrnn_pool_avx512(const int8_t* g, int64_t T, int64_t S, bool reverse,
                                          const QrnnTables& tab, int8_t* y, int64_t ldy,
                                          float* state) {
  for (int64_t j = 0; j < S; ++j) state[j] = 0.0f;
  const Table64 tanh = load_table(tab.tanh);
  const Table64 sig = load_table(tab.sigmoid);
  for (int64_t i = 0; i < T; ++i) {
    const int64_t t = reverse ? T - 1 - i : i;
    const int8_t* gt = g + t * 3 * S;
    int8_t* yt = y + t * ldy;
    for (int64_t j = 0; j < S; j += 64) {
      const int64_t left = S - j;
      const __mmask64 m64 = left >= 64 ? ~__mmask64{0} : ((__mmask64{1} << left) - 1);
      const __m512i z8 = lookup(tanh, _mm512_maskz_loadu_epi8(m64, gt + j));
      const __m512i f8 = lookup(sig, _mm512_maskz_loadu_epi8(m64, gt + S + j));
      const __m512i o8 = lookup(sig, _mm512_maskz_loadu_epi8(m64, gt + 2 * S + j));
      // four groups of 16 lanes (unrolled: the extract index is an immediate)
#define BYTELITE_QRNN_GROUP(k)                                                           \
  if (left > 16 * (k)) {                                                                 \
    step16(_mm512_cvtepi8_epi32(_mm512_extracti32x4_epi32(z8, k)),                       \
           _mm512_cvtepi8_epi32(_mm512_extracti32x4_epi32(f8, k)),                       \
           _mm512_cvtepi8_epi32(_mm512_extracti32x4_epi32(o8, k)), state + j + 16 * (k), \
           mask16(left - 16 * (k)), yt + j + 16 * (k));                                  \
  }
      BYTELITE_QRNN_GROUP(0)
      BYTELITE_QRNN_GROUP(1)
      BYTELITE_QRNN_GROUP(2)
      BYTELITE_QRNN_GROUP(3)
#undef BYTELITE_QRNN_GROUP
    }
  }
}

}  // namespace bytelite::rt

#ifdef BYTELITE_POP_DIAGNOSTIC
#pragma GCC diagnostic pop
#undef BYTELITE_POP_DIAGNOSTIC
#endif

#else  // not x86: this path is never selected

namespace bytelite::rt {

bool qrnn_pool_avx512_supported() { return false; }

void qrnn_pool_avx512(const int8_t* g, int64_t T, int64_t S, bool reverse, const QrnnTables& tab,
                      int8_t* y, int64_t ldy, float* state) {
  qrnn_pool_ref(g, T, S, reverse, tab, y, ldy, state);
}

}  // namespace bytelite::rt

#endif

// AVX-512 fused QRNN kernel: the same values as qrnn_pool_ref (qrnn_pool.cc). The gate tables
// are looked up with byte permutes (AVX-512 VBMI vpermi2b: a 256-entry int8 table is four 64-byte
// registers, two two-register permutes and a blend on the gate's sign bit give 64 lookups),
// instead of the AVX2 kernel's three 8-lane gathers per 8 channels. The channels run in blocks of
// up to 64 over every position, the block's state in registers (only h_t = m_t h_{t-1} + c~_t is
// a recurrence). The integer steps (c = round((127 - f) z / 255), y = round(q_h (o + 128) / 255))
// run in 32 int16 lanes with exact integer division (round_div255_w); the float steps in 16-lane
// vectors exactly as qrnn_step (single-precision multiplications and additions, each rounded, no
// FMA: the runtime is built with -ffp-contract=off). At S = 32 (the main job's width-32 model) a
// position's F and O are one 64-byte lookup and two positions share one Z lookup. Used on the
// avx512vnni path when the CPU also has AVX-512 VBMI (qrnn_pool_avx512_supported); otherwise that
// path uses the AVX2 kernel.
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

// table[g + 128] for 64 int8 gates: index = g + 128 = g ^ 0x80; its bits 0-6 (those of g) pick
// an entry of the lower (index bit 7 clear: g < 0) or upper half (g >= 0), each half being two
// registers (bit 6). vpermi2b reads only bits 0-6, so g itself is the permute index, and g's
// sign bit picks the lower half.
BYTELITE_AVX512VBMI inline __m512i lookup(const Table64& t, __m512i g) {
  const __m512i lo = _mm512_permutex2var_epi8(t.q[0], g, t.q[1]);
  const __m512i hi = _mm512_permutex2var_epi8(t.q[2], g, t.q[3]);
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(g), hi, lo);
}

// round(n / 255) (round_div255) in int32 lanes holding n in [-255 * 128, 255 * 127], in integer
// arithmetic: a = n + 32767 = n + 127 + 255 * 128 is in [127, 65152], so the lane's high 16 bits
// are zero, and floor(a / 255) = floor((n + 127) / 255) + 128 = round_div255(n) + 128 (n + 127
// over 255 rounds half away from zero: 255 is odd, there are no ties). floor(a / 255) for
// 0 <= a < 2^16 is (a * 0x8081) >> 23 (0x8081 = ceil(2^23 / 255); the error 127 a / (255 2^23)
// stays below the 1/255 gap to the next integer for a < 66052): vpmulhuw gives (a * 0x8081)
// >> 16 in the low 16 bits (0 in the high ones), then >> 7. Checked against round_div255 on every
// n of the range (via the op harness's all-pairs cases and by hand, see docs/runtime.md).
BYTELITE_AVX512VBMI inline __m512i round_div255_v(__m512i n) {
  const __m512i a = _mm512_add_epi32(n, _mm512_set1_epi32(32767));
  const __m512i q =
      _mm512_srli_epi32(_mm512_mulhi_epu16(a, _mm512_set1_epi16(static_cast<short>(0x8081))), 7);
  return _mm512_sub_epi32(q, _mm512_set1_epi32(128));
}

// One position of 16 channels (lanes): z the tanh value (int32), fx = f + 128 and ox = o + 128
// (0..255, int32), h the state (in, out). Returns y (int32 in [-128, 127]). The products
// (127 - f) z = (255 - fx) z and q_h (o + 128) are exact in vpmaddwd: one factor is in [0, 255]
// with a zero high half, the other a sign-extended int16, so the high halves' product is 0 and
// the low halves' product is the int32 product. The float steps are qrnn_step's, in its order:
// m = fl((f + 128) s255), c~ = fl(c s127), h = fl(fl(m h) + c~); q_h = clamp(rne(fl(h
// fl(1/s127))), -128, 127), clamping before rounding (the same: both bounds are integers and
// both functions are monotone), rounding in the conversion (embedded round-to-nearest-even).
BYTELITE_AVX512VBMI inline __m512i step16(__m512i z, __m512i fx, __m512i ox, __m512& h) {
  const __m512i c =
      round_div255_v(_mm512_madd_epi16(_mm512_sub_epi32(_mm512_set1_epi32(255), fx), z));
  const __m512 m = _mm512_mul_ps(_mm512_cvtepi32_ps(fx), _mm512_set1_ps(unit_scale()));
  const __m512 cf = _mm512_mul_ps(_mm512_cvtepi32_ps(c), _mm512_set1_ps(signed_unit_scale()));
  h = _mm512_add_ps(_mm512_mul_ps(m, h), cf);
  __m512 x = _mm512_mul_ps(h, _mm512_set1_ps(1.0f / signed_unit_scale()));
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-128.0f)), _mm512_set1_ps(127.0f));
  const __m512i qh = _mm512_cvt_roundps_epi32(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return round_div255_v(_mm512_madd_epi16(qh, ox));
}

// round_div255 in 32 int16 lanes holding n in [-255 * 128, 255 * 127]: round_div255_v's
// arithmetic on the 16-bit lanes themselves (n + 32767 wraps to the unsigned value a).
BYTELITE_AVX512VBMI inline __m512i round_div255_w(__m512i n) {
  const __m512i a = _mm512_add_epi16(n, _mm512_set1_epi16(32767));
  const __m512i q =
      _mm512_srli_epi16(_mm512_mulhi_epu16(a, _mm512_set1_epi16(static_cast<short>(0x8081))), 7);
  return _mm512_sub_epi16(q, _mm512_set1_epi16(128));
}

// One position of 32 channels: z, fx = f + 128, ox = o + 128 as 32 bytes; h0, h1 the state.
// Returns y as 32 bytes. The integer steps run in 32 int16 lanes (both products fit: |(127 - f)
// z| and |q_h (o + 128)| <= 255 * 128), the float steps as in step16. The words are widened to
// int32 lanes by in-lane unpacks, so h0 holds channels 0-3, 8-11, 16-19, 24-27 and h1 channels
// 4-7, 12-15, 20-23, 28-31 (state32 stores them in order); vpackssdw of the two q_h vectors
// gives the channels back in order. q_h is clamped after rounding, in int16 lanes (as
// qrnn_step does): the state never leaves (-3, 3), so rne(fl(h fl(1/s127))) is below 381 in
// magnitude and converts and packs without saturating. (By induction: f = 127 gives m = 1,
// c = 0, h unchanged; otherwise m = (f + 128) / 255 <= 254 / 255 and |c| <= 128 (1 - m) + 1/2,
// so |h_t| <= 3 m + (128 (1 - m) + 1/2) / 127 <= 3 - 1.99 (1 - m) + 0.004 < 2.997 before the
// three roundings of relative size 2^-24 each.)
BYTELITE_AVX512VBMI inline __m256i pos32(__m256i z, __m256i fx, __m256i ox, __m512& h0,
                                         __m512& h1) {
  const __m512i f16 = _mm512_cvtepu8_epi16(fx);
  const __m512i c16 = round_div255_w(
      _mm512_mullo_epi16(_mm512_sub_epi16(_mm512_set1_epi16(255), f16), _mm512_cvtepi8_epi16(z)));
  const __m512i sign = _mm512_srai_epi16(c16, 15);
  const __m512i zero = _mm512_setzero_si512();
  const __m512 s255 = _mm512_set1_ps(unit_scale());
  const __m512 s127 = _mm512_set1_ps(signed_unit_scale());
  const __m512 inv127 = _mm512_set1_ps(1.0f / signed_unit_scale());
  const __m512 m0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_unpacklo_epi16(f16, zero)), s255);
  const __m512 m1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_unpackhi_epi16(f16, zero)), s255);
  const __m512 cf0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_unpacklo_epi16(c16, sign)), s127);
  const __m512 cf1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_unpackhi_epi16(c16, sign)), s127);
  h0 = _mm512_add_ps(_mm512_mul_ps(m0, h0), cf0);
  h1 = _mm512_add_ps(_mm512_mul_ps(m1, h1), cf1);
  const __m512i q0 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(h0, inv127),
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512i q1 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(h1, inv127),
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512i qh =
      _mm512_min_epi16(_mm512_max_epi16(_mm512_packs_epi32(q0, q1), _mm512_set1_epi16(-128)),
                       _mm512_set1_epi16(127));
  return _mm512_cvtepi16_epi8(round_div255_w(_mm512_mullo_epi16(qh, _mm512_cvtepu8_epi16(ox))));
}

// Stores pos32's state (h0, h1) as channels 0-31 in order; m masks channels 16-31.
BYTELITE_AVX512VBMI inline void state32(float* state, __m512 h0, __m512 h1, __mmask16 m) {
  // output channel i: 128-bit block b = i / 4 of the pair comes from h0 (b even) or h1 (b odd),
  // that register's block b / 2 (channels 0-15) or 2 + b / 2 (channels 16-31)
  const __m512i first = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i second =
      _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  _mm512_storeu_ps(state, _mm512_permutex2var_ps(h0, first, h1));
  _mm512_mask_storeu_ps(state + 16, m, _mm512_permutex2var_ps(h0, second, h1));
}

// Quarter k (16 bytes) of v as 16 int32 lanes, sign- or zero-extended.
template <int k>
BYTELITE_AVX512VBMI inline __m512i quarter_s(__m512i v) {
  if constexpr (k == 0) return _mm512_cvtepi8_epi32(_mm512_castsi512_si128(v));
  return _mm512_cvtepi8_epi32(_mm512_extracti32x4_epi32(v, k));
}
template <int k>
BYTELITE_AVX512VBMI inline __m512i quarter_u(__m512i v) {
  if constexpr (k == 0) return _mm512_cvtepu8_epi32(_mm512_castsi512_si128(v));
  return _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(v, k));
}

BYTELITE_AVX512VBMI inline __m256i lo256(__m512i v) { return _mm512_castsi512_si256(v); }
BYTELITE_AVX512VBMI inline __m256i hi256(__m512i v) { return _mm512_extracti64x4_epi64(v, 1); }
BYTELITE_AVX512VBMI inline void store32(int8_t* y, __m256i v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), v);
}
BYTELITE_AVX512VBMI inline void store32(int8_t* y, __m256i v, __mmask32 m) {
  _mm256_mask_storeu_epi8(y, m, v);
}
BYTELITE_AVX512VBMI inline void store16(int8_t* y, __m512i v, __mmask16 m) {
  _mm_mask_storeu_epi8(y, m, _mm512_cvtepi32_epi8(v));
}

BYTELITE_AVX512VBMI inline __mmask16 mask16(int64_t remaining) {
  return remaining >= 16 ? static_cast<__mmask16>(0xFFFF)
                         : static_cast<__mmask16>((1u << remaining) - 1u);
}

// Channels [j0, j0 + n) (0 < n <= 64, G = ceil(n / 16) groups of 16) over every position, the
// state in registers. sigx is the sigmoid table + 128 (f + 128 and o + 128 as bytes).
template <int G>
BYTELITE_AVX512VBMI void block(const int8_t* g, int64_t T, int64_t S, bool reverse,
                               const Table64& tanh, const Table64& sigx, int8_t* y, int64_t ldy,
                               float* state, int64_t j0, int64_t n) {
  const __mmask64 m64 = n >= 64 ? ~__mmask64{0} : ((__mmask64{1} << n) - 1);
  const __mmask16 last = mask16(n - 16 * (G - 1));  // the last group's channels
  const __mmask32 last32 = 0xFFFFu | (static_cast<__mmask32>(last) << 16);  // G even: last pair
  __m512 h0 = _mm512_setzero_ps(), h1 = h0, h2 = h0, h3 = h0;
  const int64_t step = reverse ? -3 * S : 3 * S;
  const int64_t ystep = reverse ? -ldy : ldy;
  const int8_t* gt = g + (reverse ? (T - 1) * 3 * S : 0) + j0;
  int8_t* yt = y + (reverse ? (T - 1) * ldy : 0) + j0;
  for (int64_t i = 0; i < T; ++i, gt += step, yt += ystep) {
    const __m512i z8 = lookup(tanh, _mm512_maskz_loadu_epi8(m64, gt));
    const __m512i f8 = lookup(sigx, _mm512_maskz_loadu_epi8(m64, gt + S));
    const __m512i o8 = lookup(sigx, _mm512_maskz_loadu_epi8(m64, gt + 2 * S));
    if constexpr (G == 1) {
      store16(yt, step16(quarter_s<0>(z8), quarter_u<0>(f8), quarter_u<0>(o8), h0), last);
    } else {  // channels 0-31 of the block
      const __m256i r = pos32(lo256(z8), lo256(f8), lo256(o8), h0, h1);
      if constexpr (G == 2) {
        store32(yt, r, last32);
      } else {
        store32(yt, r);
      }
    }
    if constexpr (G == 3) {
      store16(yt + 32, step16(quarter_s<2>(z8), quarter_u<2>(f8), quarter_u<2>(o8), h2), last);
    }
    if constexpr (G == 4) {
      store32(yt + 32, pos32(hi256(z8), hi256(f8), hi256(o8), h2, h3), last32);
    }
  }
  if constexpr (G == 1) _mm512_mask_storeu_ps(state + j0, last, h0);
  if constexpr (G >= 2) state32(state + j0, h0, h1, G == 2 ? last : 0xFFFF);
  if constexpr (G == 3) _mm512_mask_storeu_ps(state + j0 + 32, last, h2);
  if constexpr (G == 4) state32(state + j0 + 32, h2, h3, last);
}

// S = 32: F and O of a position are 64 contiguous bytes (one sigmoid lookup), and Z of two
// consecutive positions share one tanh lookup: 3 lookups per 2 positions instead of 6.
BYTELITE_AVX512VBMI void block32(const int8_t* g, int64_t T, bool reverse, const Table64& tanh,
                                 const Table64& sigx, int8_t* y, int64_t ldy, float* state) {
  __m512 h0 = _mm512_setzero_ps(), h1 = h0;
  const int64_t step = reverse ? -96 : 96;
  const int64_t ystep = reverse ? -ldy : ldy;
  const int8_t* gt = g + (reverse ? (T - 1) * 96 : 0);
  int8_t* yt = y + (reverse ? (T - 1) * ldy : 0);
  int64_t i = 0;
  for (; i + 2 <= T; i += 2, gt += 2 * step, yt += 2 * ystep) {
    const __m512i zz = lookup(
        tanh, _mm512_inserti64x4(
                  _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gt))),
                  _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gt + step)), 1));
    const __m512i fo0 = lookup(sigx, _mm512_loadu_si512(gt + 32));
    const __m512i fo1 = lookup(sigx, _mm512_loadu_si512(gt + step + 32));
    store32(yt, pos32(lo256(zz), lo256(fo0), hi256(fo0), h0, h1));
    store32(yt + ystep, pos32(hi256(zz), lo256(fo1), hi256(fo1), h0, h1));
  }
  if (i < T) {  // odd T: the last position alone
    const __m512i zz = lookup(
        tanh, _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gt))));
    const __m512i fo = lookup(sigx, _mm512_loadu_si512(gt + 32));
    store32(yt, pos32(lo256(zz), lo256(fo), hi256(fo), h0, h1));
  }
  state32(state, h0, h1, 0xFFFF);
}

}  // namespace

bool qrnn_pool_avx512_supported() {
  return isa_supported(Isa::kAvx512Vnni) && __builtin_cpu_supports("avx512vbmi");
}

BYTELITE_AVX512VBMI void qrnn_pool_avx512(const int8_t* g, int64_t T, int64_t S, bool reverse,
                                          const QrnnTables& tab, int8_t* y, int64_t ldy,
                                          float* state) {
  if (T <= 0) {
    for (int64_t j = 0; j < S; ++j) state[j] = 0.0f;
    return;
  }
  const Table64 tanh = load_table(tab.tanh);
  Table64 sig = load_table(tab.sigmoid);  // as sigmoid + 128 (uint8): the sign bit flipped
  for (__m512i& q : sig.q) q = _mm512_xor_si512(q, _mm512_set1_epi8(static_cast<char>(0x80)));
  if (S == 32) {
    block32(g, T, reverse, tanh, sig, y, ldy, state);
    return;
  }
  for (int64_t j0 = 0; j0 < S; j0 += 64) {
    const int64_t n = S - j0 < 64 ? S - j0 : 64;
    switch ((n + 15) / 16) {
      case 1:
        block<1>(g, T, S, reverse, tanh, sig, y, ldy, state, j0, n);
        break;
      case 2:
        block<2>(g, T, S, reverse, tanh, sig, y, ldy, state, j0, n);
        break;
      case 3:
        block<3>(g, T, S, reverse, tanh, sig, y, ldy, state, j0, n);
        break;
      default:
        block<4>(g, T, S, reverse, tanh, sig, y, ldy, state, j0, n);
        break;
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

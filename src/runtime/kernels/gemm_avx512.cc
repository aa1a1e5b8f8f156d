// AVX-512 VNNI int8 GEMM: _mm512_dpbusd_epi32 multiplies unsigned bytes by signed bytes and adds
// each group of 4 exact products to an int32 lane, without saturation (the saturating form is
// vpdpbusds, not used). x is made unsigned as x + 128 (a flip of the sign bit) and the result
// corrected by 128 Σ_i w_ji, so the integers equal gemm_s8_ref's. Weights are packed at load
// time as [16-channel block][4-byte group of k][16 channels][4 bytes]; the micro-kernel keeps
// 4 rows x 64 channels of accumulators in registers and broadcasts 4 bytes of x per row.
//
// Only functions with the target attribute use AVX-512; best_isa() selects this path only when
// cpuid reports AVX-512 F/BW/VL/VNNI.
#include <cstring>

#include "runtime/kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define BYTELITE_AVX512 __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni")))

namespace bytelite::rt {
namespace {

BYTELITE_AVX512 inline __mmask16 lane_mask(int64_t remaining) {
  return remaining >= 16 ? static_cast<__mmask16>(0xFFFF)
                         : static_cast<__mmask16>((1u << remaining) - 1u);
}

// R rows x NB blocks of 16 output channels, starting at channel block `blk`.
template <int R, int NB>
BYTELITE_AVX512 inline void micro(const uint8_t* xu, int64_t ldx, const int8_t* wv,
                                  const int32_t* corr128, int64_t groups, int64_t blk, int64_t n,
                                  int32_t* acc) {
  __m512i c[R][NB];
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < NB; ++b) c[r][b] = _mm512_setzero_si512();
  const int8_t* wb = wv + blk * groups * 64;
  for (int64_t g = 0; g < groups; ++g) {
    __m512i w[NB];
    for (int b = 0; b < NB; ++b)
      w[b] = _mm512_loadu_si512(wb + (static_cast<int64_t>(b) * groups + g) * 64);
    for (int r = 0; r < R; ++r) {
      int32_t x4;
      std::memcpy(&x4, xu + r * ldx + 4 * g, 4);
      const __m512i xb = _mm512_set1_epi32(x4);
      for (int b = 0; b < NB; ++b) c[r][b] = _mm512_dpbusd_epi32(c[r][b], xb, w[b]);
    }
  }
  for (int b = 0; b < NB; ++b) {
    const int64_t j0 = (blk + b) * 16;
    const __mmask16 m = lane_mask(n - j0);
    const __m512i corr = _mm512_loadu_si512(corr128 + j0);  // 128 Σw
    for (int r = 0; r < R; ++r) {
      _mm512_mask_storeu_epi32(acc + r * n + j0, m, _mm512_sub_epi32(c[r][b], corr));
    }
  }
}

template <int R>
BYTELITE_AVX512 void rows_block(const uint8_t* xu, int64_t ldx, const PackedMatrix& w,
                                int32_t* acc) {
  const int64_t groups = w.kp4 / 4;
  const int64_t blocks = w.np16 / 16;
  int64_t blk = 0;
  for (; blk + 4 <= blocks; blk += 4)
    micro<R, 4>(xu, ldx, w.wvnni.data(), w.corr.data(), groups, blk, w.n, acc);
  switch (blocks - blk) {
    case 3:
      micro<R, 3>(xu, ldx, w.wvnni.data(), w.corr.data(), groups, blk, w.n, acc);
      break;
    case 2:
      micro<R, 2>(xu, ldx, w.wvnni.data(), w.corr.data(), groups, blk, w.n, acc);
      break;
    case 1:
      micro<R, 1>(xu, ldx, w.wvnni.data(), w.corr.data(), groups, blk, w.n, acc);
      break;
    default:
      break;
  }
}

BYTELITE_AVX512 void to_unsigned(const int8_t* src, int64_t count, uint8_t* dst) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  int64_t i = 0;
  for (; i + 64 <= count; i += 64) {
    const __m512i v = _mm512_loadu_si512(src + i);
    _mm512_storeu_si512(dst + i, _mm512_xor_si512(v, flip));
  }
  for (; i < count; ++i) dst[i] = static_cast<uint8_t>(src[i] ^ 0x80);
}

}  // namespace

void gemm_s8_avx512vnni(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                        int32_t* acc, KernelScratch& scratch) {
  if (rows <= 0 || w.n <= 0) return;
  // x + 128 as bytes over the span the rows cover; each row reads kp4 >= k bytes, and the
  // padded weights are 0 beyond k, so the extra bytes never change a sum.
  const int64_t span = (rows - 1) * ldx + w.k;
  const int64_t need = (rows - 1) * ldx + w.kp4;
  if (static_cast<int64_t>(scratch.xu8.size()) < need) scratch.xu8.resize(need);
  uint8_t* xu = scratch.xu8.data();
  to_unsigned(x, span, xu);
  for (int64_t i = span; i < need; ++i) xu[i] = 0;
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) rows_block<4>(xu + r * ldx, ldx, w, acc + r * w.n);
  switch (rows - r) {
    case 3:
      rows_block<3>(xu + r * ldx, ldx, w, acc + r * w.n);
      break;
    case 2:
      rows_block<2>(xu + r * ldx, ldx, w, acc + r * w.n);
      break;
    case 1:
      rows_block<1>(xu + r * ldx, ldx, w, acc + r * w.n);
      break;
    default:
      break;
  }
}

}  // namespace bytelite::rt

#else  // not x86: this path is never selected

namespace bytelite::rt {
void gemm_s8_avx512vnni(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                        int32_t* acc, KernelScratch&) {
  gemm_s8_ref(x, rows, ldx, w, acc);
}
}  // namespace bytelite::rt

#endif

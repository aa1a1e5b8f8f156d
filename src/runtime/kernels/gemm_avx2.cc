// AVX2 int8 GEMM, outer-product (broadcast) form. x is sign-extended to int16 once per call (the
// rows of a convolution window overlap, so the whole strided span is widened, not each row);
// weights were widened and packed at load time (pack_matrix: blocks of 16 output channels, per
// k pair the 16 channels' (w[j][i], w[j][i+1]) int16 pairs, two ymm of 8 channels). For each k
// pair one row's (x[i], x[i+1]) is broadcast as one int32 and _mm256_madd_epi16 (int16 x int16
// -> int32 pair sums, exact for |x| <= 128, |w| <= 127) gives 8 channels' partial sums at once,
// accumulated in int32: the same integers as gemm_s8_ref, and no horizontal sums. Register tile:
// 4 rows x 16 channels (8 accumulators, 2 weight registers, 1 broadcast); 1-3 rows for the
// remainder; a last block of <= 8 channels computes only its first 8 (one ymm per row), and
// channels past n (the zero padding of the last block) are not stored. Dense layers requantize
// in the epilogue (gemm_requant_s8_avx2, the instructions of requantize_avx2) from each tile's
// accumulators (via a 4 x 16 local buffer), never through a [rows, n] int32 buffer.
//
// Only functions marked with the target attribute use AVX2; nothing in this file runs unless
// best_isa() found AVX2 via cpuid.
#include <cstring>

#include "runtime/kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "runtime/kernels/requantize_avx2_inl.h"

#define BYTELITE_AVX2 __attribute__((target("avx2")))

namespace bytelite::rt {
namespace {

// The int16 pair x[0], x[1] as one int32, broadcast to the 8 lanes.
BYTELITE_AVX2 inline __m256i bcast_pair(const int16_t* x) {
  int32_t v;
  std::memcpy(&v, x, sizeof(v));
  return _mm256_set1_epi32(v);
}

// Requantizes the 16 accumulators c0 (channels j..j+7), c1 (j+8..j+15) of one row as
// requantize_avx2 does and stores the nv <= 16 channels below n to y.
BYTELITE_AVX2 __attribute__((always_inline)) inline void requant_store16(__m256i c0, __m256i c1,
                                                                         const RequantParams& p,
                                                                         int64_t j, int64_t nv,
                                                                         int8_t* y) {
  const __m256i zp = _mm256_set1_epi32(p.zp);
  const __m256i lo = _mm256_set1_epi32(p.lo);
  const __m256i hi = _mm256_set1_epi32(p.hi);
  const __m128i q0 = avx2::pack8(avx2::requant8(c0, p, j, zp, lo, hi));
  if (nv == 16) {
    const __m128i q1 = avx2::pack8(avx2::requant8(c1, p, j + 8, zp, lo, hi));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), _mm_unpacklo_epi64(q0, q1));
    return;
  }
  // the last block: the SIMD layout covers round_up(n, 8) channels, so the second half exists
  // only when nv > 8
  alignas(16) int8_t tmp[16];
  _mm_storel_epi64(reinterpret_cast<__m128i*>(tmp), q0);
  if (nv > 8)
    _mm_storel_epi64(reinterpret_cast<__m128i*>(tmp + 8),
                     avx2::pack8(avx2::requant8(c1, p, j + 8, zp, lo, hi)));
  std::memcpy(y, tmp, static_cast<size_t>(nv));
}

// The accumulators of R rows x 16 channels (with kHalf only the first 8: a last block of <= 8
// channels skips the second ymm of weights and accumulators) to out[r][0..15]. wb: the block's
// packed weights, [pairs][16][2]; x: row 0 of R rows with stride ldx. The full tile (4 rows x 16
// channels) is accumulate_4x16 below.
template <int R, bool kHalf>
BYTELITE_AVX2 inline void accumulate(const int16_t* x, int64_t ldx, const int16_t* wb,
                                     int64_t pairs, int32_t (*out)[16]) {
  __m256i c0[R], c1[R];
  for (int r = 0; r < R; ++r) c0[r] = c1[r] = _mm256_setzero_si256();
  for (int64_t p = 0; p < pairs; ++p) {
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + p * 32));
    if constexpr (kHalf) {
      for (int r = 0; r < R; ++r)
        c0[r] = _mm256_add_epi32(c0[r], _mm256_madd_epi16(bcast_pair(x + r * ldx + 2 * p), w0));
    } else {
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + p * 32 + 16));
      for (int r = 0; r < R; ++r) {
        const __m256i xv = bcast_pair(x + r * ldx + 2 * p);
        c0[r] = _mm256_add_epi32(c0[r], _mm256_madd_epi16(xv, w0));
        c1[r] = _mm256_add_epi32(c1[r], _mm256_madd_epi16(xv, w1));
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(out[r]), c0[r]);
    if constexpr (!kHalf) _mm256_store_si256(reinterpret_cast<__m256i*>(out[r] + 8), c1[r]);
  }
}

// The full tile, 4 rows x 16 channels, with named accumulators: g++ 12 compiles the array form
// above (unrolled at -O3) with a register copy per accumulator in every iteration of the loop
// (about 0.9x the speed); this form has none (objdump -d of gemm_avx2.cc.o).
// Row r's 16 sums go to out + r * ldo (ldo: n when storing straight into the accumulators).
BYTELITE_AVX2 void accumulate_4x16(const int16_t* x, int64_t ldx, const int16_t* wb, int64_t pairs,
                                   int32_t* out, int64_t ldo) {
  __m256i a0 = _mm256_setzero_si256(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0,
          b3 = a0;
  const int16_t* x0 = x;
  const int16_t* x1 = x + ldx;
  const int16_t* x2 = x + 2 * ldx;
  const int16_t* x3 = x + 3 * ldx;
  for (int64_t p = 0; p < pairs; ++p) {
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + p * 32));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + p * 32 + 16));
    __m256i v = bcast_pair(x0 + 2 * p);
    a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(v, w0));
    b0 = _mm256_add_epi32(b0, _mm256_madd_epi16(v, w1));
    v = bcast_pair(x1 + 2 * p);
    a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(v, w0));
    b1 = _mm256_add_epi32(b1, _mm256_madd_epi16(v, w1));
    v = bcast_pair(x2 + 2 * p);
    a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(v, w0));
    b2 = _mm256_add_epi32(b2, _mm256_madd_epi16(v, w1));
    v = bcast_pair(x3 + 2 * p);
    a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(v, w0));
    b3 = _mm256_add_epi32(b3, _mm256_madd_epi16(v, w1));
  }
  const __m256i res[8] = {a0, b0, a1, b1, a2, b2, a3, b3};
  for (int i = 0; i < 8; ++i)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (i / 2) * ldo + 8 * (i % 2)), res[i]);
}

// R rows x 16 channels (channels j..j+15, nv <= 16 of them below n; kHalf when nv <= 8).
// Without rq: int32 accumulators to acc (row stride n, acc points at row 0, channel j); with rq:
// requantized int8 to y (row stride n, channel j).
template <int R, bool kHalf>
BYTELITE_AVX2 inline void tile_rx16(const int16_t* x, int64_t ldx, const int16_t* wb, int64_t pairs,
                                    int32_t* acc, int64_t n, int64_t j, int64_t nv,
                                    const RequantParams* rq, int8_t* y) {
  alignas(32) int32_t out[R][16];
  if constexpr (R == 4 && !kHalf) {
    if (rq == nullptr && nv == 16) {  // int32 results of a full block: no epilogue
      accumulate_4x16(x, ldx, wb, pairs, acc, n);
      return;
    }
    accumulate_4x16(x, ldx, wb, pairs, &out[0][0], 16);
  } else {
    accumulate<R, kHalf>(x, ldx, wb, pairs, out);
  }
  for (int r = 0; r < R; ++r) {
    const __m256i a0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(out[r]));
    const __m256i a1 = kHalf ? a0 : _mm256_load_si256(reinterpret_cast<const __m256i*>(out[r] + 8));
    if (rq != nullptr) {
      requant_store16(a0, a1, *rq, j, nv, y + r * n);
    } else if (nv == 16) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + r * n), a0);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + r * n + 8), a1);
    } else {  // the last block: store channels < nv only
      std::memcpy(acc + r * n, out[r], static_cast<size_t>(nv) * sizeof(int32_t));
    }
  }
}

BYTELITE_AVX2 void widen(const int8_t* src, int64_t count, int16_t* dst) {
  int64_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_cvtepi8_epi16(v));
  }
  for (; i < count; ++i) dst[i] = src[i];
}

// 4 rows x 16 channels: 8 accumulators, 2 weight registers, 1 broadcast. 6 rows (12
// accumulators) measured no faster on Zen 4 with g++ 12 (about 90 GMAC/s either way, test_ops
// --perf --op dense) and g++ spills the accumulator arrays of 5 or more rows to the stack.
constexpr int kTileRows = 4;

// All rows of one block of 16 channels (channel j, nv of them below n).
template <bool kHalf>
BYTELITE_AVX2 inline void block_rows(const int16_t* x, int64_t rows, int64_t ldx, const int16_t* wb,
                                     int64_t pairs, int32_t* acc, int64_t n, int64_t j, int64_t nv,
                                     const RequantParams* rq, int8_t* y) {
  int64_t r = 0;
  // the outputs of rows r.. at channel j (only one of acc, y is used)
  auto at_acc = [&] { return rq == nullptr ? acc + r * n + j : nullptr; };
  auto at_y = [&] { return rq != nullptr ? y + r * n + j : nullptr; };
  for (; r + kTileRows <= rows; r += kTileRows)
    tile_rx16<kTileRows, kHalf>(x + r * ldx, ldx, wb, pairs, at_acc(), n, j, nv, rq, at_y());
  const int16_t* xr = x + r * ldx;
  if (rows - r == 3) tile_rx16<3, kHalf>(xr, ldx, wb, pairs, at_acc(), n, j, nv, rq, at_y());
  if (rows - r == 2) tile_rx16<2, kHalf>(xr, ldx, wb, pairs, at_acc(), n, j, nv, rq, at_y());
  if (rows - r == 1) tile_rx16<1, kHalf>(xr, ldx, wb, pairs, at_acc(), n, j, nv, rq, at_y());
}

// acc [rows, n] = x W^T, or with rq: y [rows, n] = requantize(x W^T) (acc unused).
BYTELITE_AVX2 void gemm_avx2_impl(const int16_t* x, int64_t rows, int64_t ldx, const int16_t* w16,
                                  int64_t n, int64_t kp, int32_t* acc, const RequantParams* rq,
                                  int8_t* y) {
  const int64_t pairs = kp / 2;
  // Channel blocks outside, rows inside: one block's weights (16 x kp int16) stay in L1 while
  // every row passes over them.
  for (int64_t j = 0; j < n; j += 16) {
    const int16_t* wb = w16 + j * kp;  // block j / 16 starts at (j / 16) * 16 * kp
    const int64_t nv = n - j < 16 ? n - j : 16;
    if (nv > 8) {
      block_rows<false>(x, rows, ldx, wb, pairs, acc, n, j, nv, rq, y);
    } else {
      block_rows<true>(x, rows, ldx, wb, pairs, acc, n, j, nv, rq, y);
    }
  }
}

// Widens the span of x the rows cover into scratch.x16; the kernel reads kp >= k values per row
// (kp: k rounded up to even), and the padded weights are 0 beyond k, so the extra (zeroed) value
// never changes a sum.
BYTELITE_AVX2 const int16_t* widen_rows(const int8_t* x, int64_t rows, int64_t ldx,
                                        const PackedMatrix& w, KernelScratch& scratch) {
  const int64_t span = (rows - 1) * ldx + w.k;
  const int64_t need = (rows - 1) * ldx + w.kp;
  if (static_cast<int64_t>(scratch.x16.size()) < need) scratch.x16.resize(need);
  int16_t* x16 = scratch.x16.data();
  widen(x, span, x16);
  for (int64_t i = span; i < need; ++i) x16[i] = 0;
  return x16;
}

}  // namespace

void gemm_s8_avx2(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w, int32_t* acc,
                  KernelScratch& scratch) {
  if (rows <= 0 || w.n <= 0) return;
  gemm_avx2_impl(widen_rows(x, rows, ldx, w, scratch), rows, ldx, w.w16.data(), w.n, w.kp, acc,
                 nullptr, nullptr);
}

void gemm_requant_s8_avx2(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                          const RequantParams& p, int8_t* y, KernelScratch& scratch) {
  if (rows <= 0 || w.n <= 0) return;
  gemm_avx2_impl(widen_rows(x, rows, ldx, w, scratch), rows, ldx, w.w16.data(), w.n, w.kp, nullptr,
                 &p, y);
}

}  // namespace bytelite::rt

#else  // not x86: the AVX2 path is never selected (isa_supported returns false)

namespace bytelite::rt {
void gemm_s8_avx2(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w, int32_t* acc,
                  KernelScratch&) {
  gemm_s8_ref(x, rows, ldx, w, acc);
}
void gemm_requant_s8_avx2(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                          const RequantParams& p, int8_t* y, KernelScratch&) {
  std::vector<int32_t> acc(static_cast<size_t>(rows * w.n));
  gemm_s8_ref(x, rows, ldx, w, acc.data());
  requantize_ref(acc.data(), rows, p, y);
}
}  // namespace bytelite::rt

#endif

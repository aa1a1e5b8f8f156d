// Sums of table rows, requantized (kernels.h tap_sums_requant): the reference loops, the AVX2
// path and the dispatch; the AVX-512 path is in gemm_avx512.cc beside the epilogue it shares.
#include "runtime/kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace bytelite::rt {

void tap_sums_requant_ref(const int32_t* tab, int64_t rows, int64_t k, int64_t n,
                          const int32_t* ids, int64_t T, int64_t pad_row, const RequantParams& p,
                          int8_t* y, std::vector<int32_t>& acc) {
  if (static_cast<int64_t>(acc.size()) < T * n) acc.resize(static_cast<size_t>(T * n));
  for (int64_t t = 0; t < T; ++t) {
    int32_t* at = acc.data() + t * n;
    for (int64_t ch = 0; ch < n; ++ch) at[ch] = 0;
    for (int64_t j = 0; j < k; ++j) {
      const int32_t* r = tap_row(tab, rows, k, n, ids, t, j, pad_row);
      for (int64_t ch = 0; ch < n; ++ch) at[ch] += r[ch];
    }
  }
  requantize_ref(acc.data(), T, p, y);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) void tap_sums_requant_avx2(const int32_t* tab, int64_t rows,
                                                           int64_t k, int64_t n, const int32_t* ids,
                                                           int64_t T, int64_t pad_row,
                                                           const RequantParams& p, int8_t* y,
                                                           std::vector<int32_t>& acc) {
  if (static_cast<int64_t>(acc.size()) < T * n) acc.resize(static_cast<size_t>(T * n));
  for (int64_t t = 0; t < T; ++t) {
    int32_t* at = acc.data() + t * n;
    int64_t ch = 0;
    for (; ch + 8 <= n; ch += 8) {
      __m256i v = _mm256_setzero_si256();
      for (int64_t j = 0; j < k; ++j) {
        const int32_t* r = tap_row(tab, rows, k, n, ids, t, j, pad_row);
        v = _mm256_add_epi32(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r + ch)));
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(at + ch), v);
    }
    for (; ch < n; ++ch) {
      int32_t v = 0;
      for (int64_t j = 0; j < k; ++j) v += tap_row(tab, rows, k, n, ids, t, j, pad_row)[ch];
      at[ch] = v;
    }
  }
  requantize_avx2(acc.data(), T, p, y);
}
#else
void tap_sums_requant_avx2(const int32_t* tab, int64_t rows, int64_t k, int64_t n,
                           const int32_t* ids, int64_t T, int64_t pad_row, const RequantParams& p,
                           int8_t* y, std::vector<int32_t>& acc) {
  tap_sums_requant_ref(tab, rows, k, n, ids, T, pad_row, p, y, acc);
}
#endif

void tap_sums_requant(Isa isa, const int32_t* tab, int64_t rows, int64_t k, int64_t n,
                      const int32_t* ids, int64_t T, int64_t pad_row, const RequantParams& p,
                      int8_t* y, std::vector<int32_t>& acc) {
  if (isa == Isa::kAvx512Vnni && isa_supported(Isa::kAvx512Vnni) && !p.m0_16.empty()) {
    tap_sums_requant_avx512(tab, rows, k, n, ids, T, pad_row, p, y);
  } else if (isa != Isa::kReference && isa_supported(Isa::kAvx2)) {
    tap_sums_requant_avx2(tab, rows, k, n, ids, T, pad_row, p, y, acc);
  } else {
    tap_sums_requant_ref(tab, rows, k, n, ids, T, pad_row, p, y, acc);
  }
}

}  // namespace bytelite::rt

// The int8 GEMM kernel: weight packing for every path, the reference loops (the ground truth)
// and the dispatch; the optimized paths are gemm_avx2.cc and gemm_avx512.cc beside it.
#include <cstddef>

#include "runtime/kernels/kernels.h"

namespace bytelite::rt {

PackedMatrix pack_matrix(const int8_t* w, int64_t n, int64_t k, Isa up_to) {
  PackedMatrix p;
  pack_matrix_into(p, w, n, k, up_to, true);
  return p;
}

void pack_matrix_into(PackedMatrix& p, const int8_t* w, int64_t n, int64_t k, Isa up_to,
                      bool all_paths) {
  p.n = n;
  p.k = k;
  p.w = w;
  p.kp = (k + 1) / 2 * 2;
  p.kp4 = (k + 3) / 4 * 4;
  p.np16 = (n + 15) / 16 * 16;
  if (isa_supported(Isa::kAvx2) && (up_to == Isa::kAvx2 || (all_paths && up_to > Isa::kAvx2))) {
    // [np16 / 16][kp / 2][16][2]: per block of 16 channels and k pair (i, i + 1), each
    // channel's two weights side by side (one int32 lane of _mm256_madd_epi16)
    const int64_t pairs = p.kp / 2;
    p.w16.assign(static_cast<size_t>(p.np16 * p.kp), 0);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t blk = j / 16, lane = j % 16;
      for (int64_t i = 0; i < k; ++i)
        p.w16[((blk * pairs + i / 2) * 16 + lane) * 2 + i % 2] = w[j * k + i];
    }
  } else {
    p.w16.clear();
  }
  if (isa_supported(Isa::kAvx512Vnni) && up_to >= Isa::kAvx512Vnni) {
    const int64_t groups = p.kp4 / 4;
    p.wvnni.assign(static_cast<size_t>(p.np16 * p.kp4), 0);
    p.corr.assign(static_cast<size_t>(p.np16), 0);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t blk = j / 16, lane = j % 16;
      for (int64_t i = 0; i < k; ++i) {
        const int64_t g = i / 4, b = i % 4;
        p.wvnni[((blk * groups + g) * 16 + lane) * 4 + b] = w[j * k + i];
        p.corr[j] += 128 * w[j * k + i];
      }
    }
  } else {
    p.wvnni.clear();
  }
}

void gemm_s8_ref(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w, int32_t* acc) {
  const int64_t n = w.n, k = w.k;
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t* xr = x + r * ldx;
    for (int64_t j = 0; j < n; ++j) {
      const int8_t* wj = w.w + j * k;
      int32_t s = 0;
      for (int64_t i = 0; i < k; ++i)
        s += static_cast<int32_t>(xr[i]) * static_cast<int32_t>(wj[i]);
      acc[r * n + j] = s;
    }
  }
}

void gemm_s8(Isa isa, const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
             int32_t* acc, KernelScratch& scratch) {
  if (isa == Isa::kAvx512Vnni && !w.wvnni.empty()) {
    gemm_s8_avx512vnni(x, rows, ldx, w, acc, scratch);
  } else if (isa != Isa::kReference && !w.w16.empty()) {
    gemm_s8_avx2(x, rows, ldx, w, acc, scratch);
  } else {
    gemm_s8_ref(x, rows, ldx, w, acc);
  }
}

void gemm_requant_s8(Isa isa, const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                     const RequantParams& p, int8_t* y, std::vector<int32_t>& acc,
                     KernelScratch& scratch) {
  if (isa == Isa::kAvx512Vnni && !w.wvnni.empty() && !p.m0_16.empty()) {
    gemm_requant_s8_avx512vnni(x, rows, ldx, w, p, y, scratch);
    return;
  }
  // the AVX2 GEMM where gemm_s8 would run it (isa avx2, or avx512vnni on a matrix without the
  // VNNI layout)
  if (isa != Isa::kReference && !w.w16.empty() && !p.m0_v.empty()) {
    gemm_requant_s8_avx2(x, rows, ldx, w, p, y, scratch);
    return;
  }
  if (static_cast<int64_t>(acc.size()) < rows * w.n) acc.resize(static_cast<size_t>(rows * w.n));
  gemm_s8(isa, x, rows, ldx, w, acc.data(), scratch);
  requantize(isa, acc.data(), rows, p, y);
}

}  // namespace bytelite::rt

// Reference int8 GEMM: the ground truth for every optimized path.
#include "runtime/kernels/kernels.h"

namespace bytelite::rt {

void gemm_s8_ref(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w, int32_t* acc) {
  const int64_t n = w.n, k = w.k;
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t* xr = x + r * ldx;
    for (int64_t j = 0; j < n; ++j) {
      const int8_t* wj = w.w + j * k;
      int32_t s = 0;
      for (int64_t i = 0; i < k; ++i) s += static_cast<int32_t>(xr[i]) * static_cast<int32_t>(wj[i]);
      acc[r * n + j] = s;
    }
  }
}

}  // namespace bytelite::rt

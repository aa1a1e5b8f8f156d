// Reference kernels: plain C++, the ground truth for every optimized path.
#include "runtime/kernels/kernels.h"

namespace bytelite::rt {

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

void qrnn_pool_ref(const int8_t* g, int64_t T, int64_t S, bool reverse, const QrnnTables& tab,
                   int8_t* y, int64_t ldy, float* state) {
  for (int64_t j = 0; j < S; ++j) state[j] = 0.0f;
  for (int64_t i = 0; i < T; ++i) {
    const int64_t t = reverse ? T - 1 - i : i;
    const int8_t* gt = g + t * 3 * S;
    int8_t* yt = y + t * ldy;
    for (int64_t j = 0; j < S; ++j)
      yt[j] = qrnn_step(gt[j], gt[S + j], gt[2 * S + j], tab, &state[j]);
  }
}

}  // namespace bytelite::rt

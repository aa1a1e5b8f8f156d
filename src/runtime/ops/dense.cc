// Op dense: y = requant(x · Wᵀ) (ops.h DenseLayer): the GEMM kernel, then per-channel
// requantization (kernels/gemm*.cc, kernels/requantize*.cc).
#include "runtime/ops/ops.h"

namespace bytelite::rt {

void dense(const OpContext& c, const DenseLayer& layer, const int8_t* x, int64_t rows, int64_t ldx,
           int8_t* y) {
  OpScratch& s = c.scratch;
  const int64_t n = layer.w.n;
  if (static_cast<int64_t>(s.acc.size()) < rows * n) s.acc.resize(rows * n);
  gemm_s8(c.isa, x, rows, ldx, layer.w, s.acc.data(), s.kernel);
  requantize(c.isa, s.acc.data(), rows, layer.rq, y);
}

}  // namespace bytelite::rt

// Op dense: y = requant(x · Wᵀ) (ops.h DenseLayer): the GEMM kernel, then per-channel
// requantization (kernels/gemm*.cc, kernels/requantize*.cc; fused on the AVX-512 VNNI path).
#include "runtime/ops/ops.h"

namespace bytelite::rt {

void dense(const OpContext& c, const DenseLayer& layer, const int8_t* x, int64_t rows, int64_t ldx,
           int8_t* y) {
  OpScratch& s = c.scratch;
  gemm_requant_s8(c.isa, x, rows, ldx, layer.w, layer.rq, y, s.acc, s.kernel);
}

}  // namespace bytelite::rt

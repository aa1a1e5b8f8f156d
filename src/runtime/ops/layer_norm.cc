// Op layer_norm (ops.h LayerNormLayer): the row statistics, then the row kernel of the path,
// kernels/layer_norm.cc (reference) or kernels/layer_norm_avx2.cc.
#include <algorithm>
#include <cmath>

#include "runtime/ops/ops.h"

namespace bytelite::rt {

void layer_norm(Isa isa, const LayerNormLayer& l, const int8_t* x, int64_t T, int64_t D,
                int8_t* y) {
  const bool avx2 = isa != Isa::kReference && isa_supported(Isa::kAvx2);
  const int32_t z = l.in.zero_point;
  const double s = l.in.scale;
  for (int64_t t = 0; t < T; ++t) {
    const int8_t* xt = x + t * D;
    int64_t s1 = 0, s2 = 0;
    for (int64_t c = 0; c < D; ++c) {
      const int64_t v = xt[c] - z;
      s1 += v;
      s2 += v * v;
    }
    const double mean = static_cast<double>(s1) / static_cast<double>(D);
    const double var =
        std::max(0.0, static_cast<double>(s2) / static_cast<double>(D) - mean * mean);
    const double a = s / std::sqrt(var * s * s + l.epsilon);
    int8_t* yt = y + t * D;
    if (avx2) {
      layer_norm_row_avx2(xt, D, z, mean, a, l.gamma_s.data(), l.beta_s.data(), l.out.zero_point,
                          yt);
    } else {
      layer_norm_row_ref(xt, D, z, mean, a, l.gamma_s.data(), l.beta_s.data(), l.out.zero_point,
                         yt);
    }
  }
}

}  // namespace bytelite::rt

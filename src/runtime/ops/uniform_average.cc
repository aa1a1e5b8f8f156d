// Op uniform_average: the MAtt decoder's running sum of the uniform-attention values, reordered
// by the parent beam, and its cumulative average (decoder.h uniform_causal_average).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>

#include "bytelite/errors.h"
#include "runtime/ops/decoder.h"

namespace bytelite::rt {

static_assert(FLT_EVAL_METHOD == 0,
              "float expressions must be evaluated in single precision (SSE, not x87)");

void uniform_causal_average(const int8_t* v, QParams vq, int64_t beam, int64_t D, int32_t t,
                            const int32_t* parents, const double* cur, double* next, QParams out_q,
                            int8_t* out) {
  if (t < 1) {
    throw InvalidArgument("uniform causal average: time step " + std::to_string(t) + " < 1");
  }
  if (t > 1 && cur != nullptr) check_parents(parents, beam);
  const float sv = vq.scale;
  const int32_t zv = vq.zero_point;
  const float tf = static_cast<float>(t);
  const float inv = 1.0f / out_q.scale;  // as torch's fake quantizer
  for (int64_t i = 0; i < beam; ++i) {
    const double* prev = (t == 1 || cur == nullptr) ? nullptr : cur + parents[i] * D;
    const int8_t* vi = v + i * D;
    double* ni = next + i * D;
    int8_t* oi = out + i * D;
    for (int64_t c = 0; c < D; ++c) {
      // the fake quantizer's value fl((q - z) s), summed in double (exact for these terms)
      const double term = static_cast<double>(static_cast<float>(vi[c] - zv) * sv);
      const double sum = (prev != nullptr ? prev[c] : 0.0) + term;
      ni[c] = sum;
      const float avg = static_cast<float>(sum) / tf;
      const float q = std::nearbyint(avg * inv) + static_cast<float>(out_q.zero_point);
      oi[c] = static_cast<int8_t>(std::min(127.0f, std::max(-128.0f, q)));
    }
  }
}

}  // namespace bytelite::rt

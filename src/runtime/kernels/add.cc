// Reference kernel of the add op (the ground truth; the AVX2 path is add_avx2.cc beside it):
// y = clamp(rne(fl(fl((a - za) sa) + fl((b - zb) sb)) * inv_out) + z_out), operation by
// operation in IEEE single precision as the training graph computes it.
#include <algorithm>
#include <cfloat>

#include "runtime/kernels/kernels.h"

namespace bytelite::rt {

static_assert(FLT_EVAL_METHOD == 0,
              "float expressions must be evaluated in single precision (SSE, not x87)");

namespace {
// Round to nearest, ties to even, without a libm call (vectorizable): adding and subtracting
// 1.5 * 2^23 leaves no fraction bits for |x| below 2^22; clamped first (every result is clamped
// to int8 afterwards anyway).
inline float round_even_f(float x) {
  x = std::min(4194304.0f, std::max(-4194304.0f, x));
  return (x + 12582912.0f) - 12582912.0f;
}
}  // namespace

void add_ref(const int8_t* a, float sa, int32_t za, const int8_t* b, float sb, int32_t zb,
             int64_t n, float inv_out, int32_t z_out, int8_t* y) {
  for (int64_t i = 0; i < n; ++i) {
    const float xa = static_cast<float>(a[i] - za) * sa;
    const float xb = static_cast<float>(b[i] - zb) * sb;
    const float r = round_even_f((xa + xb) * inv_out);
    const float q = r + static_cast<float>(z_out);
    y[i] = static_cast<int8_t>(std::min(127.0f, std::max(-128.0f, q)));
  }
}

}  // namespace bytelite::rt

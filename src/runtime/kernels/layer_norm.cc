// Reference row kernel of the layer_norm op (the ground truth; the AVX2 path is
// layer_norm_avx2.cc beside it): y_c = clamp(z_out + rne(((x_c - z) - mean) a gamma_s[c] +
// beta_s[c])) in double.
#include <algorithm>

#include "runtime/kernels/kernels.h"

namespace bytelite::rt {

namespace {
// Round to nearest, ties to even, without a libm call: adding and subtracting 1.5 * 2^52 leaves
// no fraction bits for |x| below 2^51; clamped first (every result is clamped to int8 anyway).
inline double round_even_d(double x) {
  x = std::min(1e9, std::max(-1e9, x));
  return (x + 6755399441055744.0) - 6755399441055744.0;
}
}  // namespace

void layer_norm_row_ref(const int8_t* x, int64_t D, int32_t z, double mean, double a,
                        const double* gamma_s, const double* beta_s, int32_t z_out, int8_t* y) {
  for (int64_t c = 0; c < D; ++c) {
    const double v = (static_cast<double>(x[c] - z) - mean) * a * gamma_s[c] + beta_s[c];
    const double q = round_even_d(v) + z_out;
    y[c] = static_cast<int8_t>(std::min(127.0, std::max(-128.0, q)));
  }
}

}  // namespace bytelite::rt

#include "runtime/quant.h"

#include <cmath>

namespace bytelite::rt {

bool make_multiplier(double m, Multiplier* out) {
  if (!std::isfinite(m) || m <= 0.0 || m >= 1073741824.0) return false;  // 2^30
  int e = 0;
  const double frac = std::frexp(m, &e);  // m = frac * 2^e, frac in [0.5, 1)
  int64_t m0 = std::llround(frac * 2147483648.0);
  if (m0 == (int64_t{1} << 31)) {
    m0 >>= 1;
    ++e;
  }
  int shift = 31 - e;
  if (shift > 62) {
    const int extra = shift - 62;
    m0 = extra >= 32 ? 0 : (m0 + (int64_t{1} << (extra - 1))) >> extra;
    shift = 62;
  }
  if (shift < 1) return false;
  out->m0 = static_cast<int32_t>(m0);
  out->shift = shift;
  return true;
}

}  // namespace bytelite::rt

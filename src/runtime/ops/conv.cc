// Op conv: a window of positions (causal or reverse) over the zero-point padded sequence, then
// dense with overlapping rows (row stride = channels, no im2col). This file: the padding.
#include <algorithm>
#include <cstring>

#include "runtime/ops/ops.h"

namespace bytelite::rt {

void pad_rows(const int8_t* x, int64_t T, int64_t C, int64_t before, int64_t after, int32_t zp,
              std::vector<int8_t>& out) {
  const int64_t total = (before + T + after) * C;
  if (static_cast<int64_t>(out.size()) < total) out.resize(total);
  const int8_t z = static_cast<int8_t>(zp);
  std::fill(out.begin(), out.begin() + before * C, z);
  std::memcpy(out.data() + before * C, x, static_cast<size_t>(T * C));
  std::fill(out.begin() + (before + T) * C, out.begin() + total, z);
}

}  // namespace bytelite::rt

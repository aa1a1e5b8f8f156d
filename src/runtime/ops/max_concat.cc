// Op max_concat: pooling "attention_max", [attention pooling; max over positions] requantized to
// the shared concat params (ops.h attention_max_concat).
#include <algorithm>

#include "runtime/ops/ops.h"
#include "runtime/ops/taps.h"

namespace bytelite::rt {

void attention_max_concat(const OpContext& c, const AttentionPoolLayer& p, const int8_t* pooled,
                          const int8_t* x, int64_t T, int64_t D, int8_t* y) {
  OpTimer tm(c.profile, Op::kMaxConcat);
  std::vector<int32_t>& acc = c.scratch.acc;
  grow(acc, D);
  for (int64_t ch = 0; ch < D; ++ch) acc[ch] = pooled[ch] - p.out.zero_point;
  requantize(c.isa, acc.data(), 1, p.pooled_to_concat, y);
  // max over the positions, row by row (contiguous channels: the loop vectorizes)
  int32_t* __restrict mx = acc.data();
  for (int64_t ch = 0; ch < D; ++ch) mx[ch] = -128;
  for (int64_t t = 0; t < T; ++t) {
    const int8_t* __restrict xt = x + t * D;
    for (int64_t ch = 0; ch < D; ++ch) mx[ch] = std::max<int32_t>(mx[ch], xt[ch]);
  }
  for (int64_t ch = 0; ch < D; ++ch) acc[ch] -= p.score.in.zero_point;
  requantize(c.isa, acc.data(), 1, p.max_to_concat, y + D);
  c.tap(taps::kPoolConcat, y, 1, 2 * D, p.concat);
}

}  // namespace bytelite::rt

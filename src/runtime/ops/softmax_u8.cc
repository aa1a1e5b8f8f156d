// The integer softmax of int8 logits to [0, 1] (ops width_softmax and attention_softmax, and the
// softmax inside attention).
#include <algorithm>

#include "runtime/ops/ops.h"

namespace bytelite::rt {

void softmax_u8(const int8_t* q, int64_t n, int64_t stride, const uint32_t* exp_table, int8_t* p,
                int64_t p_stride) {
  int32_t mx = -128;
  for (int64_t i = 0; i < n; ++i) mx = std::max<int32_t>(mx, q[i * stride]);
  int64_t sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += exp_table[mx - q[i * stride]];
  // exp_table[0] = 2^30 > 0, so sum > 0; sum <= n 2^30 < 2^40 for n < 2^10 positions, beyond
  // that the plain division.
  if (sum < (int64_t{1} << 40)) {
    const InvariantDivisor div(static_cast<uint64_t>(sum));
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t e = exp_table[mx - q[i * stride]];
      p[i * p_stride] = saturate_int8(static_cast<int32_t>(div.div_round_half_even(255 * e)) - 128);
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t e = exp_table[mx - q[i * stride]];
    p[i * p_stride] = saturate_int8(static_cast<int32_t>(div_round_half_even(255 * e, sum)) - 128);
  }
}

}  // namespace bytelite::rt

// Class probabilities from the int8 logits. The logits are quantized (head output params), so
// their exponentials come from a 256-entry table computed at export; the remaining float steps
// (a sum in class order and one division per class) are exactly rounded IEEE operations, and the
// runtime is compiled with -ffp-contract=off, so results are identical on every CPU.
#include <algorithm>

#include "runtime/ops/ops.h"

namespace bytelite::rt {

void probabilities(const int8_t* logits, int64_t C, bool multilabel, const float* exp_table,
                   const float* sigmoid_table, float* p) {
  if (multilabel) {
    for (int64_t c = 0; c < C; ++c) p[c] = sigmoid_table[logits[c] + 128];
    return;
  }
  int32_t mx = -128;
  for (int64_t c = 0; c < C; ++c) mx = std::max<int32_t>(mx, logits[c]);
  float sum = 0.0f;
  for (int64_t c = 0; c < C; ++c) sum += exp_table[mx - logits[c]];
  for (int64_t c = 0; c < C; ++c) p[c] = exp_table[mx - logits[c]] / sum;
}

}  // namespace bytelite::rt

// Op max_concat: pooling "attention_max", [attention pooling; max over positions] requantized to
// the shared concat params (ops.h attention_max_concat).
#include <algorithm>

#include "runtime/ops/ops.h"
#include "runtime/ops/taps.h"

namespace bytelite::rt {

namespace {

// mx [D] = max(-128, max_t x_tc), rows read in order (contiguous channels); the AVX2 and AVX-512
// clones vectorize the channel loop wider than the baseline build. Integer maxima: the same
// values on every path.
inline __attribute__((always_inline)) void column_max_body(const int8_t* x, int64_t T, int64_t D,
                                                           int32_t* __restrict mx) {
  for (int64_t ch = 0; ch < D; ++ch) mx[ch] = -128;
  for (int64_t t = 0; t < T; ++t) {
    const int8_t* __restrict xt = x + t * D;
    for (int64_t ch = 0; ch < D; ++ch) mx[ch] = std::max<int32_t>(mx[ch], xt[ch]);
  }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) void column_max_avx2(const int8_t* x, int64_t T, int64_t D,
                                                     int32_t* mx) {
  column_max_body(x, T, D, mx);
}
__attribute__((target("avx2,avx512f,avx512bw,avx512vl"))) void column_max_avx512(const int8_t* x,
                                                                                 int64_t T,
                                                                                 int64_t D,
                                                                                 int32_t* mx) {
  column_max_body(x, T, D, mx);
}
#endif

void column_max(Isa isa, const int8_t* x, int64_t T, int64_t D, int32_t* mx) {
#if defined(__x86_64__) || defined(__i386__)
  if (isa == Isa::kAvx512Vnni && isa_supported(Isa::kAvx512Vnni)) {
    column_max_avx512(x, T, D, mx);
    return;
  }
  if (isa != Isa::kReference && isa_supported(Isa::kAvx2)) {
    column_max_avx2(x, T, D, mx);
    return;
  }
#endif
  column_max_body(x, T, D, mx);
}

}  // namespace

void attention_max_concat(const OpContext& c, const AttentionPoolLayer& p, const int8_t* pooled,
                          const int8_t* x, int64_t T, int64_t D, int8_t* y) {
  OpTimer tm(c.profile, Op::kMaxConcat);
  std::vector<int32_t>& acc = c.scratch.acc;
  grow(acc, D);
  for (int64_t ch = 0; ch < D; ++ch) acc[ch] = pooled[ch] - p.out.zero_point;
  requantize(c.isa, acc.data(), 1, p.pooled_to_concat, y);
  // max over the positions, row by row
  column_max(c.isa, x, T, D, acc.data());
  for (int64_t ch = 0; ch < D; ++ch) acc[ch] -= p.score.in.zero_point;
  requantize(c.isa, acc.data(), 1, p.max_to_concat, y + D);
  c.tap(taps::kPoolConcat, y, 1, 2 * D, p.concat);
}

}  // namespace bytelite::rt

// Attention pooling (SeqFlowLite spec §2.7 without the original's ReLU + BN on the logits;
// src/train/layers.cc AttentionPoolImpl): a linear score per position, softmax over the
// positions, and the probability-weighted sum of the inputs.
#include <algorithm>

#include "runtime/ops/ops.h"
#include "runtime/ops/taps.h"

namespace bytelite::rt {

namespace {

// acc [D] = Σ_t (alpha_t + 128) (x_tc - zx), in int32 (exact: see attention_pool). The AVX2 and
// AVX-512 clones vectorize the channel loop (the baseline x86-64 build has no 32-bit vector
// multiply); integer sums, so every path gives the same values.
inline __attribute__((always_inline)) void weighted_sum_body(const int8_t* alpha, const int8_t* x,
                                                             int64_t T, int64_t D, int32_t zx,
                                                             int32_t* __restrict acc) {
  for (int64_t ch = 0; ch < D; ++ch) acc[ch] = 0;
  for (int64_t t = 0; t < T; ++t) {
    const int32_t a = alpha[t] + 128;
    if (a == 0) continue;
    const int8_t* __restrict xt = x + t * D;
    for (int64_t ch = 0; ch < D; ++ch) acc[ch] += a * (xt[ch] - zx);
  }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) void weighted_sum_avx2(const int8_t* alpha, const int8_t* x,
                                                       int64_t T, int64_t D, int32_t zx,
                                                       int32_t* acc) {
  weighted_sum_body(alpha, x, T, D, zx, acc);
}
__attribute__((target("avx2,avx512f,avx512bw,avx512vl"))) void weighted_sum_avx512(
    const int8_t* alpha, const int8_t* x, int64_t T, int64_t D, int32_t zx, int32_t* acc) {
  weighted_sum_body(alpha, x, T, D, zx, acc);
}
#endif

void weighted_sum(Isa isa, const int8_t* alpha, const int8_t* x, int64_t T, int64_t D, int32_t zx,
                  int32_t* acc) {
#if defined(__x86_64__) || defined(__i386__)
  if (isa == Isa::kAvx512Vnni && isa_supported(Isa::kAvx512Vnni)) {
    weighted_sum_avx512(alpha, x, T, D, zx, acc);
    return;
  }
  if (isa != Isa::kReference && isa_supported(Isa::kAvx2)) {
    weighted_sum_avx2(alpha, x, T, D, zx, acc);
    return;
  }
#endif
  weighted_sum_body(alpha, x, T, D, zx, acc);
}

}  // namespace

void attention_pool(const OpContext& c, const AttentionPoolLayer& p, const int8_t* x, int64_t T,
                    int64_t D, int8_t* y) {
  OpScratch& s = c.scratch;
  Profile* prof = c.profile;
  if (static_cast<int64_t>(s.buf4.size()) < 2 * T) s.buf4.resize(2 * T);
  int8_t* logits = s.buf4.data();
  int8_t* alpha = logits + T;
  {
    OpTimer tm(prof, Op::kDense);
    dense(c, p.score, x, T, D, logits);
  }
  {
    OpTimer tm(prof, Op::kAttentionSoftmax);
    softmax_u8(logits, T, 1, p.score_exp.data(), alpha, 1);
  }
  c.tap(taps::kPoolLogits, logits, T, 1, p.score.out);
  c.tap(taps::kPoolAlpha, alpha, T, 1, kUnitParams);
  OpTimer tm(prof, Op::kAttentionSum);
  // y_c = z_out + M Σ_t (alpha_t + 128) (x_tc - z_x), M = s_x / (255 s_out). Σ_t (alpha_t + 128)
  // <= 255 + T/2, so |acc| < 2^31 for every T the tokenizer allows.
  const int32_t zx = p.score.in.zero_point;
  if (static_cast<int64_t>(s.acc.size()) < D) s.acc.resize(D);
  int32_t* acc = s.acc.data();
  weighted_sum(c.isa, alpha, x, T, D, zx, acc);
  requantize(c.isa, acc, 1, p.sum_rq, y);
}

}  // namespace bytelite::rt

// Attention pooling (SeqFlowLite spec §2.7 without the original's ReLU + BN on the logits;
// src/train/layers.cc AttentionPoolImpl): a linear score per position, softmax over the
// positions, and the probability-weighted sum of the inputs.
#include "runtime/ops/ops.h"

namespace bytelite::rt {

void attention_pool(Isa isa, const AttentionPoolLayer& p, const int8_t* x, int64_t T, int64_t D,
                    int8_t* y, OpScratch& s, Trace* trace, Profile* prof) {
  if (static_cast<int64_t>(s.buf4.size()) < 2 * T) s.buf4.resize(2 * T);
  int8_t* logits = s.buf4.data();
  int8_t* alpha = logits + T;
  {
    OpTimer tm(prof, Op::kDense);
    dense(isa, p.score, x, T, D, logits, s);
  }
  {
    OpTimer tm(prof, Op::kAttentionSoftmax);
    softmax_u8(logits, T, 1, p.score_exp.data(), alpha, 1);
  }
  if (trace) {
    trace->add("pool.logits", logits, T, 1, p.score.out);
    trace->add("pool.alpha", alpha, T, 1, kUnitParams);
  }
  OpTimer tm(prof, Op::kAttentionSum);
  // y_c = z_out + M Σ_t (alpha_t + 128) (x_tc - z_x), M = s_x / (255 s_out). Σ_t (alpha_t + 128)
  // <= 255 + T/2, so |acc| < 2^31 for every T the tokenizer allows.
  const int32_t zx = p.score.in.zero_point;
  if (static_cast<int64_t>(s.acc.size()) < D) s.acc.resize(D);
  int32_t* acc = s.acc.data();
  for (int64_t c = 0; c < D; ++c) acc[c] = 0;
  for (int64_t t = 0; t < T; ++t) {
    const int32_t a = alpha[t] + 128;
    if (a == 0) continue;
    const int8_t* xt = x + t * D;
    for (int64_t c = 0; c < D; ++c) acc[c] += a * (xt[c] - zx);
  }
  requantize(isa, acc, 1, p.sum_rq, y);
}

void attention_max_concat(Isa isa, const AttentionPoolLayer& p, const int8_t* pooled,
                          const int8_t* x, int64_t T, int64_t D, int8_t* y,
                          std::vector<int32_t>& acc) {
  acc.resize(static_cast<size_t>(D));
  for (int64_t c = 0; c < D; ++c) acc[c] = pooled[c] - p.out.zero_point;
  requantize(isa, acc.data(), 1, p.pooled_to_concat, y);
  for (int64_t c = 0; c < D; ++c) {
    int32_t mx = -128;
    for (int64_t t = 0; t < T; ++t) mx = std::max<int32_t>(mx, x[t * D + c]);
    acc[c] = mx - p.score.in.zero_point;
  }
  requantize(isa, acc.data(), 1, p.max_to_concat, y + D);
}

}  // namespace bytelite::rt

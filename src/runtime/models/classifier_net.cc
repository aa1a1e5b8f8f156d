#include "runtime/models/classifier_net.h"

#include <algorithm>
#include <cstring>

#include "runtime/encoders/encoder_unit.h"
#include "runtime/ops/taps.h"

namespace bytelite::rt {

ClassifierEncoding classifier_encode(const OpContext& c, const ClassifierNet& m, const int32_t* ids,
                                     int64_t T, std::vector<int8_t>& a, std::vector<int8_t>& b) {
  return runtime_encoder_unit(m.kind).encode(c, m, ids, T, a, b);
}

void classifier_forward(const OpContext& c, const ClassifierNet& m, const int32_t* ids, int64_t T,
                        Workspace& ws, int8_t* logits) {
  const ClassifierEncoding e = classifier_encode(c, m, ids, T, ws.a, ws.b);
  std::vector<int8_t>* cur = e.buffer;
  std::vector<int8_t>* nxt = cur == &ws.a ? &ws.b : &ws.a;
  const int64_t L = e.length, C = e.width;
  // Attention pooling and head.
  int8_t* pooled = grow(*nxt, C);
  attention_pool(c, m.pool, cur->data(), L, C, pooled);
  c.tap(taps::kPool, pooled, 1, C, m.pool.out);
  const int8_t* head_in = pooled;
  int64_t head_width = C;
  if (m.pool.max_pool) {
    int8_t* cat = grow(ws.concat, 2 * C);
    attention_max_concat(c, m.pool, pooled, cur->data(), L, C, cat);
    head_in = cat;
    head_width = 2 * C;
  }
  {
    OpTimer tm(c.profile, Op::kDense);
    dense(c, m.head, head_in, 1, head_width, logits);
  }
  c.tap(taps::kLogits, logits, 1, m.head.w.n, m.head.out);
}

void classifier_forward_batch(const OpContext& c, const ClassifierNet& m, const int32_t* ids,
                              const int64_t* lens, int64_t N, Workspace& ws, int8_t* logits) {
  if (N <= 0) return;
  const int64_t num_labels = m.head.w.n;
  const OpContext quiet{c.isa, c.scratch, nullptr, c.profile};
  // Encoders with a batched forward (ByteQRNN: embedding, bottleneck, GBST, QRNN) run packed;
  // the others (Transformer, pQRNN) text by text inside the batch call.
  const RuntimeEncoderUnit& unit = runtime_encoder_unit(m.kind);
  if (unit.encode_batch == nullptr || N == 1) {
    int64_t start = 0;
    for (int64_t i = 0; i < N; ++i) {
      classifier_forward(quiet, m, ids + start, lens[i], ws, logits + i * num_labels);
      start += lens[i];
    }
    return;
  }
  Profile* prof = c.profile;
  const BatchEncoding e = unit.encode_batch(quiet, m, ids, lens, N, ws);
  const std::vector<int8_t>* cur = e.buffer;
  const int64_t* glen = e.lens;
  const int64_t C = e.width;
  // Attention pooling per text, then the head over every text as one GEMM.
  const int64_t head_width = m.pool.max_pool ? 2 * C : C;
  int8_t* head_in = grow(ws.pooled, N * head_width);
  int8_t* pooled = grow(ws.concat, C);
  int64_t row = 0;
  for (int64_t i = 0; i < N; ++i) {
    const int8_t* xi = cur->data() + row * C;
    if (m.pool.max_pool) {
      attention_pool(quiet, m.pool, xi, glen[i], C, pooled);
      attention_max_concat(quiet, m.pool, pooled, xi, glen[i], C, head_in + i * head_width);
    } else {
      attention_pool(quiet, m.pool, xi, glen[i], C, head_in + i * head_width);
    }
    row += glen[i];
  }
  OpTimer tm(prof, Op::kDense);
  dense(quiet, m.head, head_in, N, head_width, logits);
}

}  // namespace bytelite::rt

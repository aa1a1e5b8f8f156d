#include "runtime/models/classifier_net.h"

#include <algorithm>
#include <cstring>

#include "runtime/ops/taps.h"

namespace bytelite::rt {

ClassifierEncoding classifier_encode(const OpContext& c, const ClassifierNet& m, const int32_t* ids,
                                     int64_t T, std::vector<int8_t>& a, std::vector<int8_t>& b) {
  const Isa isa = c.isa;
  Profile* prof = c.profile;
  const int64_t F = m.embedding_size;
  // Embedding: rows of the table, already quantized with the embedding output params.
  int8_t* x = grow(a, T * F);
  {
    OpTimer tm(prof, Op::kEmbedding);
    embedding(m.embedding, F, ids, T, x);
  }
  c.tap(taps::kEmbedding, x, T, F, m.embedding_q);
  QParams xq = m.embedding_q;
  if (m.transformer) {
    // + position embedding of positions 0..T-1, then layer norm
    int8_t* xn = grow(b, T * F);
    {
      OpTimer tm(prof, Op::kAdd);
      add(isa, x, m.embedding_q, m.position, m.position_q, T * F, m.embedding_norm.in, x);
    }
    {
      OpTimer tm(prof, Op::kLayerNorm);
      layer_norm(isa, m.embedding_norm, x, T, F, xn);
    }
    std::swap(a, b);
    x = a.data();
    xq = m.embedding_norm.out;
    c.tap(taps::kEmbeddingNorm, x, T, F, xq);
  }

  // Bottleneck: dense F -> Bn (ByteQRNN: ReLU, batch norm folded).
  const int64_t Bn = m.has_bottleneck ? m.bottleneck.w.n : F;
  int8_t* xb = x;
  if (m.has_bottleneck) {
    xb = grow(b, T * Bn);
    {
      OpTimer tm(prof, Op::kDense);
      dense(c, m.bottleneck, x, T, F, xb);
    }
    c.tap(taps::kBottleneck, xb, T, Bn, m.bottleneck.out);
  } else {
    std::swap(a, b);  // the GBST input lives in b
    xb = b.data();
  }

  // GBST: [T, Bn] -> [T', Bn].
  const int64_t tg = (T + m.gbst.downsample_rate - 1) / m.gbst.downsample_rate;
  int8_t* h = grow(a, tg * Bn);
  int64_t L = gbst(c, m.gbst, xb, T, h);
  int64_t C = Bn;

  std::vector<int8_t>* cur = &a;
  std::vector<int8_t>* nxt = &b;
  // Transformer stack: [L, D] -> [L', D], alternating between the two buffers.
  QParams hq = m.gbst.mix;
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const auto& layer = m.layers[i];
    int8_t* y = grow(*nxt, L * C);
    L = transformer_layer(c, layer, cur->data(), L, C, hq, y, taps::transformer_layer(i));
    hq = layer.norm2.out;
    std::swap(cur, nxt);
  }
  // QRNN stack: [L, C] -> [L, 2S], alternating between the two buffers.
  for (size_t i = 0; i < m.qrnn.size(); ++i) {
    const auto& layer = m.qrnn[i];
    const int64_t out = 2 * static_cast<int64_t>(layer.state_size);
    int8_t* y = grow(*nxt, L * out);
    qrnn_layer(c, layer, cur->data(), L, C, y, taps::qrnn_layer(i));
    std::swap(cur, nxt);
    C = out;
  }

  QParams out_q = m.gbst.mix;
  if (!m.layers.empty()) out_q = m.layers.back().norm2.out;
  if (!m.qrnn.empty()) out_q = kSignedUnitParams;
  return ClassifierEncoding{cur, L, C, out_q};
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
  if (m.transformer || N == 1) {
    int64_t start = 0;
    for (int64_t i = 0; i < N; ++i) {
      classifier_forward(quiet, m, ids + start, lens[i], ws, logits + i * num_labels);
      start += lens[i];
    }
    return;
  }
  Profile* prof = c.profile;
  int64_t total = 0;
  for (int64_t i = 0; i < N; ++i) total += lens[i];
  const int64_t F = m.embedding_size;
  int8_t* x = grow(ws.a, total * F);
  {
    OpTimer tm(prof, Op::kEmbedding);
    embedding(m.embedding, F, ids, total, x);
  }
  const int64_t Bn = m.has_bottleneck ? m.bottleneck.w.n : F;
  int8_t* xb = x;
  if (m.has_bottleneck) {
    xb = grow(ws.b, total * Bn);
    OpTimer tm(prof, Op::kDense);
    dense(quiet, m.bottleneck, x, total, F, xb);
  }
  // GBST: lengths T_i -> ceil(T_i / rate), into whichever buffer does not hold its input.
  std::vector<int8_t>* cur = xb == ws.a.data() ? &ws.b : &ws.a;
  int64_t* len = grow(ws.lens, 2 * N);
  int64_t* glen = len + N;
  for (int64_t i = 0; i < N; ++i) len[i] = lens[i];
  const int64_t rate = m.gbst.downsample_rate;
  int64_t rows = 0;
  for (int64_t i = 0; i < N; ++i) rows += (len[i] + rate - 1) / rate;
  int8_t* h = grow(*cur, rows * Bn);
  gbst_batch(quiet, m.gbst, xb, len, N, h, glen);
  std::vector<int8_t>* nxt = cur == &ws.a ? &ws.b : &ws.a;
  int64_t C = Bn;
  for (const QrnnLayer& layer : m.qrnn) {
    const int64_t out = 2 * static_cast<int64_t>(layer.state_size);
    int8_t* y = grow(*nxt, rows * out);
    qrnn_layer_batch(quiet, layer, cur->data(), glen, N, C, y);
    std::swap(cur, nxt);
    C = out;
  }
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

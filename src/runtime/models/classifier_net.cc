#include "runtime/models/classifier_net.h"

#include <algorithm>
#include <cstring>

#include "runtime/ops/taps.h"

namespace bytelite::rt {

namespace {

// The byte front: embedding [+ position, layer norm] -> bottleneck -> GBST. Leaves [L, Bn] at
// params m.gbst.mix in a; returns L.
int64_t byte_front(const OpContext& c, const ClassifierNet& m, const int32_t* ids, int64_t T,
                   std::vector<int8_t>& a, std::vector<int8_t>& b) {
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
  return gbst(c, m.gbst, xb, T, h);
}

// The projection front (pQRNN): ternary projection of the text of ids -> bottleneck (dense,
// ReLU). Leaves [L, Bn] at params m.bottleneck.out in a; returns L (the token count, >= 1).
int64_t projection_front(const OpContext& c, const ClassifierNet& m, const int32_t* ids, int64_t T,
                         std::vector<int8_t>& a, std::vector<int8_t>& b) {
  const int64_t Fp = m.projection_cfg.feature_size, Bn = m.bottleneck.w.n;
  int64_t L = 0;
  {
    OpTimer tm(c.profile, Op::kEmbedding);  // the projection stands where the embedding stands
    L = ternary_projection_of_ids(ids, T, m.projection_cfg, &b);
  }
  c.tap("projection", b.data(), L, Fp, kProjectionParams);
  int8_t* xb = grow(a, L * Bn);
  {
    OpTimer tm(c.profile, Op::kDense);
    dense(c, m.bottleneck, b.data(), L, Fp, xb);
  }
  c.tap("bottleneck", xb, L, Bn, m.bottleneck.out);
  return L;
}

}  // namespace

ClassifierEncoding classifier_encode(const OpContext& c, const ClassifierNet& m, const int32_t* ids,
                                     int64_t T, std::vector<int8_t>& a, std::vector<int8_t>& b) {
  int64_t L = 0, C = 0;
  QParams hq;
  if (m.projection) {
    L = projection_front(c, m, ids, T, a, b);
    C = m.bottleneck.w.n;
    hq = m.bottleneck.out;
  } else {
    L = byte_front(c, m, ids, T, a, b);
    C = m.has_bottleneck ? m.bottleneck.w.n : m.embedding_size;
    hq = m.gbst.mix;
  }

  std::vector<int8_t>* cur = &a;
  std::vector<int8_t>* nxt = &b;
  const QParams front_q = hq;
  // Transformer stack: [L, D] -> [L', D], alternating between the two buffers.
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

  QParams out_q = front_q;
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
  // Packed batches cover the byte front (embedding, bottleneck, GBST) and the QRNN; Transformer
  // encoders and the projection front (pQRNN) run text by text inside the batch call.
  if (m.transformer || m.projection || N == 1) {
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

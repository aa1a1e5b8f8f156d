#include "runtime/models/classifier_net.h"

#include <algorithm>
#include <cstring>

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
  c.tap("embedding", x, T, F, m.embedding_q);
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
    c.tap("embedding_norm", x, T, F, xq);
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
    c.tap("bottleneck", xb, T, Bn, m.bottleneck.out);
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
    L = transformer_layer(c, layer, cur->data(), L, C, hq, y, "layers" + std::to_string(i));
    hq = layer.norm2.out;
    std::swap(cur, nxt);
  }
  // QRNN stack: [L, C] -> [L, 2S], alternating between the two buffers.
  for (size_t i = 0; i < m.qrnn.size(); ++i) {
    const auto& layer = m.qrnn[i];
    const int64_t out = 2 * static_cast<int64_t>(layer.state_size);
    int8_t* y = grow(*nxt, L * out);
    qrnn_layer(c, layer, cur->data(), L, C, y, "qrnn" + std::to_string(i));
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
  c.tap("pool", pooled, 1, C, m.pool.out);
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
  c.tap("logits", logits, 1, m.head.w.n, m.head.out);
}

}  // namespace bytelite::rt

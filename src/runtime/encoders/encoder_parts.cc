// Parts of the int8 forward that several encoder units share (encoder_unit.h).
#include <utility>

#include "runtime/encoders/encoder_unit.h"
#include "runtime/ops/taps.h"

namespace bytelite::rt {

int64_t byte_front(const OpContext& c, const ClassifierNet& m, bool position, const int32_t* ids,
                   int64_t T, std::vector<int8_t>& a, std::vector<int8_t>& b) {
  const Isa isa = c.isa;
  Profile* prof = c.profile;
  const int64_t F = m.embedding_size;
  const int64_t Bn = m.has_bottleneck ? m.bottleneck.w.n : F;
  // On an optimized path with no trace, embedding -> bottleneck [-> GBST conv] come from the
  // tables (ops.h ByteTables: the same integers); the reference path runs the ops themselves.
  const ByteTables& tb = m.byte_tables;
  const bool tables = isa != Isa::kReference && c.trace == nullptr && !tb.rows.empty();
  // GBST: [T, Bn] -> [T', Bn].
  const int64_t tg = (T + m.gbst.downsample_rate - 1) / m.gbst.downsample_rate;
  // With the GBST convolution's table too, the byte ids are all GBST needs: no bottleneck rows.
  if (tables && !tb.taps.empty()) return gbst_ids(c, m.gbst, tb, ids, T, grow(a, tg * Bn));
  int8_t* xb = nullptr;  // the bottleneck output (or the embedding), in b
  if (tables) {
    xb = grow(b, T * Bn);
    OpTimer tm(prof, Op::kEmbedding);
    embedding(tb.rows.data(), Bn, ids, T, xb);
  } else {
    // Embedding: rows of the table, already quantized with the embedding output params.
    int8_t* x = grow(a, T * F);
    {
      OpTimer tm(prof, Op::kEmbedding);
      embedding(m.embedding, F, ids, T, x);
    }
    c.tap(taps::kEmbedding, x, T, F, m.embedding_q);
    if (position) {
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
      c.tap(taps::kEmbeddingNorm, x, T, F, m.embedding_norm.out);
    }
    if (m.has_bottleneck) {
      // Bottleneck: dense F -> Bn (ByteQRNN: ReLU, batch norm folded).
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
  }

  if (m.word_projection) {
    // + each byte's word vector (qrnn_proj.cc); the sum, in a, becomes the GBST input in b
    int8_t* y = grow(a, T * Bn);
    word_sum(c, m, ids, T, xb, y);
    std::swap(a, b);
    xb = b.data();
  }
  return gbst(c, m.gbst, xb, T, grow(a, tg * Bn));
}

ClassifierEncoding qrnn_stack(const OpContext& c, const ClassifierNet& m, int64_t L, int64_t C,
                              QParams in_q, std::vector<int8_t>& a, std::vector<int8_t>& b) {
  std::vector<int8_t>* cur = &a;
  std::vector<int8_t>* nxt = &b;
  // [L, C] -> [L, 2S], alternating between the two buffers.
  for (size_t i = 0; i < m.qrnn.size(); ++i) {
    const auto& layer = m.qrnn[i];
    const int64_t out = 2 * static_cast<int64_t>(layer.state_size);
    int8_t* y = grow(*nxt, L * out);
    qrnn_layer(c, layer, cur->data(), L, C, y, taps::qrnn_layer(i));
    std::swap(cur, nxt);
    C = out;
  }
  return ClassifierEncoding{cur, L, C, m.qrnn.empty() ? in_q : kSignedUnitParams};
}

}  // namespace bytelite::rt

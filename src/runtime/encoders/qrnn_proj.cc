// The ByteQRNN-with-word-projection encoder unit (encoder kind "qrnn_proj"): byte embedding ->
// bottleneck (dense, ReLU) -> + the word vector of each byte's word -> GBST -> bidirectional
// QRNN layers. The word vectors are a dense layer ("word") of the ternary projection of the
// text's words (src/runtime/ops/projection.h), computed once per word and broadcast to the
// word's bytes by byte_token_map; the sum is requantized by the add op. Its loader (the
// QrnnProjEncoder union member; format v1 has no such model) and its int8 forward (the shared
// byte front, whose word_sum step is here). Mirrors the "qrnn_proj" unit of
// src/train/encoder_registry.cc.
#include <cstring>
#include <iterator>

#include "runtime/encoders/encoder_unit.h"
#include "runtime/model_loader.h"
#include "runtime/ops/taps.h"

namespace bytelite::rt {

void word_sum(const OpContext& c, const ClassifierNet& m, const int32_t* ids, int64_t T,
              const int8_t* xb, int8_t* y) {
  // per-thread scratch of this step (buffers only grow)
  thread_local std::vector<int8_t> projection, words, per_byte;
  thread_local std::vector<int32_t> map;
  const int64_t Fp = m.projection_cfg.feature_size, D = m.word.w.n;
  int64_t W = 0;
  {
    OpTimer tm(c.profile, Op::kEmbedding);  // the projection stands beside the embedding
    W = ternary_projection_of_ids(ids, T, m.projection_cfg, &projection);
  }
  c.tap(taps::kProjection, projection.data(), W, Fp, kProjectionParams);
  int8_t* wv = grow(words, W * D);
  {
    OpTimer tm(c.profile, Op::kDense);
    dense(c, m.word, projection.data(), W, Fp, wv);
  }
  c.tap(taps::kWord, wv, W, D, m.word.out);
  int32_t* mp = grow(map, T);
  byte_token_map(ids, T, m.projection_cfg, mp);
  int8_t* pb = grow(per_byte, T * D);
  const auto zero = static_cast<int8_t>(m.word.out.zero_point);  // the value 0
  for (int64_t t = 0; t < T; ++t) {
    if (mp[t] >= 0) {
      std::memcpy(pb + t * D, wv + mp[t] * D, static_cast<size_t>(D));
    } else {
      std::memset(pb + t * D, zero, static_cast<size_t>(D));
    }
  }
  {
    OpTimer tm(c.profile, Op::kAdd);
    add(c.isa, xb, m.bottleneck.out, pb, m.word.out, T * D, m.word_sum_q, y);
  }
  c.tap(taps::kWordSum, y, T, D, m.word_sum_q);
}

namespace {

// The QrnnProjEncoder union member: the ByteQRNN tables (GBST on params `sum`), the projection
// settings and the word dense, everything up to the attention pooling.
LoadedEncoder load(const Loader& ld, const EncoderKindInfo& kind, const void* tables,
                   const std::string& name, int /*min_layers*/, ModelInfo& info,
                   ClassifierNet& net) {
  const auto* t = static_cast<const fb::QrnnProjEncoder*>(tables);
  const QParams sum_q = ld.qparams(t->sum(), name + ".sum");
  LoadedEncoder e = load_byte_qrnn(ld, kind, t->config(), t->tensors(), name + ".config",
                                   name + ".tensors", info, net, &sum_q);
  load_projection_config(ld, t->projection(), name + ".projection", info, net);
  net.word_projection = true;
  net.word_sum_q = sum_q;
  net.word = ld.dense(t->word(), name + ".word", info.projection_feature_size, info.bottleneck_size,
                      kProjectionParams);
  ld.count(net.word);
  return e;
}

ClassifierEncoding encode(const OpContext& c, const ClassifierNet& m, const int32_t* ids, int64_t T,
                          std::vector<int8_t>& a, std::vector<int8_t>& b) {
  const int64_t L = byte_front(c, m, false, ids, T, a, b);
  return qrnn_stack(c, m, L, m.bottleneck.w.n, m.gbst.mix, a, b);
}

// model.* keys: the byte front's, the projection settings and the QRNN layers'.
constexpr auto kKeys = concat_keys(kByteFrontKeys, kProjectionKeys, kQrnnKeys);

}  // namespace

// Format v1 knows no such model; a batch runs text by text.
extern const RuntimeEncoderUnit kQrnnProjEncoderUnit = {EncoderKind::kQrnnProj,
                                                        fb::EncoderTables::QrnnProjEncoder,
                                                        load,
                                                        nullptr,
                                                        nullptr,
                                                        encode,
                                                        nullptr,
                                                        {kKeys.data(), kKeys.size()}};

}  // namespace bytelite::rt

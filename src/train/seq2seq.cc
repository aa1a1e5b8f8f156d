#include "train/seq2seq.h"

#include <algorithm>
#include <cmath>

#include "bytelite/byte_tokenizer.h"
#include "bytelite/encoder_kinds.h"
#include "bytelite/errors.h"

namespace bytelite {

MattDecoderLayerImpl::MattDecoderLayerImpl(int64_t d, int64_t h, int64_t inter, double drop,
                                           QatStatePtr qat, int64_t memory_dim)
    : dim(d), heads(h), intermediate(inter), dropout(drop), qat_(qat) {
  const int64_t e = memory_dim > 0 ? memory_dim : d;
  uniform = register_module("uniform", QDense(d, d, false, Activation::kNone, qat));
  average_quant = register_module("average_quant", ActQuant(qat));
  query = register_module("query", QDense(d, d, false, Activation::kNone, qat));
  key_value = register_module("key_value", QDense(e, 2 * d, false, Activation::kNone, qat));
  logits_quant = register_module("logits_quant", ActQuant(qat));
  context_quant = register_module("context_quant", ActQuant(qat));
  merge_quant = register_module("merge_quant", ActQuant(qat));
  output = register_module("output", QDense(d, d, false, Activation::kNone, qat));
  norm1 = register_module("norm1", LayerNorm(d, false, qat));
  ffn_in = register_module("ffn_in", QDense(d, inter, false, Activation::kRelu, qat));
  ffn_out = register_module("ffn_out", QDense(inter, d, false, Activation::kNone, qat));
  norm2 = register_module("norm2", LayerNorm(d, false, qat));
}

torch::Tensor MattDecoderLayerImpl::memory(const torch::Tensor& mem) {
  return key_value->forward(mem);
}

torch::Tensor MattDecoderLayerImpl::cross(const torch::Tensor& q, const torch::Tensor& kv,
                                          const torch::Tensor& mem_mask) {
  // q [B, T, D], kv [B, S, 2D] -> ctx [B, T, D]
  const int64_t B = q.size(0), T = q.size(1), S = kv.size(1), dh = dim / heads;
  auto qh = q.view({B, T, heads, dh}).permute({0, 2, 1, 3});
  auto kvh = kv.view({B, S, 2, heads, dh}).permute({2, 0, 3, 1, 4});
  auto logits = torch::matmul(qh, kvh[0].transpose(-1, -2)) *
                (1.0 / std::sqrt(static_cast<double>(dh)));  // [B, H, T, S]
  logits = logits_quant->forward(logits);
  logits = logits.masked_fill(mem_mask.view({B, 1, 1, S}) <= 0, -1e9);
  auto a = fake_quant_fixed(torch::softmax(logits, -1), unit_range_params(), *qat_, is_training());
  auto ctx = torch::matmul(a, kvh[1]).permute({0, 2, 1, 3}).reshape({B, T, dim});
  return context_quant->forward(ctx);
}

torch::Tensor MattDecoderLayerImpl::finish(const torch::Tensor& x, const torch::Tensor& sa,
                                           const torch::Tensor& ctx) {
  const bool tr = is_training();
  auto m = merge_quant->forward(sa + ctx);
  auto o = torch::dropout(output->forward(m), dropout, tr);
  auto x1 = norm1->forward(x + o);
  auto f = ffn_out->forward(ffn_in->forward(x1));
  return norm2->forward(x1 + torch::dropout(f, dropout, tr));
}

torch::Tensor MattDecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& kv,
                                            const torch::Tensor& mem_mask) {
  const int64_t T = x.size(1);
  auto v = uniform->forward(x);  // [B, T, D]
  // Cumulative average: torch's CPU cumsum accumulates in double, as step() does.
  auto steps = torch::arange(1, T + 1, x.options()).view({1, T, 1});
  auto sa = average_quant->forward(torch::cumsum(v, 1) / steps);
  auto ctx = cross(query->forward(x), kv, mem_mask);
  return finish(x, sa, ctx);
}

torch::Tensor MattDecoderLayerImpl::step(const torch::Tensor& x, int64_t t, torch::Tensor* sum,
                                         const torch::Tensor& kv, const torch::Tensor& mem_mask) {
  auto v = uniform->forward(x);  // [B, D]
  *sum = *sum + v.to(torch::kDouble);
  auto sa = average_quant->forward(sum->to(x.scalar_type()) / static_cast<double>(t));
  auto ctx = cross(query->forward(x).unsqueeze(1), kv, mem_mask).squeeze(1);
  return finish(x, sa, ctx);
}

Seq2SeqBatch make_seq2seq_batch(const std::vector<std::pair<std::string, std::string>>& pairs,
                                int64_t max_source, int64_t max_target) {
  const int64_t B = static_cast<int64_t>(pairs.size());
  int64_t S = 1, T = 1;
  for (const auto& [s, t] : pairs) {
    S = std::max(S, std::min<int64_t>(static_cast<int64_t>(s.size()), max_source));
    T = std::max(T, std::min<int64_t>(static_cast<int64_t>(t.size()) + 1, max_target));
  }
  Seq2SeqBatch b;
  b.src = torch::zeros({B, S}, torch::kLong);
  b.src_mask = torch::zeros({B, S});
  b.dec_in = torch::zeros({B, T}, torch::kLong);
  b.target = torch::zeros({B, T}, torch::kLong);
  b.tgt_mask = torch::zeros({B, T});
  auto src = b.src.accessor<int64_t, 2>();
  auto sm = b.src_mask.accessor<float, 2>();
  auto din = b.dec_in.accessor<int64_t, 2>();
  auto tg = b.target.accessor<int64_t, 2>();
  auto tm = b.tgt_mask.accessor<float, 2>();
  for (int64_t i = 0; i < B; ++i) {
    const std::string& s = pairs[i].first;
    const std::string& t = pairs[i].second;
    const int64_t ns = std::max<int64_t>(1, std::min<int64_t>(s.size(), max_source));
    for (int64_t j = 0; j < ns; ++j) {
      src[i][j] = j < static_cast<int64_t>(s.size())
                      ? static_cast<int64_t>(static_cast<unsigned char>(s[j])) + kByteOffset
                      : kPadId;  // empty source: one PAD, as the tokenizer
      sm[i][j] = 1;
    }
    const int64_t nt = std::min<int64_t>(t.size(), max_target - 1);
    din[i][0] = kSeq2SeqStartId;
    for (int64_t j = 0; j < nt; ++j) {
      const int64_t id = static_cast<int64_t>(static_cast<unsigned char>(t[j])) + kByteOffset;
      tg[i][j] = id;
      din[i][j + 1] = id;
      tm[i][j] = 1;
    }
    tg[i][nt] = kEosId;
    tm[i][nt] = 1;
  }
  return b;
}

ModelConfig seq2seq_encoder_model(const Seq2SeqConfig& c) {
  ModelConfig m;
  m.encoder = seq2seq_section_encoder().name;
  m.embedding_size = m.bottleneck_size = static_cast<int>(c.dim);
  m.gbst_max_block_width = static_cast<int>(c.gbst_max_block_width);
  m.gbst_conv_kernel_size = static_cast<int>(c.gbst_conv_kernel_size);
  m.gbst_downsample_rate = static_cast<int>(c.gbst_downsample_rate);
  m.transformer_layers = static_cast<int>(c.encoder_layers);
  m.num_heads = static_cast<int>(c.num_heads);
  m.intermediate_size = static_cast<int>(c.intermediate_size);
  m.attention_scale = "sqrt";
  m.layer_norm = "channel";
  m.norm_position = "post";
  m.dropout = c.dropout;
  return m;
}

ByteSeq2SeqImpl::ByteSeq2SeqImpl(const Seq2SeqConfig& c, QatStatePtr q)
    : cfg(c), qat(std::move(q)) {
  const EncoderKindInfo* kind = find_encoder_kind(cfg.encoder);
  if (kind == nullptr) {
    throw ConfigError("seq2seq.encoder: expected " + encoder_kind_names_quoted() + ", found \"" +
                      cfg.encoder + "\"");
  }
  if (kind->projection) {
    throw ConfigError(
        "seq2seq.encoder: expected a byte encoder (the decoder attends to byte "
        "positions), found \"" +
        cfg.encoder + "\"");
  }
  if (kind->word_projection) {
    throw ConfigError(
        "seq2seq.encoder: expected an encoder without word projection (not supported in "
        "seq2seq), found \"" +
        cfg.encoder + "\"");
  }
  ModelConfig mc = cfg.encoder_model;
  if (kind->seq2seq_section) {
    mc = seq2seq_encoder_model(cfg);
  } else {
    if (find_encoder_kind(mc.encoder) != kind) {
      throw ConfigError("seq2seq.encoder \"" + cfg.encoder + "\" needs model.encoder \"" +
                        cfg.encoder + "\", found model.encoder \"" + mc.encoder + "\"");
    }
    if (mc.norm_position != "post") {
      throw ConfigError(
          "model.norm_position: expected \"post\" for a seq2seq encoder (the runtime's), found "
          "\"" +
          mc.norm_position + "\"");
    }
  }
  classifier = register_module("classifier", ByteClassifier(mc, 0, qat, cfg.max_source));
  build_decoder(classifier->encoder_width());
}

bool ByteSeq2SeqImpl::encoder_from_seq2seq_section() const {
  const EncoderKindInfo* kind = find_encoder_kind(cfg.encoder);
  return kind != nullptr && kind->seq2seq_section;
}

void ByteSeq2SeqImpl::build_decoder(int64_t E) {
  const int64_t D = cfg.dim;
  // Tied embedding: unit-norm rows on average, so that h · Eᵀ starts at logits of order 1.
  embedding = register_parameter("embedding",
                                 torch::randn({kVocabSize, D}) / std::sqrt(static_cast<double>(D)));
  embedding_quant = register_module("embedding_quant", ActQuant(qat));
  position = register_parameter("position", torch::randn({cfg.max_target, D}) * 0.02);
  position_quant = register_module("position_quant", ActQuant(qat));
  dec_norm = register_module("dec_norm", LayerNorm(D, false, qat));
  decoder = register_module("decoder", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.decoder_layers; ++i) {
    decoder->push_back(
        MattDecoderLayer(D, cfg.num_heads, cfg.intermediate_size, cfg.dropout, qat, E));
  }
  logits_bias = register_parameter("logits_bias", torch::zeros({kVocabSize}));
  logits_quant = register_module("logits_quant", ActQuant(qat));
}

std::pair<torch::Tensor, torch::Tensor> ByteSeq2SeqImpl::encode(const torch::Tensor& src,
                                                                const torch::Tensor& mask) {
  return classifier->encode(src, mask);
}

int64_t ByteSeq2SeqImpl::encoder_width() const { return classifier->encoder_width(); }

std::vector<torch::Tensor> ByteSeq2SeqImpl::memory(const torch::Tensor& h) {
  std::vector<torch::Tensor> kv;
  for (size_t i = 0; i < decoder->size(); ++i) {
    kv.push_back(decoder[i]->as<MattDecoderLayer>()->memory(h));
  }
  return kv;
}

torch::Tensor ByteSeq2SeqImpl::decoder_input(const torch::Tensor& ids, int64_t pos0) {
  const int64_t B = ids.size(0), T = ids.size(1), D = cfg.dim;
  auto e =
      embedding_quant->forward(embedding.index_select(0, ids.reshape({-1})).reshape({B, T, D}));
  auto p = position_quant->forward(position.narrow(0, pos0, T)).unsqueeze(0);
  return dec_norm->forward(e + p);
}

torch::Tensor ByteSeq2SeqImpl::project(const torch::Tensor& h) {
  auto w = qat->apply(is_training()) ? fake_quant_weight(embedding) : embedding;
  return logits_quant->forward(torch::matmul(h, w.t()) + logits_bias);
}

torch::Tensor ByteSeq2SeqImpl::forward(const torch::Tensor& src, const torch::Tensor& src_mask,
                                       const torch::Tensor& dec_in) {
  auto [h, hm] = encode(src, src_mask);
  auto kv = memory(h);
  auto x = torch::dropout(decoder_input(dec_in, 0), cfg.dropout, is_training());
  for (size_t i = 0; i < decoder->size(); ++i) {
    x = decoder[i]->as<MattDecoderLayer>()->forward(x, kv[i], hm);
  }
  return project(x);
}

torch::Tensor ByteSeq2SeqImpl::loss(const torch::Tensor& logits, const torch::Tensor& target,
                                    const torch::Tensor& tgt_mask) const {
  auto logp = torch::log_softmax(logits, -1);
  auto nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1);  // [B, T]
  auto per = nll;
  if (cfg.label_smoothing > 0) {
    const double eps = cfg.label_smoothing;
    per = (1 - eps) * nll + eps * (-logp.mean(-1));
  }
  return (per * tgt_mask).sum() / tgt_mask.sum().clamp_min(1.0);
}

ByteSeq2SeqImpl::StepState ByteSeq2SeqImpl::start(const torch::Tensor& src,
                                                  const torch::Tensor& src_mask) {
  StepState st;
  auto [h, hm] = encode(src, src_mask);
  st.kv = memory(h);
  st.mem_mask = hm;
  for (size_t i = 0; i < decoder->size(); ++i) {
    st.sums.push_back(torch::zeros({src.size(0), cfg.dim}, torch::kDouble));
  }
  return st;
}

torch::Tensor ByteSeq2SeqImpl::step(StepState& st, const torch::Tensor& ids,
                                    const torch::Tensor& parents) {
  if (parents.defined()) {
    for (auto& s : st.sums) s = s.index_select(0, parents);
  }
  st.t += 1;
  auto x = decoder_input(ids.view({-1, 1}), st.t - 1).squeeze(1);  // [B, D]
  for (size_t i = 0; i < decoder->size(); ++i) {
    x = decoder[i]->as<MattDecoderLayer>()->step(x, st.t, &st.sums[i], st.kv[i], st.mem_mask);
  }
  return project(x);
}

void ByteSeq2SeqImpl::load(torch::serialize::InputArchive& archive) {
  const std::vector<std::string> keys = archive.keys();
  if (std::find(keys.begin(), keys.end(), "src_embedding") != keys.end()) {
    throw ModelFileError(
        "seq2seq checkpoint: expected the encoder's tensors under classifier.* (the encoder "
        "registry's), found the former built-in encoder's src_embedding (a checkpoint of an "
        "older bytelite: retrain; model files exported from it still load)");
  }
  torch::nn::Module::load(archive);
}

int64_t ByteSeq2SeqImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace bytelite

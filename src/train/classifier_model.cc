#include "train/classifier_model.h"

#include <cmath>

#include "core/byte_tokenizer.h"

namespace bytelite {

ByteClassifierImpl::ByteClassifierImpl(const ModelConfig& c, int64_t n, QatStatePtr q,
                                       int64_t max_pos)
    : cfg(c), num_labels(n), max_positions(max_pos), qat(std::move(q)) {
  transformer = cfg.encoder != "qrnn";
  const int64_t F = cfg.embedding_size, D = cfg.bottleneck_size;
  const bool scalar_norm = cfg.layer_norm == "scalar";
  const bool pre_norm = cfg.norm_position == "pre";
  if (transformer) {
    embedding = register_parameter("embedding", torch::randn({kVocabSize, F}) * 0.02);
    embedding_quant = register_module("embedding_quant", ActQuant(qat));
    position = register_parameter("position", torch::randn({max_positions, F}) * 0.02);
    position_quant = register_module("position_quant", ActQuant(qat));
    embedding_norm = register_module("embedding_norm", LayerNorm(F, scalar_norm, qat));
    if (F != D) {
      bottleneck = register_module("bottleneck", QDense(F, D, false, Activation::kNone, qat));
    }
  } else {
    embedding = register_parameter("embedding", torch::randn({kVocabSize, F}));
    embedding_quant = register_module("embedding_quant", ActQuant(qat));
    bottleneck = register_module("bottleneck", QDense(F, D, true, Activation::kRelu, qat));
  }
  gbst = register_module("gbst", Gbst(D, cfg.gbst_max_block_width, cfg.gbst_conv_kernel_size,
                                      cfg.gbst_downsample_rate, qat));
  int64_t in = D;
  if (transformer) {
    layers = register_module("layers", torch::nn::ModuleList());
    for (int i = 0; i < cfg.transformer_layers; ++i) {
      const int64_t pw = cfg.encoder == "funnel" ? cfg.pool_windows[i] : 1;
      layers->push_back(TransformerLayer(D, cfg.num_heads, cfg.intermediate_size, pw,
                                         cfg.attention_scale == "sqrt", scalar_norm, pre_norm,
                                         cfg.dropout, qat));
    }
    if (pre_norm) final_norm = register_module("final_norm", LayerNorm(D, scalar_norm, qat));
  } else {
    qrnn = register_module("qrnn", torch::nn::ModuleList());
    for (int i = 0; i < cfg.qrnn_layers; ++i) {
      double zo = std::pow(cfg.qrnn_zoneout, i + 1);  // layer-wise decaying zoneout (spec §2.6)
      qrnn->push_back(QrnnLayer(in, cfg.qrnn_state_size, cfg.qrnn_kernel_width, zo, qat));
      in = 2 * cfg.qrnn_state_size;
    }
  }
  if (num_labels == 0) return;  // encoder only
  pool = register_module("pool", AttentionPool(in, qat));
  if (cfg.pooling == "attention_max") {
    pool_concat_quant = register_module("pool_concat_quant", ActQuant(qat));
    in *= 2;
  }
  head = register_module("head", QDense(in, num_labels, false, Activation::kNone, qat));
}

torch::Tensor ByteClassifierImpl::forward(const torch::Tensor& ids, const torch::Tensor& mask) {
  auto [h, hm] = encode(ids, mask);
  return pool_and_head(h, hm);
}

std::pair<torch::Tensor, torch::Tensor> ByteClassifierImpl::encode(const torch::Tensor& ids,
                                                                   const torch::Tensor& mask) {
  const int64_t B = ids.size(0), L = ids.size(1);
  auto mask3 = mask.unsqueeze(-1);
  auto x = embedding.index_select(0, ids.reshape({-1})).reshape({B, L, cfg.embedding_size});
  x = embedding_quant->forward(x);
  if (transformer) {
    // positions 0..L-1 (valid positions come first in every row)
    auto pos = position_quant->forward(position.narrow(0, 0, L)).unsqueeze(0);
    x = embedding_norm->forward(x + pos);
  }
  x = x * mask3;
  if (bottleneck) x = bottleneck->forward(x, mask) * mask3;
  auto [h, hm] = gbst->forward(x, mask);
  const bool tr = is_training();
  if (transformer) {
    ActQuantImpl* in_q = gbst->mix_quant.get();
    for (size_t i = 0; i < layers->size(); ++i) {
      auto layer = layers[i]->as<TransformerLayer>();
      std::tie(h, hm) = layer->forward(h, hm, in_q);
      in_q = layer->output_quant();
    }
    if (final_norm) h = final_norm->forward(h) * hm.unsqueeze(-1);
  } else {
    h = torch::dropout(h, cfg.dropout, tr);
    for (size_t i = 0; i < qrnn->size(); ++i) {
      h = qrnn[i]->as<QrnnLayer>()->forward(h, hm);
      if (i + 1 < qrnn->size()) h = torch::dropout(h, cfg.dropout, tr);
    }
  }
  return {h, hm};
}

torch::Tensor ByteClassifierImpl::pool_and_head(const torch::Tensor& h, const torch::Tensor& hm) {
  TORCH_CHECK(pool, "pool_and_head: this ByteClassifier is an encoder only (num_labels 0)");
  const bool tr = is_training();
  auto p = pool->forward(h, hm);
  if (pool_concat_quant) {
    // Max over valid positions (every row has at least one); QRNN outputs lie in [-1, 1],
    // layer-normalized outputs are far above -1e9.
    auto mx = std::get<0>(h.masked_fill(hm.unsqueeze(-1) <= 0, transformer ? -1e9 : -2.0).max(1));
    p = pool_concat_quant->forward(torch::cat({p, mx}, -1));
  }
  p = torch::dropout(p, cfg.dropout, tr);
  return head->forward(p);
}

int64_t ByteClassifierImpl::encoder_width() const {
  return transformer ? cfg.bottleneck_size : 2 * cfg.qrnn_state_size;
}

int64_t ByteClassifierImpl::bytes_per_position() const {
  int64_t r = cfg.gbst_downsample_rate;
  if (cfg.encoder == "funnel") {
    for (int w : cfg.pool_windows) r *= w;
  }
  return r;
}

bool ByteClassifierImpl::is_head_tensor(const std::string& name) {
  for (const char* p : {"pool.", "pool_concat_quant.", "head."}) {
    if (name.rfind(p, 0) == 0) return true;
  }
  return false;
}

int64_t ByteClassifierImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace bytelite

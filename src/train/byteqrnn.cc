#include "train/byteqrnn.h"

#include <cmath>

#include "core/byte_tokenizer.h"

namespace bytelite {

ByteQrnnImpl::ByteQrnnImpl(const ModelConfig& c, int64_t n, QatStatePtr q)
    : cfg(c), num_labels(n), qat(std::move(q)) {
  embedding = register_parameter("embedding", torch::randn({kVocabSize, cfg.embedding_size}));
  embedding_quant = register_module("embedding_quant", ActQuant(qat));
  bottleneck = register_module(
      "bottleneck", QDense(cfg.embedding_size, cfg.bottleneck_size, true, Activation::kRelu, qat));
  gbst = register_module("gbst", Gbst(cfg.bottleneck_size, cfg.gbst_max_block_width,
                                      cfg.gbst_conv_kernel_size, cfg.gbst_downsample_rate, qat));
  qrnn = register_module("qrnn", torch::nn::ModuleList());
  int64_t in = cfg.bottleneck_size;
  for (int i = 0; i < cfg.qrnn_layers; ++i) {
    double zo = std::pow(cfg.qrnn_zoneout, i + 1);  // layer-wise decaying zoneout (spec §2.6)
    qrnn->push_back(QrnnLayer(in, cfg.qrnn_state_size, cfg.qrnn_kernel_width, zo, qat));
    in = 2 * cfg.qrnn_state_size;
  }
  pool = register_module("pool", AttentionPool(in, qat));
  if (cfg.pooling == "attention_max") {
    pool_concat_quant = register_module("pool_concat_quant", ActQuant(qat));
    in *= 2;
  }
  head = register_module("head", QDense(in, num_labels, false, Activation::kNone, qat));
}

torch::Tensor ByteQrnnImpl::forward(const torch::Tensor& ids, const torch::Tensor& mask) {
  const int64_t B = ids.size(0), L = ids.size(1);
  auto mask3 = mask.unsqueeze(-1);
  auto x = embedding.index_select(0, ids.reshape({-1})).reshape({B, L, cfg.embedding_size});
  x = embedding_quant->forward(x) * mask3;
  x = bottleneck->forward(x, mask) * mask3;
  auto [h, hm] = gbst->forward(x, mask);
  const bool tr = is_training();
  h = torch::dropout(h, cfg.dropout, tr);
  for (size_t i = 0; i < qrnn->size(); ++i) {
    h = qrnn[i]->as<QrnnLayer>()->forward(h, hm);
    if (i + 1 < qrnn->size()) h = torch::dropout(h, cfg.dropout, tr);
  }
  auto p = pool->forward(h, hm);
  if (pool_concat_quant) {
    // Max over valid positions (every row has at least one); QRNN outputs lie in [-1, 1].
    auto mx = std::get<0>(h.masked_fill(hm.unsqueeze(-1) <= 0, -2.0).max(1));
    p = pool_concat_quant->forward(torch::cat({p, mx}, -1));
  }
  p = torch::dropout(p, cfg.dropout, tr);
  return head->forward(p);
}

int64_t ByteQrnnImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace bytelite

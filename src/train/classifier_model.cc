#include "train/classifier_model.h"

#include <cmath>

#include "core/byte_tokenizer.h"
#include "runtime/ops/taps.h"
#include "train/encoder_registry.h"

namespace bytelite {

ByteClassifierImpl::ByteClassifierImpl(const ModelConfig& c, int64_t n, QatStatePtr q,
                                       int64_t max_pos)
    : cfg(c), num_labels(n), max_positions(max_pos), qat(std::move(q)) {
  unit = &train_encoder_unit(cfg);
  unit->build(*this);
  int64_t in = unit->width(cfg);
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
  return unit->encode(*this, ids, mask);
}

torch::Tensor ByteClassifierImpl::pool_and_head(const torch::Tensor& h, const torch::Tensor& hm) {
  TORCH_CHECK(pool, "pool_and_head: this ByteClassifier is an encoder only (num_labels 0)");
  const bool tr = is_training();
  auto p = pool->forward(h, hm);
  tap(taps::kPool, p, pool->out_quant->params());
  if (pool_concat_quant) {
    // Max over valid positions (every row has at least one); padded positions hold a value
    // below every valid output of the encoder.
    auto mx = std::get<0>(h.masked_fill(hm.unsqueeze(-1) <= 0, unit->max_pool_fill).max(1));
    p = pool_concat_quant->forward(torch::cat({p, mx}, -1));
    tap(taps::kPoolConcat, p, pool_concat_quant->params());
  }
  p = torch::dropout(p, cfg.dropout, tr);
  auto logits = head->forward(p);
  tap(taps::kLogits, logits, head->out_quant->params());
  return logits;
}

int64_t ByteClassifierImpl::encoder_width() const { return unit->width(cfg); }

int64_t ByteClassifierImpl::bytes_per_position() const { return unit->bytes_per_position(cfg); }

bool ByteClassifierImpl::is_head_tensor(const std::string& name) {
  for (const char* p : {"pool.", "pool_concat_quant.", "head."}) {
    if (name.rfind(p, 0) == 0) return true;
  }
  return false;
}

const EncoderKindInfo& ByteClassifierImpl::kind() const { return *unit->kind; }

int64_t ByteClassifierImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace bytelite

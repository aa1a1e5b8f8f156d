// ByteQRNN classifier (SeqFlowLite spec §1.2, with the deviations listed in docs/deviations.md):
// byte embedding [259, F] -> bottleneck dense F -> Bn (ReLU, BN) -> GBST -> bidirectional QRNN
// stack -> attention pooling -> dense 2S -> C logits. Every activation is fake-quantized as the
// int8 runtime computes it when QAT is enabled (fake_quant.h).
#pragma once

#include <torch/torch.h>

#include "train/config.h"
#include "train/fake_quant.h"
#include "train/layers.h"

namespace bytelite {

class ByteQrnnImpl : public torch::nn::Module {
 public:
  ByteQrnnImpl(const ModelConfig& cfg, int64_t num_labels, QatStatePtr qat);

  /// ids [B, L] int64 in [0, 259); mask [B, L] float (1 valid, 0 padding; every row has at
  /// least one valid position). Returns logits [B, num_labels].
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask);

  /// Number of trainable scalars.
  int64_t parameter_count() const;

  ModelConfig cfg;
  int64_t num_labels;
  QatStatePtr qat;
  torch::Tensor embedding;  // [259, F]
  ActQuant embedding_quant{nullptr};
  QDense bottleneck{nullptr};
  Gbst gbst{nullptr};
  torch::nn::ModuleList qrnn{nullptr};
  AttentionPool pool{nullptr};
  ActQuant pool_concat_quant{nullptr};  // "attention_max": shared range of [attention; max]
  QDense head{nullptr};
};
TORCH_MODULE(ByteQrnn);

}  // namespace bytelite

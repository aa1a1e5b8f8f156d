// The byte-level classifiers (SeqFlowLite spec §1.2-1.4, with the deviations listed in
// docs/deviations.md): the encoder of model.encoder (built and run by its unit in
// train/encoder_registry.h), then pooling and head. The registered encoders:
//  - "qrnn" (ByteQRNN): byte embedding [259, F] -> bottleneck dense F -> Bn (ReLU, BN) -> GBST
//    -> bidirectional QRNN stack -> attention pooling -> dense 2S -> C logits;
//  - "transformer" (ByteTransformer) and "funnel" (ByteFunnelTransformer): byte embedding
//    [259, F] + learned position embedding [max_length, F] -> layer norm -> bottleneck dense
//    F -> D (bias only; absent when F == D) -> GBST -> Transformer layers (funnel: query pooling
//    per model.pool_windows) -> attention pooling -> dense D -> C logits.
// Every activation is fake-quantized as the int8 runtime computes it when QAT is enabled
// (fake_quant.h).
#pragma once

#include <torch/torch.h>

#include "bytelite/encoder_kinds.h"
#include "train/config.h"
#include "train/fake_quant.h"
#include "train/layers.h"

namespace bytelite {

struct TrainEncoderUnit;

class ByteClassifierImpl : public torch::nn::Module {
 public:
  /// max_positions: rows of the position embedding (the tokenizer's max_length).
  /// num_labels == 0 builds the encoder only (no pooling, no head; forward() throws): the
  /// pretraining model (train/pretrain.h) wraps such an encoder.
  ByteClassifierImpl(const ModelConfig& cfg, int64_t num_labels, QatStatePtr qat,
                     int64_t max_positions);

  /// Throws ConfigError for an encoder name that is not registered.
  /// ids [B, L] int64 in [0, 259); mask [B, L] float (1 valid, 0 padding; every row has at
  /// least one valid position). Returns logits [B, num_labels]: pool_and_head(encode(...)).
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask);

  /// The encoder alone: embedding -> [position + layer norm] -> bottleneck -> GBST -> QRNN or
  /// Transformer layers. Returns (h [B, T', encoder_width()], mask [B, T']) where output
  /// position t covers the input bytes [t * bytes_per_position(), (t + 1) * ...).
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& ids,
                                                 const torch::Tensor& mask);
  /// Attention (+ max) pooling, dropout and the head on an encoder output.
  torch::Tensor pool_and_head(const torch::Tensor& h, const torch::Tensor& hm);

  /// Width of the encoder output: 2 * qrnn_state_size (QRNN) or bottleneck_size.
  int64_t encoder_width() const;
  /// Input bytes per encoder output position: gbst_downsample_rate times the product of the
  /// funnel's pool windows.
  int64_t bytes_per_position() const;
  /// Whether a parameter or buffer name (as in named_parameters()) belongs to the pooling or
  /// the head rather than to the encoder: "pool.*", "pool_concat_quant.*", "head.*".
  static bool is_head_tensor(const std::string& name);

  /// Number of trainable scalars.
  int64_t parameter_count() const;
  /// The encoder kind (include/bytelite/encoder_kinds.h).
  const EncoderKindInfo& kind() const;

  ModelConfig cfg;
  int64_t num_labels, max_positions;
  QatStatePtr qat;
  const TrainEncoderUnit* unit = nullptr;  // the encoder kind's unit (train/encoder_registry.h)
  // The encoders' members (each unit registers those it uses; the others stay null).
  torch::Tensor embedding;  // [259, F]
  ActQuant embedding_quant{nullptr};
  torch::Tensor position;  // attention kinds: [max_positions, F]
  ActQuant position_quant{nullptr};
  LayerNorm embedding_norm{nullptr};  // attention kinds
  QDense bottleneck{nullptr};         // attention kinds: null when F == D
  Gbst gbst{nullptr};
  torch::nn::ModuleList qrnn{nullptr};
  QDense word{nullptr};                   // qrnn_proj: projection of a word -> its word vector
  ActQuant word_sum_quant{nullptr};       // qrnn_proj: bottleneck output + word vector (GBST input)
  torch::nn::ModuleList layers{nullptr};  // attention kinds
  LayerNorm final_norm{nullptr};          // attention kinds with norm_position "pre"
  AttentionPool pool{nullptr};
  ActQuant pool_concat_quant{nullptr};  // "attention_max": shared range of [attention; max]
  QDense head{nullptr};
};
TORCH_MODULE(ByteClassifier);

}  // namespace bytelite

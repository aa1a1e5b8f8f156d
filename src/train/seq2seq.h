// Byte-level sequence-to-sequence model with the merged-attention (MAtt) decoder
// (SeqFlowLite spec §3; Zhang, Titov & Sennrich 2019, "Sharing Attention Weights for Fast
// Transformer"; the self part is the cumulative average of Zhang, Xiong & Su 2018, "Accelerating
// Neural Transformer via an Average Attention Network", without its gate and FFN).
//
// Encoder: the registry's encoder of Seq2SeqConfig::encoder (train/encoder_registry.h), composed
// as ByteClassifier with num_labels 0 (module "classifier"), position rows max_source, with its
// QAT points. "transformer" (the default) is configured by the seq2seq section
// (seq2seq_encoder_model(): width D, no bottleneck, encoder_layers, the seq2seq GBST settings);
// "qrnn" | "funnel" by Seq2SeqConfig::encoder_model (the config's "model" section). Output
// h [B, S', E] (E = encoder_width()); the decoder's key/value layers take E inputs.
//
// Decoder input: x = LN(fq(E[id]) + fq(P[t])) with the tied byte embedding E [259, D] and learned
// positions P [max_target, D]. Each MattDecoderLayer (docs/seq2seq.md):
//   v = fq(x W_uᵀ + b_u);  sa_t = fq((1/t) Σ_{s<=t} v_s)                 (uniform causal part)
//   q = fq(x W_qᵀ + b_q);  k|v' = fq(H W_kvᵀ + b_kv) (once per source)
//   ctx = fq(concat_h fq01(softmax(fq(q_h k_hᵀ / sqrt(dh)), valid keys)) v'_h)   (cross part)
//   m = fq(sa + ctx);  o = fq(m W_oᵀ + b_o);  x1 = LN1(x + o)
//   x2 = LN2(x1 + fq(fq(relu(x1 W_1ᵀ + b_1)) W_2ᵀ + b_2))
// Output: logits = fq(h · fq_w(E)ᵀ + b) [.., 259]: E is fake-quantized per row as a weight
// (the runtime's dense layer with E as its int8 weight matrix), the input side reads E rows
// through an activation quantizer (the runtime's int8 embedding table).
//
// Ids (include/bytelite/byte_tokenizer.h): byte + 3, PAD 0, EOS 1. The decoder input starts with
// PAD (0) as the start id (as the original beam search's SOS), targets end with EOS (1).
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "train/classifier_model.h"
#include "train/config.h"
#include "train/fake_quant.h"
#include "train/layers.h"

namespace bytelite {

/// The start id fed to the decoder at step 1 (PAD, as the original's beam search SOS).
constexpr int64_t kSeq2SeqStartId = 0;

/// One MAtt decoder layer (spec §3.1) with QAT fake quantization.
class MattDecoderLayerImpl : public torch::nn::Module {
 public:
  /// memory_dim: width E of the encoder output (0: dim).
  MattDecoderLayerImpl(int64_t dim, int64_t heads, int64_t intermediate, double dropout,
                       QatStatePtr qat, int64_t memory_dim = 0);

  /// Keys and values of the encoder output: mem [B, S, E] -> [B, S, 2D] (fake-quantized).
  torch::Tensor memory(const torch::Tensor& mem);
  /// Teacher-forced forward: x [B, T, D]; kv from memory(); mem_mask [B, S]. Returns [B, T, D].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& kv,
                        const torch::Tensor& mem_mask);
  /// One step t (1-based) for B rows: x [B, D]; *sum [B, D] is the running sum Σ_{s<t} v_s of
  /// the rows (zeros at t = 1), replaced by Σ_{s<=t} v_s. Returns [B, D]. Same arithmetic as
  /// forward at position t - 1 (eval mode).
  torch::Tensor step(const torch::Tensor& x, int64_t t, torch::Tensor* sum, const torch::Tensor& kv,
                     const torch::Tensor& mem_mask);

  int64_t dim, heads, intermediate;
  double dropout;
  QDense uniform{nullptr}, query{nullptr}, key_value{nullptr}, output{nullptr};
  QDense ffn_in{nullptr}, ffn_out{nullptr};
  ActQuant average_quant{nullptr}, logits_quant{nullptr}, context_quant{nullptr};
  ActQuant merge_quant{nullptr};
  LayerNorm norm1{nullptr}, norm2{nullptr};

 private:
  torch::Tensor cross(const torch::Tensor& q, const torch::Tensor& kv,
                      const torch::Tensor& mem_mask);
  torch::Tensor finish(const torch::Tensor& x, const torch::Tensor& sa, const torch::Tensor& ctx);
  QatStatePtr qat_;
};
TORCH_MODULE(MattDecoderLayer);

/// The encoder config of a seq2seq section whose encoder is configured by that section
/// (EncoderKindInfo::seq2seq_section): embedding and model width dim (no bottleneck),
/// encoder_layers layers of num_heads heads and feed-forward intermediate_size, the seq2seq GBST
/// settings and dropout, logits scaled by 1/sqrt(dim/heads), per-channel post-LN layer norms.
ModelConfig seq2seq_encoder_model(const Seq2SeqConfig& c);

/// A padded batch of (source, target) pairs as model inputs.
struct Seq2SeqBatch {
  torch::Tensor src;       // [B, S] int64 ids (byte + 3), PAD 0 after the end
  torch::Tensor src_mask;  // [B, S] float
  torch::Tensor dec_in;    // [B, T] int64: start id, then the target ids without the EOS
  torch::Tensor target;    // [B, T] int64: target ids then EOS, PAD 0 after the end
  torch::Tensor tgt_mask;  // [B, T] float
};
/// Builds a batch from byte strings (sources truncated to max_source bytes, targets to
/// max_target - 1 bytes before the EOS).
Seq2SeqBatch make_seq2seq_batch(const std::vector<std::pair<std::string, std::string>>& pairs,
                                int64_t max_source, int64_t max_target);

class ByteSeq2SeqImpl : public torch::nn::Module {
 public:
  ByteSeq2SeqImpl(const Seq2SeqConfig& cfg, QatStatePtr qat);

  /// Encoder: src [B, S], mask [B, S] -> (h [B, S', E], mask [B, S']) (E = encoder_width()).
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& src,
                                                 const torch::Tensor& src_mask);
  /// Width E of the encoder output: D, or the classifier encoder's width.
  int64_t encoder_width() const;
  /// Per decoder layer: the keys and values of the encoder output [B, S', 2D].
  std::vector<torch::Tensor> memory(const torch::Tensor& h);
  /// Teacher-forced logits [B, T, 259] of decoder inputs dec_in [B, T].
  torch::Tensor forward(const torch::Tensor& src, const torch::Tensor& src_mask,
                        const torch::Tensor& dec_in);
  /// Token-level cross-entropy over valid target positions (label smoothing eps: the target
  /// distribution is (1 - eps) one-hot + eps uniform over the 259 ids).
  torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& target,
                     const torch::Tensor& tgt_mask) const;

  /// Incremental decoding state of B rows (one running sum per layer).
  struct StepState {
    std::vector<torch::Tensor> kv;    // per layer [B, S', 2D]
    torch::Tensor mem_mask;           // [B, S']
    std::vector<torch::Tensor> sums;  // per layer [B, D]
    int64_t t = 0;                    // steps done
  };
  StepState start(const torch::Tensor& src, const torch::Tensor& src_mask);
  /// One decoder step: ids [B] are the inputs at step state.t + 1; parents [B] (or undefined)
  /// reorder the rows' running sums first (row i continues row parents[i]). Returns logits
  /// [B, 259]. Eval mode.
  torch::Tensor step(StepState& state, const torch::Tensor& ids, const torch::Tensor& parents = {});

  int64_t parameter_count() const;

  /// torch::nn::Module::load, after checking that the archive is not a checkpoint of the
  /// pre-registry built-in encoder (tensors src_embedding, ..., encoder.N): throws
  /// ModelFileError for those (one line; they cannot be continued or exported, retrain).
  void load(torch::serialize::InputArchive& archive) override;

  /// Whether the encoder is configured by the seq2seq section (EncoderKindInfo::seq2seq_section)
  /// rather than by cfg.encoder_model.
  bool encoder_from_seq2seq_section() const;

  Seq2SeqConfig cfg;
  QatStatePtr qat;
  ByteClassifier classifier{nullptr};  // the encoder (num_labels 0)
  // decoder
  torch::Tensor embedding, position;  // tied [259, D], [max_target, D]
  ActQuant embedding_quant{nullptr}, position_quant{nullptr};
  LayerNorm dec_norm{nullptr};
  torch::nn::ModuleList decoder{nullptr};
  torch::Tensor logits_bias;  // [259]
  ActQuant logits_quant{nullptr};

 private:
  void build_decoder(int64_t E);
  torch::Tensor decoder_input(const torch::Tensor& ids, int64_t pos0);

  torch::Tensor project(const torch::Tensor& h);
};
TORCH_MODULE(ByteSeq2Seq);

}  // namespace bytelite

// libtorch layers of the byte encoders, each mirroring a runtime op of the same name
// (docs/architecture.md). Sequence tensors are [B, T, C] float with a mask [B, T] of 1 (valid)
// and 0 (padding); every layer leaves padded positions at 0, and no padded position ever
// changes a valid output (padding invariance is tested).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "train/fake_quant.h"
#include "train/qrnn_pool.h"

namespace bytelite {

/// A debug trace of the training forward: while a TraceScope is alive on this thread, the
/// encoder layers record their fake-quantized tensors under the runtime's tap names
/// (runtime/ops/taps.h), so the differential tests compare the runtime's rt::Trace against the
/// training code's own forward. Meant for eval mode and one sequence (batch row 0 is recorded).
struct TorchTrace {
  struct Entry {
    std::string name;
    torch::Tensor value;  // [rows, cols]: row 0 of a [B, T, C] tensor, or [1, C] of a [B, C] one
    QuantParams params;   // the params the value is fake-quantized with
  };
  std::vector<Entry> entries;
  /// The first entry named `name`, or nullptr.
  const Entry* find(const std::string& name) const;
};

/// Makes `trace` the active trace of this thread until destroyed (the previous one after).
class TraceScope {
 public:
  explicit TraceScope(TorchTrace* trace);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  TorchTrace* previous_;
};

/// Whether a TraceScope is active on this thread (callers skip building tap names otherwise).
bool tracing();
/// Records a detached copy of t (see TorchTrace::Entry) under name when tracing; else nothing.
void tap(const std::string& name, const torch::Tensor& t, const QuantParams& params);

enum class Activation { kNone, kRelu };

/// Quantized dense layer with optional batch normalization folded into the weights before
/// weight fake-quantization (Jacob et al. 2018 §3.2; as torch.ao's ConvBn QAT modules do):
///   eval:  y = act(x · fq(W ⊙ γ/σ)ᵀ + (β - γ μ / σ))     with running μ, σ² (= runtime)
///   train: y = act(BN_batch(x · fq(W ⊙ γ/σ)ᵀ ⊘ (γ/σ)))   batch statistics over valid rows
/// followed by the output activation quantizer. Without normalization: y = act(x·fq(W)ᵀ + b).
/// W is [out, in] (parameter "weight"); BN parameters "bn_gamma", "bn_beta", buffers
/// "bn_mean", "bn_var" (momentum 0.1, ε 1e-5).
class QDenseImpl : public torch::nn::Module {
 public:
  QDenseImpl(int64_t in, int64_t out, bool batch_norm, Activation act, QatStatePtr qat,
             bool quantize_output = true);
  /// x [..., in]; row_mask [...] (1 = valid row, used for batch statistics) or undefined.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& row_mask = {});
  /// Folded float weight [out, in] and bias [out] as the runtime sees them (before int8).
  std::pair<torch::Tensor, torch::Tensor> folded() const;

  int64_t in_features, out_features;
  bool batch_norm;
  Activation activation;
  torch::Tensor weight, bias, bn_gamma, bn_beta, bn_mean, bn_var;
  ActQuant out_quant{nullptr};  // null when quantize_output == false

 private:
  QatStatePtr qat_;
};
TORCH_MODULE(QDense);

/// Concatenates the k-wide window of each position along channels: [B,T,C] -> [B,T,k*C].
/// Causal (reverse=false): tap j of position t is x[t-(k-1)+j]; reverse: x[t+j]. Outside the
/// sequence the taps read zeros. A convolution of width k is this window followed by a dense
/// layer with weight layout [out, j*C + c].
torch::Tensor conv_window(const torch::Tensor& x, int64_t k, bool reverse);

/// Mean over non-overlapping blocks of `width` positions, counting only valid positions
/// (blocks with no valid position give 0). x [B,T,C], mask [B,T] ->
/// ([B, ceil(T/width), C], block mask [B, ceil(T/width)]).
std::pair<torch::Tensor, torch::Tensor> masked_block_mean(const torch::Tensor& x,
                                                          const torch::Tensor& mask, int64_t width);

/// GBST, gradient-based subword tokenization (Tay et al. 2021, "Charformer", §2.1): a causal
/// conv, block candidates of widths 1..max_block_width (masked block means), one linear score
/// per block, softmax over the block widths at each position, the score-weighted sum of the
/// upsampled candidates, then mean-pool downsampling by `downsample_rate`.
/// x [B,L,D] -> [B, ceil(L/r), D] with mask [B, ceil(L/r)].
class GbstImpl : public torch::nn::Module {
 public:
  GbstImpl(int64_t dim, int64_t max_block_width, int64_t conv_kernel, int64_t downsample_rate,
           QatStatePtr qat);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x,
                                                  const torch::Tensor& mask);

  int64_t dim, max_block_width, conv_kernel, downsample_rate;
  QDense conv{nullptr}, score{nullptr};
  ActQuant score_quant{nullptr}, mix_quant{nullptr};

 private:
  QatStatePtr qat_;
};
TORCH_MODULE(Gbst);

/// One bidirectional QRNN layer with fo-pooling and zoneout (spec §2.6): per direction a gate
/// conv of width k (in -> 3S: Z, F, O, batch norm folded), z = tanh, f = o = sigmoid,
/// m = f, c = (1-f) z, h = fo-pool(m, c), y = h ⊙ o; output [y_fwd, y_bwd] of width 2S.
class QrnnLayerImpl : public torch::nn::Module {
 public:
  QrnnLayerImpl(int64_t in, int64_t state, int64_t kernel, double zoneout, QatStatePtr qat);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);

  int64_t in_features, state_size, kernel_width;
  double zoneout;
  QDense gates_fwd{nullptr}, gates_bwd{nullptr};
  std::string tap_name = "qrnn";  // taps::qrnn_layer(i), set by the encoder that owns it

 private:
  torch::Tensor direction(const torch::Tensor& x, const torch::Tensor& mask, bool reverse);
  QatStatePtr qat_;
};
TORCH_MODULE(QrnnLayer);

/// Attention pooling (spec §2.7, without the original's ReLU + BN on the logits): a linear
/// score per position, softmax over valid positions, weighted sum. [B,T,D] -> [B,D].
class AttentionPoolImpl : public torch::nn::Module {
 public:
  AttentionPoolImpl(int64_t dim, QatStatePtr qat);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);

  QDense score{nullptr};
  ActQuant out_quant{nullptr};

 private:
  QatStatePtr qat_;
};
TORCH_MODULE(AttentionPool);

/// Layer normalization over the last axis (Ba et al. 2016) with the input fake-quantized by its
/// own EMA range (spec §2.4): y = (x - mean) / sqrt(var + 1e-6) * gamma + beta, population
/// variance, then the output quantizer. gamma, beta are [D] ("channel") or [1] ("scalar", the
/// original's quirk). x [..., D] -> [..., D].
class LayerNormImpl : public torch::nn::Module {
 public:
  static constexpr double kEpsilon = 1e-6;
  LayerNormImpl(int64_t dim, bool scalar, QatStatePtr qat);
  torch::Tensor forward(const torch::Tensor& x);

  int64_t dim;
  bool scalar;
  torch::Tensor gamma, beta;
  ActQuant in_quant{nullptr}, out_quant{nullptr};
};
TORCH_MODULE(LayerNorm);

/// One post-LN Transformer encoder layer (Vaswani et al. 2017; spec §2.8) that doubles as a
/// Funnel-Transformer layer (Dai et al. 2020, "pool-query-only"; spec §2.9): with
/// pool_window w > 1 the query stream h is first mean-pooled over blocks of w valid positions
/// (masked_block_mean, re-quantized with the input's params); keys and values always come from
/// the unpooled input m.
///   q = query(h) [Tq, D];  k | v = key_value(m) [S, 2D];  per head (dh = D / H):
///   logits = fq_logits(q_h k_hᵀ · c), c = 1/sqrt(dh) ("sqrt") or 1 ("none", the original);
///   a = fq_[0,1](softmax over valid keys);  ctx = fq_ctx(concat_h a v_h);
///   post: x1 = norm1(h + output(ctx)); x2 = norm2(x1 + ffn_out(relu(ffn_in(x1))))
///   pre:  x1 = res1(h + output(ctx(norm1 h))); x2 = res2(x1 + ffn(norm2 x1))  (no funnel)
/// Dense layers have a bias and no batch normalization. Dropout on the attention output and
/// the feed-forward output. x [B,T,D] with mask [B,T] -> ([B,Tq,D], mask [B,Tq]).
class TransformerLayerImpl : public torch::nn::Module {
 public:
  TransformerLayerImpl(int64_t dim, int64_t heads, int64_t intermediate, int64_t pool_window,
                       bool scale_logits, bool scalar_norm, bool pre_norm, double dropout,
                       QatStatePtr qat);
  /// `in_quant` is the quantizer whose params x carries (re-used for the pooled queries).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& mask,
                                                  ActQuantImpl* in_quant);
  /// Quantizer of this layer's output (norm2's output, or res2 for pre-norm).
  ActQuantImpl* output_quant();

  int64_t dim, heads, intermediate, pool_window;
  bool scale_logits, pre_norm;
  double dropout;
  QDense query{nullptr}, key_value{nullptr}, output{nullptr}, ffn_in{nullptr}, ffn_out{nullptr};
  ActQuant logits_quant{nullptr}, context_quant{nullptr};
  ActQuant res1_quant{nullptr}, res2_quant{nullptr};  // pre-norm only
  LayerNorm norm1{nullptr}, norm2{nullptr};
  std::string tap_name = "layers";  // taps::transformer_layer(i), set by the encoder

 private:
  QatStatePtr qat_;
};
TORCH_MODULE(TransformerLayer);

}  // namespace bytelite

// Fake quantization for quantization-aware training (Jacob et al. 2018, "Quantization and
// Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference").
//
// The int8 scheme (docs/quantization.md) that training simulates and the runtime computes:
//  - activations: per-tensor affine int8, q in [-128, 127], real = (q - zero_point) * scale; the
//    range [min, max] always contains 0 so that 0 is exactly representable;
//  - weights: per-output-channel symmetric int8, q in [-127, 127], zero point 0,
//    scale_c = max|W_c| / 127 (1 if the channel is all zeros);
//  - rounding: round half to even (std::nearbyint), as torch::fake_quantize_* does.
// Gradients use the straight-through estimator: identity inside the range, zero outside.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>

namespace bytelite {

/// Per-tensor affine int8 parameters: real = (q - zero_point) * scale, q in [-128, 127].
struct QuantParams {
  double scale = 1.0;
  int64_t zero_point = 0;
};

/// Params covering [min(lo,0), max(hi,0)] (a degenerate range becomes [0, 1e-6]).
QuantParams quant_params_from_range(double lo, double hi);

/// Fixed ranges of bounded nonlinearities: [0, 1] (sigmoid, softmax) is scale 1/255 with zero
/// point -128, so 0 and 1 are exact; [-1, 1] (tanh, QRNN state) is scale 1/127, zero point 0.
inline QuantParams unit_range_params() { return {1.0 / 255.0, -128}; }
inline QuantParams signed_unit_range_params() { return {1.0 / 127.0, 0}; }

/// x -> (clamp(round(x / s) + z, -128, 127) - z) * s with a straight-through gradient.
torch::Tensor fake_quant(const torch::Tensor& x, const QuantParams& p);

/// Per-output-channel symmetric weight scales for W [out, in]: max|W_c| / 127 (float [out]).
torch::Tensor weight_scales(const torch::Tensor& w);
/// Fake-quantizes W [out, in] per output channel to int8 [-127, 127] (straight-through).
torch::Tensor fake_quant_weight(const torch::Tensor& w);

/// Shared switch of one model: whether QAT is configured, and whether fake quantization is
/// active yet (after the warm-up steps, training only observes activation ranges).
struct QatState {
  bool enabled = true;
  bool active = false;
  double ema_decay = 0.99;
  /// True when fake quantization applies: always in eval mode if enabled, after warm-up in
  /// training.
  bool apply(bool training) const { return enabled && (!training || active); }
  /// Data parallelism (train/distributed.h) sets these so that each rank's training forward pass
  /// sees the global batch's statistics (empty: one process). sync_min_max: in place, the
  /// minimum of *lo and the maximum of *hi over the ranks (activation ranges observed in
  /// training); sync_sum: the elementwise sum of a tensor over the ranks, whose gradient is the
  /// sum of the ranks' gradients (batch-norm statistics, as PyTorch's SyncBatchNorm). Every
  /// rank must make the same calls in the same order.
  std::function<void(float* lo, float* hi)> sync_min_max;
  std::function<torch::Tensor(const torch::Tensor&)> sync_sum;
};
using QatStatePtr = std::shared_ptr<QatState>;

/// Activation quantizer with a range tracked by an exponential moving average of batch min/max
/// (buffers "range" = [min, max] and "observed"). Training: observe (EMA), then fake-quantize
/// with the EMA range if active. Eval: fake-quantize with the stored range.
class ActQuantImpl : public torch::nn::Module {
 public:
  explicit ActQuantImpl(QatStatePtr state);
  torch::Tensor forward(const torch::Tensor& x);
  /// Fake-quantizes with this quantizer's range without observing (for tensors that share the
  /// range, e.g. GBST block candidates share the conv output's range).
  torch::Tensor quantize_only(const torch::Tensor& x);
  QuantParams params() const;
  bool observed() const;

 private:
  QatStatePtr state_;
  torch::Tensor range_;     // float [2]
  torch::Tensor observed_;  // float [1], 1 once a batch was seen
};
TORCH_MODULE(ActQuant);

/// Fake quantizer with a fixed range (no state): applies when the QAT state says so.
torch::Tensor fake_quant_fixed(const torch::Tensor& x, const QuantParams& p, const QatState& s,
                               bool training);

}  // namespace bytelite

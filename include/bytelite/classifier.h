// Text classification with an int8 ByteQRNN model (libbytelite; no libtorch).
//
// Method: the ByteQRNN of SeqFlowLite (Google Research, tensorflow/models
// research/seq_flow_lite) with the deviations in docs/deviations.md, trained with
// quantization-aware training and run with integer-only arithmetic (Jacob et al. 2018,
// "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
// Inference"). docs/runtime.md lists the ops and the arithmetic of each.
//
// Input: any bytes. The text is tokenized into byte ids (ByteTokenizer, include/bytelite/
// byte_tokenizer.h) and truncated to ModelInfo::max_length bytes; an empty text is one PAD id.
// Newlines, NUL bytes and invalid UTF-8 are ordinary bytes: one text is always one example.
//
// Output: probabilities in [0, 1] (softmax over the labels, which sums to 1 up to float
// rounding, or one sigmoid per label for multi-label models) and the predicted labels.
//
// Determinism: the integer kernels give bit-identical results on every CPU and every kernel
// path (reference C++, AVX2, AVX-512 VNNI), and classify_batch gives the same results for every
// thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bytelite/model.h"

namespace bytelite {

/// Kernel paths. kAuto picks the fastest the CPU supports (cpuid), unless the environment
/// variable BYTELITE_ISA=reference|avx2|avx512vnni names another supported one. Every path gives
/// bit-identical results.
enum class KernelIsa { kAuto, kReference, kAvx2, kAvx512Vnni };

struct ClassifierOptions {
  KernelIsa isa = KernelIsa::kAuto;
};

struct Prediction {
  /// One probability per label (ModelInfo::labels order).
  std::vector<float> probabilities;
  /// Predicted label indices, by the model's decision rule: single-label with two labels and
  /// one threshold t: {1} if p[1] >= t else {0}; single-label otherwise: {argmax} (lowest index
  /// on ties); multi-label: every l with p[l] >= thresholds[l] (0.5 without thresholds), in
  /// index order (may be empty).
  std::vector<int32_t> labels;
};

class Classifier {
 public:
  /// Throws ConfigError if `options.isa` names a path this CPU lacks.
  explicit Classifier(std::shared_ptr<const Model> model, ClassifierOptions options = {});
  /// Model::load + constructor.
  static Classifier load(const std::string& path, ClassifierOptions options = {});

  /// Classifies one text. Thread-safe.
  Prediction classify(std::string_view text) const;
  /// Texts per forward pass of classify_batch by default: one, the fastest on the machine it was
  /// measured on (docs/runtime.md "Batched inference": the one-text forward of the ByteQRNN
  /// models stays in the L1/L2 caches and its GEMMs are already near the int8 peak, so packing
  /// texts together costs more in cache misses and straddling windows than it saves).
  static constexpr int kDefaultBatchSize = 1;

  /// Classifies texts with `threads` worker threads (values below 1 mean 1), `batch_size` texts
  /// (>= 1; InvalidArgument otherwise) per forward pass: the texts of a batch are packed back to
  /// back, so every GEMM of the network runs over all their positions at once, with no padding
  /// beyond each text's own convolution padding (docs/runtime.md "Batched inference"). Batches
  /// are consecutive texts; each batch is processed by one thread. Output i belongs to texts[i]
  /// and is bit-identical to classify(texts[i]) for every thread count and batch size.
  std::vector<Prediction> classify_batch(const std::vector<std::string>& texts, int threads = 1,
                                         int batch_size = kDefaultBatchSize) const;
  /// One batch on the calling thread: out[i] = classify(texts[i]) for i < n, computed in forward
  /// passes of at most batch_size (>= 1) texts. Thread-safe.
  void classify_texts(const std::string* texts, size_t n, Prediction* out,
                      int batch_size = kDefaultBatchSize) const;
  /// classify_texts without the decision rule, for callers that only need the probabilities
  /// (the `predict` CLI applies its own thresholds), on views of the texts: probabilities[i * C +
  /// l] (C = info().labels.size(), so the buffer holds n * C floats) =
  /// classify(texts[i]).probabilities[l], bit for bit; nothing is allocated per text once the
  /// thread's buffers have grown. batch_size >= 1 (InvalidArgument otherwise). Thread-safe.
  void classify_probabilities(const std::string_view* texts, size_t n, float* probabilities,
                              int batch_size = kDefaultBatchSize) const;

  /// The decision rule of Prediction::labels applied to given probabilities and thresholds
  /// (empty thresholds: argmax, or 0.5 per label for multi-label models).
  std::vector<int32_t> decide(const std::vector<float>& probabilities,
                              const std::vector<float>& thresholds) const;

  /// Token ids of a text as the model sees them (truncated; an empty text is {PAD}).
  std::vector<int32_t> encode(std::string_view text) const;
  /// Int8 logits for token ids (each in [0, 259), at least one): the head's output, real value
  /// (q - zero_point) * scale with the parameters returned by logit_params.
  std::vector<int8_t> logits(const std::vector<int32_t>& ids) const;
  /// Scale and zero point of the logits.
  std::pair<float, int32_t> logit_params() const;

  const ModelInfo& info() const { return model_->info(); }
  const Model& model() const { return *model_; }
  /// The kernel path in use (never kAuto).
  KernelIsa isa() const { return isa_; }

  static const char* isa_name(KernelIsa isa);
  /// Paths this CPU supports, slowest (reference) first.
  static std::vector<KernelIsa> available_isas();

 private:
  std::shared_ptr<const Model> model_;
  KernelIsa isa_;
};

}  // namespace bytelite

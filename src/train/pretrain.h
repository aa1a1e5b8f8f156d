// Self-supervised pretraining of the byte encoders: masked byte spans predicted by a light head
// (docs/pretraining.md, "The objective").
//
// Objective. In each packed sequence (core/corpus.h) of n valid ids, round(mask_rate * n) ids
// are masked in k = round(masked / mean_span) contiguous, non-adjacent spans, as in the span
// corruption of T5 (Raffel et al. 2020, section "Unsupervised objectives") and ByT5 (Xue et al.
// 2022, which uses a mean span of 20 bytes for its encoder-decoder) and the contiguous span masking
// of CANINE (Clark et al. 2022, which predicts characters from downsampled positions). Masked ids
// are replaced by the MASK id, UNK (2): the tokenizer never produces UNK, so the vocabulary stays
// at 259 ids and the int8 runtime needs no change. The encoder (ByteClassifierImpl::encode, with
// its fake quantizers, so QAT carries over to fine-tuning) maps [B, L] ids to [B, T', C] with T' =
// ceil(L / r), where output position t covers the r = bytes_per_position() input bytes [t r, t r +
// r) (GBST downsampling, and for the funnel its pool windows). A light head, one QDense C -> r *
// 259 without batch norm, predicts the original ids of all r bytes of each position; the loss is
// the cross-entropy over the masked ids only (unmasked ids, and PAD, have no loss). Span lengths
// are drawn by a uniformly random split of the masked ids into k non-empty spans and of the
// unmasked ids into k + 1 gaps (the first and last may be empty), so the masked count is exact and
// the mean span length is masked / k (2.92 for n = 256). PAD (mask 0) is never masked; EOS
// separators between documents may be.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/corpus.h"
#include "train/classifier_model.h"
#include "train/config.h"

namespace bytelite {

/// The MASK id that replaces masked bytes: UNK, never produced by ByteTokenizer.
constexpr int32_t kMaskId = 2;

/// Chooses the masked positions of one sequence. `valid` marks valid ids (1) and PAD (0); only
/// the leading run of valid positions is considered (packed sequences put PAD last). Writes
/// masked[t] = 1 for masked positions, 0 otherwise (size L). Deterministic for `seed`. Fewer
/// than 2 valid ids: nothing is masked. Otherwise 1 <= masked <= n - 1.
void choose_masked_spans(const uint8_t* valid, int L, double mask_rate, double mean_span,
                         uint64_t seed, uint8_t* masked);

/// A packed batch with its masked spans, as tensors.
struct MaskedBatch {
  torch::Tensor ids;      // [B, L] int64: inputs, masked positions set to kMaskId
  torch::Tensor mask;     // [B, L] float: 1 valid, 0 PAD
  torch::Tensor targets;  // [B, L] int64: the original id at masked positions, -100 elsewhere
  int64_t masked = 0;     // number of masked positions
};

/// Masks a batch; row r of step `step` uses the seed mix(seed, step, row_offset + r), so the masks
/// of a run are reproducible and need no RNG state in checkpoints (data-parallel rank k passes
/// row_offset k x batch_size, so no two rows of a global batch share a seed).
MaskedBatch mask_batch(const PackedBatch& batch, double mask_rate, double mean_span, uint64_t seed,
                       int64_t step, int64_t row_offset = 0);

/// The pretraining model: an encoder-only ByteClassifier ("encoder.*", the same tensor names
/// the classifier has, prefixed) and the light prediction head ("mlm_head.*").
class ByteMlmImpl : public torch::nn::Module {
 public:
  ByteMlmImpl(const ExperimentConfig& cfg, QatStatePtr qat);
  /// Logits [B, L, 259] for ids/mask [B, L] (one row of logits per input position).
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask);

  ByteClassifier encoder{nullptr};
  QDense mlm_head{nullptr};
  int64_t bytes_per_position = 1;
};
TORCH_MODULE(ByteMlm);

struct MlmLoss {
  torch::Tensor loss;   // mean cross-entropy over masked positions (scalar)
  double accuracy = 0;  // argmax == original id, over masked positions
  int64_t masked = 0;
};
MlmLoss mlm_loss(const torch::Tensor& logits, const torch::Tensor& targets);

struct PretrainOptions {
  std::vector<std::string> corpus;  // training corpus files (corpus.h formats)
  std::string out_dir;              // created if missing
  bool resume = false;              // continue from out_dir/last.ckpt
  long max_steps = 0;               // stop after this step (0: pretrain.steps); the schedule
                                    // still spans pretrain.steps
  long stop_after = 0;  // stop at the first evaluation at or after this step, resumable with
                        // resume (0 = off)
  // A pretraining checkpoint (a file, or the OUT of 'bytelite pretrain') to continue from as a
  // fresh run (init_pretraining_from: weights only; step 0, new optimizer and schedule), e.g. on
  // another corpus. Ignored with resume. "" = none.
  std::string init_from;
  bool verbose = true;
  // Called after each evaluation with the record appended to OUT/pretrain_log.jsonl (step,
  // train_loss, train_accuracy, lr, bytes, seconds, heldout_*), on the training thread; an
  // exception it throws ends the run. Empty: none.
  std::function<void(const nlohmann::json& record)> on_eval = nullptr;
};

struct PretrainResult {
  int64_t steps = 0;
  double heldout_loss = NAN, heldout_accuracy = NAN;  // at the last evaluation (NaN: none)
  double train_loss = NAN, train_accuracy = NAN;      // moving averages at the end
  double seconds = 0;
  double bytes_per_s = 0;  // ids (bytes) of training sequences per second in this run
  std::string checkpoint;  // out_dir/last.ckpt
};

/// Pretrains the encoder described by cfg.model with cfg.pretrain on the corpus and writes
/// out_dir/{last.ckpt,config.json,pretrain_log.jsonl}. The loop is the Trainer of train/loop.h;
/// last.ckpt (its resumable format) is written atomically at the start, at every evaluation and
/// at the end, and holds model, optimizer, step and torch RNG state; --resume
/// replays the corpus stream up to the saved step, so a resumed run is bit-identical to an
/// uninterrupted one (same thread count). Throws ConfigError, InputError, ModelFileError or
/// TrainingError (non-finite loss).
PretrainResult pretrain_encoder(const ExperimentConfig& cfg, const PretrainOptions& opts);

/// Loads a pretraining checkpoint (a file, or DIR/last.ckpt): the model in eval mode, and
/// optionally its config and step. Throws ModelFileError naming the file.
ByteMlm load_pretrain_checkpoint(const std::string& path_or_dir, ExperimentConfig* cfg = nullptr,
                                 int64_t* step = nullptr);

/// Config keys that must be equal between the pretraining and the fine-tuning config:
/// "tokenizer.lowercase_ascii", the model keys of the encoder, and for transformer / funnel
/// encoders "tokenizer.max_length" (the position table). Returns "key: a vs b" for each
/// difference (empty: compatible).
std::vector<std::string> encoder_config_differences(const ExperimentConfig& finetune,
                                                    const ExperimentConfig& pretrain);

/// Copies the encoder tensors (parameters and buffers: every tensor except "pool.*",
/// "pool_concat_quant.*" and "head.*") of a pretraining checkpoint (a file, or DIR/last.ckpt)
/// into model. Every encoder tensor must exist in the checkpoint with the same shape, and the
/// checkpoint must hold no other encoder tensor; otherwise ModelFileError naming the tensor and
/// both shapes. Then the config keys of encoder_config_differences must match (ConfigError).
/// Returns the number of tensors copied; *pretrain_step (if given) gets the checkpoint's step.
int64_t init_encoder_from(ByteClassifier& model, const ExperimentConfig& cfg,
                          const std::string& path_or_dir, int64_t* pretrain_step = nullptr);

/// Copies every tensor (parameters and buffers: "encoder.*" and "mlm_head.*") of a pretraining
/// checkpoint (a file, or DIR/last.ckpt) into the pretraining model `model` built from cfg, for
/// `bytelite pretrain --init-from` (continued pretraining, e.g. on another corpus). The config
/// keys of encoder_config_differences must match (ConfigError naming each differing key); then
/// every tensor must exist with the same shape (ModelFileError naming it). Leaves torch's
/// generator as it was. Returns the number of tensors copied; *pretrain_step (if given) gets the
/// checkpoint's step.
int64_t init_pretraining_from(ByteMlm& model, const ExperimentConfig& cfg,
                              const std::string& path_or_dir, int64_t* pretrain_step = nullptr);

}  // namespace bytelite

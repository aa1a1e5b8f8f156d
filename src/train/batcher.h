// Turns a Dataset into token-id batches for the libtorch models.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/byte_tokenizer.h"
#include "core/dataset.h"

namespace bytelite {

struct EncodedDataset {
  std::vector<std::vector<int32_t>> ids;  // per example, 1..max_length ids
  std::vector<int32_t> labels;            // single-label class indices (empty if multi-label)
  std::vector<float> targets;             // multi-label targets [N * num_labels]
  std::vector<float> teacher;  // teacher probabilities [N * num_labels] (empty: no distillation)
  int64_t num_labels = 0;
  bool multilabel = false;
  int64_t truncated = 0;  // examples longer than max_length
  int max_length = 0;     // the tokenizer's max_length (the longest id sequence)
  size_t size() const { return ids.size(); }
};

/// Encodes texts with the byte tokenizer. An empty text becomes one PAD id (a sequence of
/// length 1), so every example has at least one position.
std::vector<int32_t> encode_text(const ByteTokenizer& tok, const std::string& text,
                                 bool* truncated = nullptr);
EncodedDataset encode_dataset(const Dataset& data, const ByteTokenizer& tok);

struct Batch {
  torch::Tensor ids;      // [B, L] int64, L = longest example in the batch, PAD-filled
  torch::Tensor mask;     // [B, L] float
  torch::Tensor labels;   // [B] int64 (single-label)
  torch::Tensor targets;  // [B, C] float (multi-label)
  torch::Tensor teacher;  // [B, C] float teacher probabilities (defined if data.teacher is set)
};

Batch make_batch(const EncodedDataset& data, const std::vector<int64_t>& indices);
/// make_batch with text distortion (train/text_distortion.h): the bytes of example i are
/// distorted with `distortion_probability` per word and the seed distortion_seed(seed, epoch, i),
/// after the tokenizer's lower-casing and truncation, and truncated to data.max_length again
/// (insertions can lengthen a text). distortion_probability 0 gives make_batch(data, indices).
Batch make_batch(const EncodedDataset& data, const std::vector<int64_t>& indices,
                 double distortion_probability, uint64_t seed, int64_t epoch);
/// Batch of raw id sequences (no labels).
Batch make_batch(const std::vector<std::vector<int32_t>>& seqs,
                 const std::vector<int64_t>& indices);

/// The training batches of one epoch: a shuffle of 0..n-1 (std::mt19937_64 seeded with
/// seed * 1000003 + epoch) cut into batches of batch_size. With bucket_by_length, each run of
/// 50 batches is first sorted by sequence length and the batches are then shuffled, so a batch
/// holds texts of similar length and little padding is computed (results do not depend on
/// padding; only the batch composition changes). Always ceil(n / batch_size) batches.
std::vector<std::vector<int64_t>> epoch_batches(const std::vector<std::vector<int32_t>>& seqs,
                                                int batch_size, uint64_t seed, int64_t epoch,
                                                bool bucket_by_length);

/// The pool rows of distillation's unlabelled pool (docs/distillation.md) for each training
/// step: the pool is read in pool epochs, each a shuffle of 0..pool_size-1 (std::mt19937_64
/// seeded with seed * 1000003 + pool epoch + 0x9E3779B97F4A7C15, so not the labelled epochs'
/// order), and step s takes the `rows_per_step` positions s * rows_per_step ... of that endless
/// sequence (a step can span two pool epochs). So every pool row is used once per pool epoch
/// (pool_size / rows_per_step steps), and the rows of a step depend only on (seed, step): resumed
/// runs repeat them. Throws InvalidArgument if pool_size or rows_per_step is < 1.
class PoolSampler {
 public:
  PoolSampler(int64_t pool_size, int64_t rows_per_step, uint64_t seed);
  std::vector<int64_t> step_rows(int64_t step);
  int64_t pool_size() const { return n_; }

 private:
  const std::vector<int64_t>& order(int64_t pool_epoch);
  int64_t n_, rows_;
  uint64_t seed_;
  int64_t cached_epoch_[2] = {-1, -1};
  std::vector<int64_t> cached_[2];
};

/// Indices 0..n-1 grouped into batches of `batch_size`, ordered by sequence length (for fast
/// evaluation: little padding). The order of predictions is restored by the caller.
std::vector<std::vector<int64_t>> length_sorted_batches(
    const std::vector<std::vector<int32_t>>& seqs, int batch_size);

}  // namespace bytelite

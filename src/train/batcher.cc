#include "train/batcher.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "core/errors.h"
#include "train/text_distortion.h"

namespace bytelite {

std::vector<int32_t> encode_text(const ByteTokenizer& tok, const std::string& text,
                                 bool* truncated) {
  auto ids = tok.encode(text, truncated);
  if (ids.empty()) ids.push_back(kPadId);
  return ids;
}

EncodedDataset encode_dataset(const Dataset& data, const ByteTokenizer& tok) {
  EncodedDataset e;
  e.multilabel = data.multilabel;
  e.num_labels = static_cast<int64_t>(data.label_names.size());
  e.max_length = tok.max_length();
  e.ids.reserve(data.examples.size());
  for (const auto& ex : data.examples) {
    bool trunc = false;
    e.ids.push_back(encode_text(tok, ex.text, &trunc));
    e.truncated += trunc ? 1 : 0;
    if (data.multilabel) {
      e.targets.insert(e.targets.end(), ex.targets.begin(), ex.targets.end());
    } else {
      e.labels.push_back(ex.label);
    }
  }
  return e;
}

Batch make_batch(const std::vector<std::vector<int32_t>>& seqs,
                 const std::vector<int64_t>& indices) {
  const int64_t B = static_cast<int64_t>(indices.size());
  size_t L = 1;
  for (auto i : indices) L = std::max(L, seqs[i].size());
  Batch b;
  b.ids = torch::zeros({B, static_cast<int64_t>(L)}, torch::kLong);
  b.mask = torch::zeros({B, static_cast<int64_t>(L)}, torch::kFloat);
  auto ids = b.ids.accessor<int64_t, 2>();
  auto mask = b.mask.accessor<float, 2>();
  for (int64_t r = 0; r < B; ++r) {
    const auto& s = seqs[indices[r]];
    for (size_t t = 0; t < s.size(); ++t) {
      ids[r][t] = s[t];
      mask[r][t] = 1.0f;
    }
  }
  return b;
}

namespace {

// The labels (and teacher probabilities) of the examples `indices` into b.
void add_labels(const EncodedDataset& data, const std::vector<int64_t>& indices, Batch& b) {
  const int64_t B = static_cast<int64_t>(indices.size());
  if (!data.teacher.empty()) {
    b.teacher = torch::empty({B, data.num_labels}, torch::kFloat);
    auto t = b.teacher.accessor<float, 2>();
    for (int64_t r = 0; r < B; ++r)
      for (int64_t c = 0; c < data.num_labels; ++c)
        t[r][c] = data.teacher[indices[r] * data.num_labels + c];
  }
  if (data.multilabel) {
    b.targets = torch::empty({B, data.num_labels}, torch::kFloat);
    auto t = b.targets.accessor<float, 2>();
    for (int64_t r = 0; r < B; ++r)
      for (int64_t c = 0; c < data.num_labels; ++c)
        t[r][c] = data.targets[indices[r] * data.num_labels + c];
  } else {
    b.labels = torch::empty({B}, torch::kLong);
    auto l = b.labels.accessor<int64_t, 1>();
    for (int64_t r = 0; r < B; ++r) l[r] = data.labels[indices[r]];
  }
}

}  // namespace

Batch make_batch(const EncodedDataset& data, const std::vector<int64_t>& indices) {
  Batch b = make_batch(data.ids, indices);
  add_labels(data, indices, b);
  return b;
}

Batch make_batch(const EncodedDataset& data, const std::vector<int64_t>& indices,
                 double distortion_probability, uint64_t seed, int64_t epoch) {
  if (distortion_probability == 0.0) return make_batch(data, indices);
  std::vector<std::vector<int32_t>> seqs;
  seqs.reserve(indices.size());
  for (int64_t i : indices) {
    const std::string text = distort_text(ByteTokenizer::decode(data.ids[i]),
                                          distortion_probability, distortion_seed(seed, epoch, i));
    const size_t n = data.max_length > 0
                         ? std::min(text.size(), static_cast<size_t>(data.max_length))
                         : text.size();
    std::vector<int32_t> ids(n);
    for (size_t k = 0; k < n; ++k) ids[k] = static_cast<unsigned char>(text[k]) + kByteOffset;
    if (ids.empty()) ids.push_back(kPadId);
    seqs.push_back(std::move(ids));
  }
  std::vector<int64_t> rows(indices.size());
  std::iota(rows.begin(), rows.end(), 0);
  Batch b = make_batch(seqs, rows);
  add_labels(data, indices, b);
  return b;
}

std::vector<std::vector<int64_t>> epoch_batches(const std::vector<std::vector<int32_t>>& seqs,
                                                int batch_size, uint64_t seed, int64_t epoch,
                                                bool bucket_by_length) {
  const size_t n = seqs.size();
  const size_t bs = static_cast<size_t>(batch_size);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed * 1000003ULL + static_cast<uint64_t>(epoch));
  std::shuffle(order.begin(), order.end(), rng);
  if (bucket_by_length) {
    const size_t pool = bs * 50;
    for (size_t i = 0; i < n; i += pool) {
      std::stable_sort(order.begin() + i, order.begin() + std::min(n, i + pool),
                       [&](int64_t a, int64_t b) { return seqs[a].size() < seqs[b].size(); });
    }
  }
  std::vector<std::vector<int64_t>> batches;
  for (size_t i = 0; i < n; i += bs) {
    batches.emplace_back(order.begin() + i, order.begin() + std::min(n, i + bs));
  }
  if (bucket_by_length) std::shuffle(batches.begin(), batches.end(), rng);
  return batches;
}

PoolSampler::PoolSampler(int64_t pool_size, int64_t rows_per_step, uint64_t seed)
    : n_(pool_size), rows_(rows_per_step), seed_(seed) {
  if (pool_size < 1 || rows_per_step < 1) {
    throw InvalidArgument("PoolSampler: expected a pool and rows per step >= 1, found " +
                          std::to_string(pool_size) + " and " + std::to_string(rows_per_step));
  }
}

const std::vector<int64_t>& PoolSampler::order(int64_t pool_epoch) {
  for (int k = 0; k < 2; ++k)
    if (cached_epoch_[k] == pool_epoch) return cached_[k];
  const int k = pool_epoch % 2 == 0 ? 0 : 1;  // consecutive pool epochs use both slots
  std::vector<int64_t>& o = cached_[k];
  o.resize(static_cast<size_t>(n_));
  std::iota(o.begin(), o.end(), 0);
  std::mt19937_64 rng(seed_ * 1000003ULL + static_cast<uint64_t>(pool_epoch) +
                      0x9E3779B97F4A7C15ULL);
  std::shuffle(o.begin(), o.end(), rng);
  cached_epoch_[k] = pool_epoch;
  return o;
}

std::vector<int64_t> PoolSampler::step_rows(int64_t step) {
  std::vector<int64_t> rows;
  rows.reserve(static_cast<size_t>(rows_));
  for (int64_t j = 0; j < rows_; ++j) {
    const int64_t k = step * rows_ + j;
    rows.push_back(order(k / n_)[static_cast<size_t>(k % n_)]);
  }
  return rows;
}

std::vector<std::vector<int64_t>> length_sorted_batches(
    const std::vector<std::vector<int32_t>>& seqs, int batch_size) {
  std::vector<int64_t> order(seqs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return seqs[a].size() < seqs[b].size(); });
  std::vector<std::vector<int64_t>> out;
  for (size_t i = 0; i < order.size(); i += batch_size) {
    out.emplace_back(order.begin() + i,
                     order.begin() + std::min(order.size(), i + static_cast<size_t>(batch_size)));
  }
  return out;
}

}  // namespace bytelite

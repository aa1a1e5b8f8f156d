#include "train/projection_input.h"

#include <algorithm>

namespace bytelite {

namespace {

// Per-text projection rows ([lengths[b], F] int8 each) as a zero-padded [B, T, F] batch with
// its [B, T] mask.
ProjectionBatch pad_rows(const std::vector<std::vector<int8_t>>& rows,
                         const std::vector<int64_t>& lengths, int64_t T, int64_t F) {
  const int64_t B = static_cast<int64_t>(rows.size());
  ProjectionBatch out;
  out.values = torch::zeros({B, T, F}, torch::kFloat);
  out.mask = torch::zeros({B, T}, torch::kFloat);
  float* v = out.values.data_ptr<float>();
  float* m = out.mask.data_ptr<float>();
  for (int64_t b = 0; b < B; ++b) {
    const std::vector<int8_t>& r = rows[b];
    for (int64_t i = 0; i < lengths[b] * F; ++i) v[b * T * F + i] = static_cast<float>(r[i]);
    for (int64_t t = 0; t < lengths[b]; ++t) m[b * T + t] = 1.0f;
  }
  return out;
}

}  // namespace

ProjectionBatch project_batch(const std::vector<std::string>& texts,
                              const rt::ProjectionConfig& cfg) {
  rt::check_projection_config(cfg);
  const int64_t F = cfg.feature_size;
  std::vector<std::vector<int8_t>> rows(texts.size());
  std::vector<int64_t> lengths(texts.size());
  int64_t T = 1;
  for (size_t b = 0; b < texts.size(); ++b) {
    lengths[b] = rt::ternary_projection(texts[b], cfg, &rows[b]);
    T = std::max(T, lengths[b]);
  }
  return pad_rows(rows, lengths, T, F);
}

rt::ProjectionConfig projection_config(const ModelConfig& mc) {
  rt::ProjectionConfig p;
  p.feature_size = mc.projection_feature_size;
  p.max_tokens = mc.projection_max_tokens;
  p.split_on_space = mc.projection_split_on_space;
  p.lowercase = mc.projection_lowercase;
  p.add_bos = mc.projection_add_bos;
  p.add_eos = mc.projection_add_eos;
  return p;
}

ProjectionBatch project_id_batch(const torch::Tensor& ids, const torch::Tensor& mask,
                                 const rt::ProjectionConfig& cfg) {
  rt::check_projection_config(cfg);
  const auto id = ids.to(torch::kCPU, torch::kInt64).contiguous();
  const auto mk = mask.to(torch::kCPU, torch::kFloat).contiguous();
  const int64_t B = id.size(0), L = id.size(1), F = cfg.feature_size;
  const int64_t* ip = id.data_ptr<int64_t>();
  const float* mp = mk.data_ptr<float>();
  std::vector<std::vector<int8_t>> rows(static_cast<size_t>(B));
  std::vector<int64_t> lengths(static_cast<size_t>(B));
  std::vector<int32_t> row;
  int64_t T = 1;
  for (int64_t b = 0; b < B; ++b) {
    row.clear();
    for (int64_t t = 0; t < L; ++t) {
      if (mp[b * L + t] > 0) row.push_back(static_cast<int32_t>(ip[b * L + t]));
    }
    lengths[b] =
        rt::ternary_projection_of_ids(row.data(), static_cast<int64_t>(row.size()), cfg, &rows[b]);
    T = std::max(T, lengths[b]);
  }
  return pad_rows(rows, lengths, T, F);
}

torch::Tensor byte_word_batch(const torch::Tensor& ids, const torch::Tensor& mask,
                              const rt::ProjectionConfig& cfg) {
  rt::check_projection_config(cfg);
  const auto id = ids.to(torch::kCPU, torch::kInt64).contiguous();
  const auto mk = mask.to(torch::kCPU, torch::kFloat).contiguous();
  const int64_t B = id.size(0), L = id.size(1);
  const int64_t* ip = id.data_ptr<int64_t>();
  const float* mp = mk.data_ptr<float>();
  torch::Tensor out = torch::full({B, L}, -1, torch::kInt64);
  int64_t* op = out.data_ptr<int64_t>();
  std::vector<int32_t> row, map;
  std::vector<int64_t> where;
  for (int64_t b = 0; b < B; ++b) {
    row.clear();
    where.clear();
    for (int64_t t = 0; t < L; ++t) {
      if (mp[b * L + t] > 0) {
        row.push_back(static_cast<int32_t>(ip[b * L + t]));
        where.push_back(t);
      }
    }
    map.assign(row.size(), -1);
    rt::byte_token_map(row.data(), static_cast<int64_t>(row.size()), cfg, map.data());
    for (size_t k = 0; k < row.size(); ++k) op[b * L + where[k]] = map[k];
  }
  return out;
}

}  // namespace bytelite

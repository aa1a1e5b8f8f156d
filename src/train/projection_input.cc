#include "train/projection_input.h"

#include <algorithm>

namespace bytelite {

ProjectionBatch project_batch(const std::vector<std::string>& texts,
                              const rt::ProjectionConfig& cfg) {
  rt::check_projection_config(cfg);
  const int64_t B = static_cast<int64_t>(texts.size());
  const int64_t F = cfg.feature_size;
  std::vector<std::vector<int8_t>> rows(texts.size());
  std::vector<int64_t> lengths(texts.size());
  int64_t T = 1;
  for (size_t b = 0; b < texts.size(); ++b) {
    lengths[b] = rt::ternary_projection(texts[b], cfg, &rows[b]);
    T = std::max(T, lengths[b]);
  }
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

}  // namespace bytelite

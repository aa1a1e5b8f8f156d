// predict's output: one JSONL line per text, {"labels": [...], "scores": {label: probability}}.
#pragma once

#include <algorithm>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "core/metrics.h"

namespace bytelite::cli {

/// JSONL lines for probabilities [n * C] (C = names.size()); labels by the decision rule of
/// metrics.h with `thresholds`; top_k > 0: the K most probable labels' scores only, most probable
/// first (stable on ties), else every label in label order.
inline std::string format_predictions(const float* probs, size_t n,
                                      const std::vector<std::string>& names, bool multilabel,
                                      const std::vector<float>& thresholds, int top_k) {
  const int32_t C = static_cast<int32_t>(names.size());
  MetricInput in;
  in.multilabel = multilabel;
  in.num_labels = C;
  in.scores.assign(probs, probs + n * C);
  in.labels.assign(n, 0);
  in.targets.assign(n * C, 0.0f);
  auto pred = predict_labels(in, thresholds);
  std::string out;
  std::vector<int32_t> order(C);
  for (size_t i = 0; i < n; ++i) {
    nlohmann::ordered_json j;
    std::vector<std::string> labels;
    if (multilabel) {
      for (int32_t c = 0; c < C; ++c)
        if (pred[i * C + c]) labels.push_back(names[c]);
    } else {
      labels.push_back(names[pred[i]]);
    }
    std::iota(order.begin(), order.end(), 0);
    int32_t shown = C;
    if (top_k > 0) {
      std::stable_sort(order.begin(), order.end(),
                       [&](int32_t a, int32_t b) { return probs[i * C + a] > probs[i * C + b]; });
      shown = std::min(C, top_k);
    }
    nlohmann::ordered_json scores = nlohmann::ordered_json::object();
    for (int32_t r = 0; r < shown; ++r) scores[names[order[r]]] = probs[i * C + order[r]];
    j["labels"] = labels;
    j["scores"] = scores;
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return out;
}

/// The thresholds --threshold T (-1 = keep the model's) gives: two labels: {T}; multi-label: T
/// per label; otherwise none (argmax).
inline std::vector<float> override_thresholds(std::vector<float> thresholds, double threshold,
                                              bool multilabel, size_t num_labels) {
  if (threshold == -1) return thresholds;
  const float t = static_cast<float>(threshold);
  if (multilabel) return std::vector<float>(num_labels, t);
  if (num_labels == 2) return {t};
  return {};
}

}  // namespace bytelite::cli

// predict's output: one JSONL line per text, {"labels": [...], "scores": {label: probability}}.
//
// The lines are written directly, with the bytes nlohmann::ordered_json::dump(-1, ' ', false,
// error_handler_t::replace) gives for that object (tests/test_predict_format.cc compares the two):
// label names escaped once, by nlohmann, when the formatter is made (so invalid UTF-8 becomes
// U+FFFD as before), and each probability as nlohmann serializes a double holding the float:
// nlohmann::detail::to_chars (its Grisu2 round-trip digits, "0.0" for zero, "-0.0" for
// negative zero, 1e-05 style exponents), "null" for NaN and infinities. A label name that occurs
// twice among the shown scores appears once, at its first position, with the later value (as
// ordered_json's operator[] assigns it).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/metrics.h"

namespace bytelite::cli {

/// Formats predictions of one model; make it once, call append per block of texts. append is
/// const and thread-safe (scratch buffers are per call).
class PredictionFormatter {
 public:
  /// names: the labels (C = names.size()); labels by the decision rule of metrics.h
  /// (predict_labels) with `thresholds`; top_k > 0: the K most probable labels' scores only, most
  /// probable first (stable on ties), else every label in label order.
  PredictionFormatter(const std::vector<std::string>& names, bool multilabel,
                      std::vector<float> thresholds, int top_k)
      : multilabel_(multilabel), thresholds_(std::move(thresholds)), top_k_(top_k) {
    const size_t C = names.size();
    escaped_.reserve(C);
    first_.resize(C);
    std::unordered_map<std::string, int32_t> seen;
    for (size_t c = 0; c < C; ++c) {
      escaped_.push_back(nlohmann::ordered_json(names[c]).dump(
          -1, ' ', false, nlohmann::json::error_handler_t::replace));
      const auto [it, inserted] = seen.emplace(names[c], static_cast<int32_t>(c));
      first_[c] = it->second;
      if (!inserted) duplicates_ = true;
    }
  }

  /// Appends one line per text for probabilities [n * C] to `out`. Throws ConfigError for
  /// thresholds that do not fit the labels (as predict_labels).
  void append(const float* probs, size_t n, std::string& out) const {
    const int32_t C = static_cast<int32_t>(escaped_.size());
    MetricInput in;
    in.multilabel = multilabel_;
    in.num_labels = C;
    in.scores.assign(probs, probs + n * C);
    in.labels.assign(n, 0);
    in.targets.assign(n * C, 0.0f);
    const std::vector<int32_t> pred = predict_labels(in, thresholds_);
    std::vector<int32_t> order(C);
    // duplicates_ only: the shown (first_ label, value) pairs, and each first_ label's slot there
    std::vector<std::pair<int32_t, float>> shown_scores;
    std::vector<int32_t> slot;
    for (size_t i = 0; i < n; ++i) {
      const float* p = probs + i * C;
      out += "{\"labels\":[";
      if (multilabel_) {
        bool any = false;
        for (int32_t c = 0; c < C; ++c) {
          if (!pred[i * C + c]) continue;
          if (any) out += ',';
          out += escaped_[c];
          any = true;
        }
      } else {
        out += escaped_[pred[i]];
      }
      out += "],\"scores\":{";
      std::iota(order.begin(), order.end(), 0);
      int32_t shown = C;
      if (top_k_ > 0) {
        std::stable_sort(order.begin(), order.end(),
                         [&](int32_t a, int32_t b) { return p[a] > p[b]; });
        shown = std::min(C, top_k_);
      }
      if (!duplicates_) {
        for (int32_t r = 0; r < shown; ++r) {
          if (r > 0) out += ',';
          append_entry(order[r], p[order[r]], out);
        }
      } else {
        shown_scores.clear();
        slot.assign(C, -1);
        for (int32_t r = 0; r < shown; ++r) {
          const int32_t key = first_[order[r]];
          if (slot[key] >= 0) {
            shown_scores[slot[key]].second = p[order[r]];
          } else {
            slot[key] = static_cast<int32_t>(shown_scores.size());
            shown_scores.emplace_back(key, p[order[r]]);
          }
        }
        for (size_t r = 0; r < shown_scores.size(); ++r) {
          if (r > 0) out += ',';
          append_entry(shown_scores[r].first, shown_scores[r].second, out);
        }
      }
      out += "}}\n";
    }
  }

  /// `value` as nlohmann dumps a json number_float (double) holding it.
  static void append_number(double value, std::string& out) {
    if (!std::isfinite(value)) {
      out += "null";
      return;
    }
    std::array<char, 64> buf;  // the size of nlohmann's serializer number_buffer
    const char* end = nlohmann::detail::to_chars(buf.data(), buf.data() + buf.size(), value);
    out.append(buf.data(), static_cast<size_t>(end - buf.data()));
  }

 private:
  void append_entry(int32_t label, float value, std::string& out) const {
    out += escaped_[label];
    out += ':';
    append_number(static_cast<double>(value), out);
  }

  bool multilabel_;
  std::vector<float> thresholds_;
  int top_k_;
  std::vector<std::string> escaped_;  // each name as a JSON string, quotes included
  std::vector<int32_t> first_;        // index of the first label with the same name
  bool duplicates_ = false;
};

/// JSONL lines for probabilities [n * C] (C = names.size()), as PredictionFormatter::append.
inline std::string format_predictions(const float* probs, size_t n,
                                      const std::vector<std::string>& names, bool multilabel,
                                      const std::vector<float>& thresholds, int top_k) {
  std::string out;
  PredictionFormatter(names, multilabel, thresholds, top_k).append(probs, n, out);
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

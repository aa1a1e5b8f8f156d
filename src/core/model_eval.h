// Evaluation of an int8 classifier model file on labelled data (runtime only: no libtorch).
// Used by `bytelite eval --model` and meant for bindings (one call, one result struct).
//
// The data columns are the ones the model was trained with (ModelInfo::text_column /
// label_columns; "text" / "label" when the file does not record them); single-label classes
// must be among the model's labels. Texts longer than the model's max_length bytes are truncated
// (counted in `truncated`). Metrics follow core/metrics.h (scikit-learn definitions) at the
// model's own thresholds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bytelite/classifier.h"
#include "core/dataset.h"
#include "core/metrics.h"

namespace bytelite {

struct ModelEvalResult {
  std::string model_path;  // set by the caller (the CLI: --model); empty otherwise
  std::string data_path;
  std::string isa;  // kernel path used: "reference", "avx2" or "avx512vnni"
  int32_t max_length = 0;
  int64_t truncated = 0;     // examples longer than max_length bytes
  int64_t skipped_rows = 0;  // malformed rows skipped (skip_bad_rows)
  EvalReport report;
  /// [examples * labels] probabilities, example-major, label order of ModelInfo::labels.
  std::vector<float> probabilities;
  /// The truth: single-label: labels[n] in [0, labels); multi-label: targets[n * L + l] in [0, 1].
  std::vector<int32_t> labels;
  std::vector<float> targets;
  int threads = 1;              // worker threads used
  double classify_seconds = 0;  // wall time of classifying every example (tokenizing included)

  /// report_to_json(report) on one line: one JSON object (see core/metrics.h for the keys).
  std::string to_json() const;
  /// Notes (truncated texts, skipped rows), the kernel path line, then report_to_text(report).
  std::string to_text() const;
};

/// The note lines an evaluation prints before its report: "note: N examples truncated to L
/// bytes" and "note: N bad rows skipped", each only when N > 0 (empty string otherwise).
std::string eval_notes(int64_t truncated, int32_t max_length, int64_t skipped_rows);

/// Classifies every example of `data` with `threads` (>= 1) worker threads (results do not
/// depend on the count) and computes the metrics. Shows a progress line (core/progress.h) on a
/// terminal unless `quiet`. Throws ConfigError when data's labels differ
/// from the model's (single-label: data.label_names must equal ModelInfo::labels, as
/// read_dataset gives when passed the model's labels).
/// Texts are classified by Classifier::classify_batch with `threads` threads and `batch_size`
/// texts per forward pass (>= 1); the results do not depend on either.
ModelEvalResult evaluate_model(const Classifier& clf, const Dataset& data, int threads,
                               bool quiet = false, int batch_size = Classifier::kDefaultBatchSize);

/// Reads `data_path` (TSV / CSV / JSONL, core/dataset.h) with the model's columns and labels,
/// then evaluate_model above. Throws InputError for unreadable or malformed data (or skips and
/// counts malformed rows with skip_bad_rows), ConfigError for a bad thread count.
ModelEvalResult evaluate_model_file(const Classifier& clf, const std::string& data_path,
                                    int threads = 1, bool skip_bad_rows = false, bool quiet = false,
                                    int batch_size = Classifier::kDefaultBatchSize);

}  // namespace bytelite

// Evaluation of a classifier checkpoint (libtorch) on labelled data, optionally with the int8
// model exported from it: `bytelite eval --checkpoint C [--model M]` and the Python binding's
// bytelite.evaluate. With a model, the reported metrics are the int8 model's, and `compare`
// says how far it is from the checkpoint (robustness case C7).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "bytelite/model.h"
#include "core/metrics.h"

namespace bytelite {

struct CheckpointEvalOptions {
  std::string checkpoint;              // a .ckpt file or a training directory (best.ckpt)
  std::shared_ptr<const Model> model;  // optional int8 classifier model to compare
  std::string model_path;              // its path, for messages and the text report
  std::string data_path;               // labelled data (the checkpoint's / model's columns)
  int threads = 2;                     // intra-op threads (checkpoint), example threads (model)
  int batch_size = 64;                 // examples per forward pass of the checkpoint
  bool skip_bad_rows = false;
  bool quiet = false;  // no progress lines
};

struct CheckpointEvalResult {
  EvalReport report;  // the int8 model's metrics if a model was given, else the checkpoint's
  // With a model: checkpoint, max_abs_prob_diff, mean_abs_prob_diff, changed_predictions,
  // checkpoint_roc_auc, roc_auc_diff, checkpoint_macro_f1, macro_f1_diff, checkpoint_accuracy,
  // accuracy_diff. Null otherwise.
  nlohmann::ordered_json compare;
  int32_t max_length = 0;
  int64_t truncated = 0, skipped_rows = 0;
  std::string model_path, isa;  // with a model

  /// report_to_json(report) plus "compare" with a model: what `eval --json` prints.
  std::string to_json() const;
  /// Notes, the kernel path, report_to_text(report) and the comparison line.
  std::string to_text() const;
};

/// Throws ModelFileError (checkpoint), InputError (data), ConfigError (model labels differ from
/// the checkpoint's).
CheckpointEvalResult evaluate_checkpoint(const CheckpointEvalOptions& o);

}  // namespace bytelite

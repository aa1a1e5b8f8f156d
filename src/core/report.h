// The training report (`bytelite report RUN_DIR`, the Python binding's bytelite.report): one
// self-contained HTML file (inline SVG from core/svg_chart.h, inline CSS, no scripts, no network)
// about a training run directory and, optionally, its model on labelled data:
//  - model card: model file, architecture, encoder, parameters, int8 and float32 sizes, labels
//    and thresholds, training data files and sizes, training time and steps, and, when measured,
//    the agreement of the QAT checkpoint with the int8 model and the examples per second;
//  - training curves from RUN_DIR/train_log.jsonl against steps (training loss, learning rate,
//    the validation metric), with the chosen checkpoint's step marked;
//  - with data, classifiers: the metrics, ROC and precision-recall curves with the operating
//    point at the model's decision threshold marked, the confusion matrix and the per-class
//    table; seq2seq models: WER and PER by source length and sample hypotheses;
//  - with a peer benchmark result (bench/peers/results/peers.json), its comparison chart.
// Runtime only (no libtorch): the QAT-vs-int8 agreement is measured by the caller that has the
// checkpoint (the CLI's bytelite-train, src/cli/cmd_report.cc) and passed in `agreement`.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bytelite/model.h"
#include "bytelite/seq2seq.h"
#include "core/model_eval.h"
#include "core/seq2seq_eval.h"

namespace bytelite {

struct ReportOptions {
  std::string run_dir;     // training output directory (`bytelite train --out`)
  std::string model_path;  // int8 model; default RUN_DIR/model.blt
  std::string data_path;   // labelled data to evaluate on ("" = training curves and card only)
  std::string peers_path;  // a peer benchmark result (bench/peers/results/peers.json), or ""
  int threads = 1;         // evaluation worker threads (>= 1; results do not depend on it)
  GenerateOptions gen;     // seq2seq decoding (the model's defaults when left unset)
  int samples = 12;        // seq2seq: sample hypotheses shown (>= 0)
  bool quiet = false;      // no progress line
};

/// One record of train_log.jsonl (classifier: one per evaluation; seq2seq: the same).
struct TrainingPoint {
  int64_t step = 0;
  double train_loss = 0;  // NaN when not recorded
  double lr = 0;          // NaN when not recorded
  double metric = 0;      // the validation metric named RunReport::metric (NaN when absent)
};

struct RunReport {
  ReportOptions options;
  nlohmann::json summary;  // RUN_DIR/summary.json (null when absent)
  nlohmann::json config;   // RUN_DIR/config.json (null when absent)
  ModelInfo info;          // of the model file (info.path empty when there is none)
  bool seq2seq = false;
  std::string metric;  // validation metric plotted: summary "metric" (classifier), "wer" (seq2seq)
  std::vector<TrainingPoint> curve;
  int64_t best_step = -1;  // the chosen checkpoint's step (-1 unknown)
  std::optional<ModelEvalResult> eval;
  std::optional<Seq2SeqEvalResult> seq2seq_eval;
  /// QAT checkpoint vs int8 model on the same data (eval --checkpoint --model's "compare":
  /// changed_predictions, max_abs_prob_diff, ...), null when not measured.
  nlohmann::json agreement;
  nlohmann::json peers;  // the peer benchmark result (null when not given)

  /// The self-contained HTML page.
  std::string to_html() const;
  /// A short plain-text summary (what the CLI prints after writing the page).
  std::string to_text() const;

 private:
  // The page's sections, in order (empty when the section has nothing to show).
  std::string card_html() const;
  std::string training_html() const;
  std::string classifier_eval_html() const;
  std::string seq2seq_eval_html() const;
  std::string peers_html() const;
};

/// Reads RUN_DIR (summary.json, config.json, train_log.jsonl: each optional, but at least one
/// of them or the model file must exist), loads the model file if present and evaluates it on
/// data_path when given (a model is then required). Throws InputError (no such directory,
/// unreadable or malformed JSON, naming file and line), ModelFileError, ConfigError (bad
/// options, data whose labels differ from the model's).
RunReport build_report(const ReportOptions& options);

}  // namespace bytelite

// The train / pretrain / export commands as library calls, shared by the CLI (src/cli/cmd_*.cc)
// and the Python binding (python/src/train_module.cc): the config overrides of the command-line
// flags, the run, OUT/summary.json and the lines the CLI prints.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/config.h"
#include "train/pretrain.h"
#include "train/trainer.h"

namespace bytelite {

/// Overrides of `bytelite train` (0 / -1 / "" = keep the config's value).
struct TrainOverrides {
  long max_steps = 0;  // > 0: train.max_steps (and epochs no longer bound the run)
  int epochs = 0;      // > 0: train.epochs (train.max_steps reset to 0 unless max_steps given)
  int threads = 0;     // > 0: train.threads
  long seed = -1;      // >= 0: train.seed
  std::string qat;     // "on" | "off": quantization.enabled
  bool skip_bad_rows = false;
};
/// Throws ConfigError for negative counts or a qat value other than "", "on", "off".
void apply_train_overrides(ExperimentConfig& cfg, const TrainOverrides& o);

/// What a run produced: the object written to OUT/summary.json and the lines `bytelite train` /
/// `bytelite pretrain` print to stdout (without newlines).
struct RunSummary {
  nlohmann::json summary;
  std::vector<std::string> lines;
};

/// Trains a classifier (train_classifier, then the int8 export of the best checkpoint when QAT
/// is on) or, for task "seq2seq", a seq2seq model (train_seq2seq); writes OUT/summary.json.
/// init_from: a pretraining checkpoint whose encoder starts the model (both tasks).
/// Throws what train_classifier / train_seq2seq / export_checkpoint throw.
RunSummary run_train(const ExperimentConfig& cfg, const TrainOptions& opts,
                     const std::string& init_from = {});

/// Overrides of `bytelite pretrain` (0 / -1 / "" = keep the config's value).
struct PretrainOverrides {
  long steps = 0;       // > 0: pretrain.steps (the schedule's length)
  int threads = 0;      // > 0: pretrain.threads
  long seed = -1;       // >= 0: pretrain.seed
  std::string heldout;  // a file: pretrain.heldout; "none": no held-out set
};
void apply_pretrain_overrides(ExperimentConfig& cfg, const PretrainOverrides& o);

/// pretrain_encoder, then OUT/summary.json.
RunSummary run_pretrain(const ExperimentConfig& cfg, const PretrainOptions& opts);

/// `bytelite export`: a seq2seq training directory (it holds model.pt) or a classifier
/// checkpoint (a .ckpt file or a directory with best.ckpt) to an int8 model file. Returns
/// {"path", "model_bytes", "task"} plus, for classifiers, "parameter_count" and "float_bytes".
/// Throws ModelFileError / ConfigError.
nlohmann::json export_any(const std::string& checkpoint, const std::string& out_path);

}  // namespace bytelite

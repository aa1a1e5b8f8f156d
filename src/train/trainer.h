// The classify task on the one training loop (train/loop.h, which owns AdamW (Loshchilov & Hutter
// 2019) with linear warm-up then cosine or linear decay, global gradient-norm clipping, early
// stopping, atomic checkpoints and --resume): optional class weights, evaluation on a validation
// set with best-checkpoint selection.
//
// Reproducibility (robustness case C8): the same config, data, seed and thread count give
// identical checkpoints. A different thread count changes the order of floating-point
// reductions inside libtorch and so gives slightly different (equally good) weights.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/metrics.h"
#include "train/config.h"
#include "train/loop.h"

namespace bytelite {

struct TrainOptions {
  std::string train_path;
  std::string valid_path;  // required: used for early stopping, thresholds, best checkpoint
  std::string out_dir;     // created if missing
  bool resume = false;     // continue from out_dir/last.ckpt
  bool verbose = true;     // progress lines on stderr
  // Stop at the first evaluation at or after this many steps, as an interrupted run (resume
  // continues from OUT/last.ckpt, seq2seq OUT/model.pt); 0 = off. For tests and time-boxed runs.
  int64_t stop_after = 0;
  // Called after each evaluation with the record appended to OUT/train_log.jsonl (step,
  // train_loss, valid metrics, ...), on the training thread; an exception it throws ends the
  // run with that exception (last.ckpt keeps the state of the last save). Empty: none.
  std::function<void(const nlohmann::json& record)> on_eval = nullptr;
};

struct TrainResult {
  int64_t steps = 0;  // optimizer steps taken in total
  int64_t best_step = 0;
  double best_metric = 0;  // validation value of config.train.metric at best_step
  EvalReport best_valid;   // validation report of the best checkpoint
  double seconds = 0;      // wall time of this run
  int64_t parameter_count = 0;
  int64_t int8_bytes = 0;  // weights as int8 (+ per-channel scales), vectors as 32-bit
  bool stopped_early = false;
  std::string best_checkpoint;  // out_dir/best.ckpt
};

/// Trains and writes out_dir/{best.ckpt,last.ckpt,config.json,train_log.jsonl}.
/// Throws InputError (data), ConfigError, ModelFileError (resume) or TrainingError when the loss
/// or gradient becomes non-finite (the message names the step, the loss and the learning rate;
/// last.ckpt keeps the last good state).
/// init_from: a pretraining checkpoint (a file, or the directory of 'bytelite pretrain') whose
/// encoder tensors are loaded before the first step (train/pretrain.h init_encoder_from); the
/// pooling and the head start fresh. Ignored with resume (last.ckpt has everything).
TrainResult train_classifier(const ExperimentConfig& cfg, const TrainOptions& opts,
                             const std::string& init_from = {});

}  // namespace bytelite

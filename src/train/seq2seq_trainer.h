// Training of a byte-to-byte seq2seq model (train/seq2seq.h; docs/seq2seq.md) from TSV/CSV/JSONL
// source/target pairs: teacher forcing, cross-entropy with optional label smoothing,
// quantization-aware training from quantization.warmup_steps on, AdamW with the schedule of
// train.lr_schedule, global gradient-norm clipping. Each step samples train.batch_size pairs
// uniformly with replacement (std::mt19937 seeded with train.seed). Every
// train.eval_every_steps steps and at the end: the validation loss (teacher forcing, all pairs)
// and, with the int8 model exported in memory, beam-search WER / PER / exact match / chrF on the
// first seq2seq.eval_sources distinct validation sources (core/seq2seq_metrics.h).
//
// Writes, atomically: OUT/model.pt (the torch module: parameters and QAT range buffers, after
// every evaluation), OUT/model.blt (the int8 model file, at the end), OUT/config.json and
// OUT/train_log.jsonl (one line per evaluation).
//
// Reproducibility: the same config, data, seed and thread count give the same model file.
// --resume (TrainOptions::resume) continues from OUT/model.pt, which every evaluation saves with
// the optimizer state, the step, both random streams and the log: an interrupted run resumed
// gives exactly the model of an uninterrupted one (tested). The config must be the same.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "train/config.h"
#include "train/trainer.h"

namespace bytelite {

struct Seq2SeqTrainResult {
  int64_t steps = 0;
  double seconds = 0;
  int64_t parameter_count = 0;  // float parameters of the training model
  nlohmann::json valid;         // last evaluation: loss, wer, per, exact_match, chrf, sources
  std::string model_path;       // OUT/model.blt
  int64_t model_bytes = 0;
};

/// With opts.stop_after > 0 it returns after the first evaluation at or after that step (an
/// interrupted run: no model.blt; resume with opts.resume).
/// Throws InputError (data), ConfigError (also a --resume with another config), TrainingError
/// (non-finite loss; the message names the step, the loss and the learning rate) or ModelFileError
/// (export).
/// init_from: a pretraining checkpoint (a file, or the OUT of 'bytelite pretrain') whose encoder
/// tensors are loaded into the seq2seq encoder before the first step (init_encoder_from with
/// seq2seq_encoder_config(cfg)); the decoder starts fresh. Ignored with resume.
/// train.freeze_encoder_steps keeps the encoder's parameters for that many steps (LP-FT).
Seq2SeqTrainResult train_seq2seq(const ExperimentConfig& cfg, const TrainOptions& opts,
                                 const std::string& init_from = {});

/// The encoder of a seq2seq config as a classifier-style config: "model" is the encoder's
/// config (seq2seq_encoder_model() for the kind the seq2seq section configures, else the
/// "model" section), tokenizer.max_length = seq2seq.max_source (the position rows) and
/// tokenizer.lowercase_ascii = false (seq2seq sources are not lowercased). A pretraining config
/// with these tokenizer and model sections gives checkpoints that --init-from accepts.
ExperimentConfig seq2seq_encoder_config(const ExperimentConfig& cfg);

/// The QAT model saved in OUT/model.pt exported to an int8 model file (the config in
/// OUT/config.json). Returns the file's size in bytes. Throws ModelFileError / ConfigError.
int64_t export_seq2seq_checkpoint(const std::string& dir, const std::string& out_path);

}  // namespace bytelite

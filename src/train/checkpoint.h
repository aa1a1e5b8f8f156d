// Training checkpoints: one file holding the model tensors, a JSON description (config, label
// names, decision thresholds, validation metrics) and, for resumable checkpoints, the optimizer
// and trainer state. Written atomically (write_file_atomic), so a crash never leaves a partly
// written checkpoint. An output directory holds best.ckpt (best validation metric, used by eval
// and predict), last.ckpt (latest state, used by --resume) and config.json.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/classifier_model.h"
#include "train/config.h"

namespace bytelite {

struct ModelMeta {
  ExperimentConfig config;
  std::vector<std::string> label_names;
  bool multilabel = false;
  std::vector<float> thresholds;  // chosen on the validation set (metrics.h choose_thresholds)
  nlohmann::json valid_metrics;   // report of the validation set at this checkpoint
  int64_t step = 0;
};

nlohmann::json meta_to_json(const ModelMeta& m);
ModelMeta meta_from_json(const nlohmann::json& j, const std::string& source);

/// Builds the model described by meta (fresh weights).
ByteClassifier build_model(const ModelMeta& meta, QatStatePtr qat);

/// Writes path atomically. optimizer and trainer_state are optional (null / empty).
void save_checkpoint(const std::string& path, const ModelMeta& meta, ByteClassifier& model,
                     torch::optim::Optimizer* optimizer, const nlohmann::json& trainer_state);

struct LoadedCheckpoint {
  ModelMeta meta;
  QatStatePtr qat;
  ByteClassifier model{nullptr};
  nlohmann::json trainer_state;  // empty object when absent
};

/// Loads a checkpoint file, or DIR/best.ckpt when given a directory. The model is in eval mode.
/// Throws ModelFileError naming the path and what was expected.
LoadedCheckpoint load_checkpoint(const std::string& path_or_dir);
/// Restores the optimizer state saved in a checkpoint file.
void load_optimizer_state(const std::string& path, torch::optim::Optimizer& optimizer);

/// Class probabilities for encoded sequences: softmax (single-label) or sigmoid (multi-label)
/// of the logits, row-major [N * num_labels], in input order. Runs in eval mode.
std::vector<float> predict_probabilities(ByteClassifier& model, bool multilabel,
                                         const std::vector<std::vector<int32_t>>& seqs,
                                         int batch_size = 64);

}  // namespace bytelite

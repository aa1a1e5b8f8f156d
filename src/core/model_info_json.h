// What a model file says about itself as JSON: the object `bytelite info --json` prints and the
// Python binding's Classifier.info / Seq2Seq.info return (no libtorch).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bytelite/model.h"

namespace bytelite {

/// The hyperparameters of the network ("config" of model_info_json): the encoder's, and for
/// seq2seq models the decoder's; keys depend on the architecture (see src/cli/cmd_info.cc).
nlohmann::ordered_json model_config_json(const ModelInfo& m);

/// One config key (declared once in src/train/config.cc; this half reads the generated
/// core/config_keys.inc) with the value a model file stores for it.
struct StoredConfigKey {
  std::string section;  // "" for top-level keys ("task")
  std::string name;
  std::string doc;               // the declaration's one-line doc
  nlohmann::ordered_json value;  // as the config file writes it
};

/// The declared config keys whose value the model file stores, in declaration order: the task,
/// the data columns, the tokenizer (classifiers), the encoder's "model" keys (classifiers and
/// seq2seq models with an encoder configured by the model section; the keys of its kind only)
/// and the "seq2seq" keys of seq2seq models. Training-only keys (dropout, optimizer, ...) are
/// not stored and not listed; neither are keys whose value the file implies (norm_position:
/// always "post").
std::vector<StoredConfigKey> stored_config_keys(const ModelInfo& m);
/// The same as a config object: {"task": ..., "data": {...}, "model": {...}, ...}.
nlohmann::ordered_json stored_config_json(const ModelInfo& m);

/// Every field of ModelInfo: path, file_bytes, format_version, checksum ("0x%08x"), producer,
/// architecture, labels, multilabel, thresholds, max_length, lowercase_ascii, text_column,
/// label_columns, config (model_config_json), parameter_count, float_bytes, trained_parameters,
/// source_checkpoint, training_step, stored_config (stored_config_json), and for seq2seq models
/// generation {beam_size, length_penalty}.
nlohmann::ordered_json model_info_json(const ModelInfo& m);

}  // namespace bytelite

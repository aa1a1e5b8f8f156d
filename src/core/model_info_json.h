// What a model file says about itself as JSON: the object `bytelite info --json` prints and the
// Python binding's Classifier.info / Seq2Seq.info return (no libtorch).
#pragma once

#include <nlohmann/json.hpp>

#include "bytelite/model.h"

namespace bytelite {

/// The hyperparameters of the network ("config" of model_info_json): the encoder's, and for
/// seq2seq models the decoder's; keys depend on the architecture (see src/cli/cmd_info.cc).
nlohmann::ordered_json model_config_json(const ModelInfo& m);

/// Every field of ModelInfo: path, file_bytes, format_version, checksum ("0x%08x"), producer,
/// architecture, labels, multilabel, thresholds, max_length, lowercase_ascii, text_column,
/// label_columns, config (model_config_json), parameter_count, float_bytes, trained_parameters,
/// source_checkpoint, training_step, and for seq2seq models generation {beam_size,
/// length_penalty}.
nlohmann::ordered_json model_info_json(const ModelInfo& m);

}  // namespace bytelite

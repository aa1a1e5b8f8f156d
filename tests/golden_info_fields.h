// The integer fields of ModelInfo that the golden model files record (tests/data/models/v1/
// NAME.expected, "info KEY VALUE" lines): one list for the writer (golden_model_dump.cc) and the
// test that reads them back (test_golden_models.cc).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "bytelite/model.h"

namespace bytelite::golden {

inline std::vector<std::pair<const char*, int64_t>> info_int_fields(const ModelInfo& m) {
  return {{"embedding_size", m.embedding_size},
          {"bottleneck_size", m.bottleneck_size},
          {"gbst_max_block_width", m.gbst_max_block_width},
          {"gbst_conv_kernel_size", m.gbst_conv_kernel_size},
          {"gbst_downsample_rate", m.gbst_downsample_rate},
          {"qrnn_state_size", m.qrnn_state_size},
          {"qrnn_kernel_width", m.qrnn_kernel_width},
          {"qrnn_layers", m.qrnn_layers},
          {"transformer_layers", m.transformer_layers},
          {"num_heads", m.num_heads},
          {"intermediate_size", m.intermediate_size},
          {"decoder_dimension", m.decoder_dimension},
          {"decoder_num_heads", m.decoder_num_heads},
          {"decoder_intermediate_size", m.decoder_intermediate_size},
          {"decoder_layers", m.decoder_layers},
          {"max_target", m.max_target},
          {"beam_size", m.beam_size},
          {"parameter_count", m.parameter_count},
          {"float_bytes", m.float_bytes},
          {"trained_parameters", m.trained_parameters},
          {"training_step", m.training_step}};
}

/// The projection settings of a projection-input model (encoder "pqrnn", "qrnn_proj"; recorded only
/// for such models, so that the files of the other encoders stay as they are).
inline std::vector<std::pair<const char*, int64_t>> info_projection_fields(const ModelInfo& m) {
  return {{"projection_feature_size", m.projection_feature_size},
          {"projection_max_tokens", m.projection_max_tokens},
          {"projection_split_on_space", m.projection_split_on_space ? 1 : 0},
          {"projection_lowercase", m.projection_lowercase ? 1 : 0},
          {"projection_add_bos", m.projection_add_bos ? 1 : 0},
          {"projection_add_eos", m.projection_add_eos ? 1 : 0}};
}

}  // namespace bytelite::golden

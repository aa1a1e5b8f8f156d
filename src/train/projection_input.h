// The ternary projection of hashed tokens (src/runtime/ops/projection.h) as a libtorch batch, for
// training a projection-input encoder (pQRNN / PRADO, SeqFlowLite spec §1.5, §2.11). The values
// are those of the runtime's functions, which this calls, so training and the int8 runtime see
// the same inputs (tests/test_distill.cc checks it value for value). The input of the "pqrnn"
// encoder (train/encoder_registry.cc), which projects the text its byte ids encode
// (project_id_batch) as the runtime does (rt::ternary_projection_of_ids).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "runtime/ops/projection.h"
#include "train/config.h"

namespace bytelite {

struct ProjectionBatch {
  torch::Tensor values;  // [B, T, feature_size] float in {-1, 0, +1}; 0 at padded positions
  torch::Tensor mask;    // [B, T] float: 1 at the tokens of each text, 0 at padding
};

/// Projects each text (rt::ternary_projection) and pads to T = the largest token count of the
/// batch (at least 1, so a batch of empty texts has one all-zero, fully masked position).
/// Throws InvalidArgument for a bad cfg (rt::check_projection_config).
ProjectionBatch project_batch(const std::vector<std::string>& texts,
                              const rt::ProjectionConfig& cfg);

/// The projection settings of a model config (model.projection_*).
rt::ProjectionConfig projection_config(const ModelConfig& mc);

/// The pqrnn encoder's input: each row of ids [B, L] (int64 byte ids, valid where mask [B, L]
/// is > 0) projected by rt::ternary_projection_of_ids (so a row without any token gets one
/// all-zero valid position), padded to T = the largest token count. Throws InvalidArgument for
/// a bad cfg.
ProjectionBatch project_id_batch(const torch::Tensor& ids, const torch::Tensor& mask,
                                 const rt::ProjectionConfig& cfg);

/// The "qrnn_proj" encoder's byte -> word map: [B, L] int64, at each valid position the row of
/// project_id_batch's values (same ids, mask and cfg) holding the byte's word
/// (rt::byte_token_map on the row's valid ids), -1 at bytes outside any word and at padding.
/// Throws InvalidArgument for a bad cfg.
torch::Tensor byte_word_batch(const torch::Tensor& ids, const torch::Tensor& mask,
                              const rt::ProjectionConfig& cfg);

}  // namespace bytelite

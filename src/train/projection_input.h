// The ternary projection of hashed tokens (src/runtime/ops/projection.h) as a libtorch batch, for
// training a projection-input encoder (pQRNN / PRADO, SeqFlowLite spec §1.5, §2.11). The values
// are those of the runtime's functions, which this calls, so training and the int8 runtime see
// the same inputs (tests/test_distill.cc checks it value for value). Not wired into a model yet:
// an encoder input of the encoder registry (issue 17 item 3).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "runtime/ops/projection.h"

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

}  // namespace bytelite

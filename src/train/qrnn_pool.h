// QRNN fo-pooling (Bradbury et al. 2016, "Quasi-Recurrent Neural Networks"; SeqFlowLite spec
// §2.6 step 7) as a custom autograd function with a hand-written backward pass.
//
//   forward direction:  h_t = m_t * h_{t-1} + c_t,  t = 0..T-1, h_{-1} = 0
//   backward direction: h_t = m_t * h_{t+1} + c_t,  t = T-1..0, h_{T} = 0
//
// With m = f (forget gate) and c = (1 - f) * z this is fo-pooling; zoneout and padding are
// folded into m and c by the caller (m = 1, c = 0 carries the state unchanged).
#pragma once

#include <torch/torch.h>

namespace bytelite {

/// m, c: [B, T, S] float or double, same shape. Returns h [B, T, S]. Differentiable in m and c.
torch::Tensor qrnn_fo_pool(const torch::Tensor& m, const torch::Tensor& c, bool reverse);

/// The same recurrence as a naive loop of torch ops (reference for tests; slow).
torch::Tensor qrnn_fo_pool_naive(const torch::Tensor& m, const torch::Tensor& c, bool reverse);

}  // namespace bytelite

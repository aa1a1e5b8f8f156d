// Bidirectional QRNN layer with fo-pooling (Bradbury et al. 2016, "Quasi-Recurrent Neural
// Networks"), as trained in src/train/layers.cc QrnnLayerImpl (eval mode: no zoneout).
//   gates g = conv_k(x) (Z | F | O, requantized to the gate params)
//   z = tanh(g_Z) (scale 1/127), f = sigmoid(g_F), o = sigmoid(g_O) (scale 1/255, zp -128)
//   c = (1 - f) z (scale 1/127); h_t = f_t h_{t-1} + c_t (the state is not quantized in
//   training; it is kept here in float, computed exactly as the training graph computes it);
//   y = h o (scale 1/127). The element-wise part is kernels.h qrnn_pool.
#include <algorithm>

#include "runtime/ops/ops.h"
#include "runtime/ops/taps.h"

namespace bytelite::rt {

namespace {

void direction(const OpContext& c, const QrnnDirection& d, const int8_t* padded, int64_t row0,
               int64_t T, int64_t C, int64_t S, bool reverse, int8_t* y, int64_t ldy,
               const std::string& name) {
  OpScratch& s = c.scratch;
  Profile* prof = c.profile;
  int8_t* g = grow(s.buf2, T * 3 * S);
  {
    OpTimer tm(prof, Op::kConv);
    dense(c, d.gates, padded + row0 * C, T, C, g);
  }
  c.tap(taps::qrnn_gates(name), g, T, 3 * S, d.gates.out);
  OpTimer tm(prof, Op::kQrnnPool);
  qrnn_pool(c.isa, g, T, S, reverse, d.tables, y, ldy, grow(s.state, S));
}

}  // namespace

void qrnn_layer(const OpContext& c, const QrnnLayer& l, const int8_t* x, int64_t T, int64_t C,
                int8_t* y, const std::string& name) {
  OpScratch& s = c.scratch;
  const int64_t k = l.kernel_width;
  const int64_t S = l.state_size;
  // One buffer for both directions: [k-1 pad rows, x, k-1 pad rows]. The forward (causal)
  // window of t starts at buffer row t; the backward window (x[t..t+k-1]) at row t + k - 1.
  {
    OpTimer tm(c.profile, Op::kConv);
    pad_rows(x, T, C, k - 1, k - 1, l.fwd.gates.in.zero_point, s.buf1);
  }
  direction(c, l.fwd, s.buf1.data(), 0, T, C, S, false, y, 2 * S,
            taps::qrnn_direction(name, false));
  direction(c, l.bwd, s.buf1.data(), k - 1, T, C, S, true, y + S, 2 * S,
            taps::qrnn_direction(name, true));
  c.tap(name, y, T, 2 * S, kSignedUnitParams);
}

}  // namespace bytelite::rt

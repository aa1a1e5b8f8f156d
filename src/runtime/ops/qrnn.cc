// Bidirectional QRNN layer with fo-pooling (Bradbury et al. 2016, "Quasi-Recurrent Neural
// Networks"), as trained in src/train/layers.cc QrnnLayerImpl (eval mode: no zoneout).
//   gates g = conv_k(x) (Z | F | O, requantized to the gate params)
//   z = tanh(g_Z) (scale 1/127), f = sigmoid(g_F), o = sigmoid(g_O) (scale 1/255, zp -128)
//   c = (1 - f) z (scale 1/127); h_t = f_t h_{t-1} + c_t (the state is not quantized in
//   training; it is kept here in float, computed exactly as the training graph computes it);
//   y = h o (scale 1/127). The element-wise part is kernels.h qrnn_pool.
#include <algorithm>
#include <cstring>

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

void qrnn_layer_batch(const OpContext& c, const QrnnLayer& l, const int8_t* x, const int64_t* lens,
                      int64_t N, int64_t C, int8_t* y) {
  OpScratch& s = c.scratch;
  Profile* prof = c.profile;
  const int64_t P = l.kernel_width - 1;
  const int64_t S = l.state_size;
  // Per sequence i: [0] its first input (and output) row, [1] its first row in the padded buffer
  // [pad, x_0, pad, x_1, ..., pad, x_{N-1}, pad] (pad = P rows of the zero point).
  int64_t* off = grow(s.offs, 2 * (N + 1));
  off[0] = off[1] = 0;
  for (int64_t i = 0; i < N; ++i) {
    off[2 * (i + 1)] = off[2 * i] + lens[i];
    off[2 * (i + 1) + 1] = off[2 * i + 1] + P + lens[i];
  }
  const int64_t padded = off[2 * N + 1] + P;
  const int64_t R = padded - P;  // window starts
  {
    OpTimer tm(prof, Op::kConv);
    int8_t* pad = grow(s.buf1, padded * C);
    const int8_t z = static_cast<int8_t>(l.fwd.gates.in.zero_point);
    for (int64_t i = 0; i < N; ++i) {
      int8_t* dst = pad + off[2 * i + 1] * C;
      std::memset(dst, z, static_cast<size_t>(P * C));
      std::memcpy(dst + P * C, x + off[2 * i] * C, static_cast<size_t>(lens[i] * C));
    }
    std::memset(pad + (padded - P) * C, z, static_cast<size_t>(P * C));
  }
  // Forward (causal) window of sequence i's position t: start b_i + t; backward window
  // (x[t..t+k-1]): start b_i + P + t. One GEMM per direction over every window start.
  int8_t* g = grow(s.buf2, R * 3 * S);
  for (int dir = 0; dir < 2; ++dir) {
    const QrnnDirection& d = dir == 0 ? l.fwd : l.bwd;
    {
      OpTimer tm(prof, Op::kConv);
      dense(c, d.gates, s.buf1.data(), R, C, g);
    }
    OpTimer tm(prof, Op::kQrnnPool);
    float* state = grow(s.state, S);
    for (int64_t i = 0; i < N; ++i) {
      const int64_t start = off[2 * i + 1] + (dir == 0 ? 0 : P);
      qrnn_pool(c.isa, g + start * 3 * S, lens[i], S, dir == 1, d.tables,
                y + off[2 * i] * 2 * S + dir * S, 2 * S, state);
    }
  }
}

}  // namespace bytelite::rt

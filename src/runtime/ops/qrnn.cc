// Bidirectional QRNN layer with fo-pooling (Bradbury et al. 2016, "Quasi-Recurrent Neural
// Networks"), as trained in src/train/layers.cc QrnnLayerImpl (eval mode: no zoneout).
//   gates g = conv_k(x) (Z | F | O, requantized to the gate params)
//   z = tanh(g_Z) (scale 1/127), f = sigmoid(g_F), o = sigmoid(g_O) (scale 1/255, zp -128)
//   c = (1 - f) z (scale 1/127); h_t = f_t h_{t-1} + c_t (state not quantized in training:
//   kept here in fixed point with 20 extra fractional bits); y = h o (scale 1/127)
#include <algorithm>

#include "runtime/ops/ops.h"

namespace bytelite::rt {

namespace {

template <typename T>
T* grow(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
  return v.data();
}

// round(n / 255) for |n| < 2^23. 255 is odd, so n / 255 is never exactly halfway between two
// integers and rounding half away from zero equals rounding half to even.
inline int32_t round_div255(int32_t n) { return n >= 0 ? (n + 127) / 255 : -((-n + 127) / 255); }

constexpr int kStateFrac = 20;  // H = h * 127 * 2^20
constexpr int kMulBits = 30;    // fmul[F] = round(2^30 F / 255)

struct FMul {
  std::array<int64_t, 256> v{};
  FMul() {
    for (int f = 0; f < 256; ++f) v[f] = (static_cast<int64_t>(f) * (int64_t{1} << kMulBits) + 127) / 255;
  }
};
const FMul& fmul() {
  static const FMul t;
  return t;
}

void direction(Isa isa, const QrnnDirection& d, const int8_t* padded, int64_t row0, int64_t T,
               int64_t C, int64_t kernel, int64_t S, bool reverse, int8_t* y, int64_t ldy,
               OpScratch& s, Trace* trace, Profile* prof, const std::string& name) {
  int8_t* g = grow(s.buf2, T * 3 * S);
  {
    OpTimer tm(prof, Op::kConv);
    dense(isa, d.gates, padded + row0 * C, T, C, g, s);
  }
  if (trace) trace->add(name + ".gates", g, T, 3 * S, d.gates.out);
  uint8_t* F = grow(s.m, T * S);
  uint8_t* O = grow(s.o, T * S);
  int8_t* c = grow(s.buf3, T * S);
  {
    OpTimer tm(prof, Op::kQrnnGates);
    for (int64_t t = 0; t < T; ++t) {
      const int8_t* gt = g + t * 3 * S;
      for (int64_t j = 0; j < S; ++j) {
        const int32_t z = d.tanh_table[gt[j] + 128];
        const int32_t f = d.sigmoid_table[gt[S + j] + 128];
        const int32_t o = d.sigmoid_table[gt[2 * S + j] + 128];
        F[t * S + j] = static_cast<uint8_t>(f + 128);
        O[t * S + j] = static_cast<uint8_t>(o + 128);
        // (1 - f) z: 1 - f = (127 - q_f) / 255, z = q_z / 127, c = q_c / 127.
        c[t * S + j] = saturate_int8(round_div255((127 - f) * z));
      }
    }
  }
  if (trace) {
    // F and O as int8 sigmoid outputs (q = F - 128), c at scale 1/127.
    std::vector<int8_t> fo(static_cast<size_t>(T * S));
    for (int64_t i = 0; i < T * S; ++i) fo[i] = static_cast<int8_t>(F[i] - 128);
    trace->add(name + ".f", fo.data(), T, S, kUnitParams);
    trace->add(name + ".c", c, T, S, kSignedUnitParams);
  }
  OpTimer tm(prof, Op::kFoPool);
  fo_pool(F, c, O, T, S, reverse, y, ldy, s.state);
}

}  // namespace

void fo_pool(const uint8_t* F, const int8_t* c, const uint8_t* O, int64_t T, int64_t S,
             bool reverse, int8_t* y, int64_t ldy, std::vector<int64_t>& state) {
  int64_t* H = grow(state, S);
  std::fill(H, H + S, 0);
  const int64_t* fm = fmul().v.data();
  const int64_t half = int64_t{1} << (kMulBits - 1);
  for (int64_t i = 0; i < T; ++i) {
    const int64_t t = reverse ? T - 1 - i : i;
    const uint8_t* Ft = F + t * S;
    const uint8_t* Ot = O + t * S;
    const int8_t* ct = c + t * S;
    int8_t* yt = y + t * ldy;
    for (int64_t j = 0; j < S; ++j) {
      // H_t = round(fmul[F] H_{t-1} / 2^30) + c 2^20 (ties up); |H| <= 128 * 2^20.
      const int64_t h = ((fm[Ft[j]] * H[j] + half) >> kMulBits) +
                        (static_cast<int64_t>(ct[j]) << kStateFrac);
      H[j] = h;
      const int32_t qh = saturate_int8(static_cast<int32_t>(shift_round_half_even(h, kStateFrac)));
      yt[j] = saturate_int8(round_div255(qh * static_cast<int32_t>(Ot[j])));
    }
  }
}

void qrnn_layer(Isa isa, const QrnnLayer& l, const int8_t* x, int64_t T, int64_t C, int8_t* y,
                OpScratch& s, Trace* trace, Profile* prof, const std::string& name) {
  const int64_t k = l.kernel_width;
  const int64_t S = l.state_size;
  // One buffer for both directions: [k-1 pad rows, x, k-1 pad rows]. The forward (causal)
  // window of t starts at buffer row t; the backward window (x[t..t+k-1]) at row t + k - 1.
  {
    OpTimer tm(prof, Op::kConv);
    pad_rows(x, T, C, k - 1, k - 1, l.fwd.gates.in.zero_point, s.buf1);
  }
  direction(isa, l.fwd, s.buf1.data(), 0, T, C, k, S, false, y, 2 * S, s, trace, prof,
            name + ".fwd");
  direction(isa, l.bwd, s.buf1.data(), k - 1, T, C, k, S, true, y + S, 2 * S, s, trace, prof,
            name + ".bwd");
  if (trace) trace->add(name, y, T, 2 * S, kSignedUnitParams);
}

}  // namespace bytelite::rt

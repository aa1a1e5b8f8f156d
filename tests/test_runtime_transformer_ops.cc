// Transformer ops of the runtime (no libtorch): layer normalization against the golden vectors
// of the original's layer_norm_test (spec §4.5), the residual add against its float definition,
// and multi-head attention against a direct double-precision evaluation of its definition. (Every
// kernel path against the reference, bit for bit: the op harness, tests/test_ops.cc.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "runtime/kernels/kernels.h"
#include "runtime/ops/ops.h"
#include "runtime/quant.h"

namespace bytelite::rt {
namespace {

std::vector<int8_t> random_int8(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> d(-128, 127);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(d(rng));
  return v;
}

// The original's test quantization: range [-10, 10] over 256 levels.
QParams range_params(double lo, double hi) {
  QParams p;
  p.scale = static_cast<float>((hi - lo) / 255.0);
  p.zero_point = static_cast<int32_t>(std::nearbyint(-128.0 - lo / p.scale));
  return p;
}

LayerNormLayer make_norm(QParams in, QParams out, int64_t D, double gamma, double beta) {
  LayerNormLayer l;
  l.in = in;
  l.out = out;
  for (int64_t c = 0; c < D; ++c) {
    l.gamma_s.push_back(gamma / out.scale);
    l.beta_s.push_back(beta / out.scale);
  }
  return l;
}

std::vector<double> run_norm(const LayerNormLayer& l, const std::vector<double>& x, int64_t D) {
  std::vector<int8_t> q(x.size()), y(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    q[i] = static_cast<int8_t>(std::nearbyint(x[i] / l.in.scale) + l.in.zero_point);
  layer_norm(Isa::kReference, l, q.data(), static_cast<int64_t>(x.size()) / D, D, y.data());
  std::vector<double> out;
  for (int8_t v : y) out.push_back((v - l.out.zero_point) * static_cast<double>(l.out.scale));
  return out;
}

// Spec §4.5 (layer_norm_test): rows (0,-6,2,4) and (3,-2,10,1), input and output range
// [-10, 10], tolerance 20/256 (one output step).
TEST(LayerNorm, GoldenVectorsOfTheOriginal) {
  const QParams q = range_params(-10, 10);
  const std::vector<double> x = {0, -6, 2, 4, 3, -2, 10, 1};
  const std::vector<double> want = {0, -1.6, 0.53, 1.07, 0, -1.13, 1.59, -0.45};
  const double tol = 20.0 / 256.0;
  auto y = run_norm(make_norm(q, q, 4, 1.0, 0.0), x, 4);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(y[i], want[i], tol) << i;
  // scale -1 flips the signs; offset -1 shifts everything by -1
  auto neg = run_norm(make_norm(q, q, 4, -1.0, 0.0), x, 4);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(neg[i], -want[i], tol) << i;
  auto shifted = run_norm(make_norm(q, q, 4, 1.0, -1.0), x, 4);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(shifted[i], want[i] - 1.0, tol) << i;
}

// Against the definition in double on random rows with per-channel gamma, beta: every output
// within one step of the exactly rounded value, and a constant row gives beta (variance 0).
TEST(LayerNorm, MatchesTheDefinitionOnRandomRows) {
  std::mt19937 rng(7);
  const int64_t D = 48, T = 64;
  const QParams in{0.05f, -3}, out{0.03f, 5};
  LayerNormLayer l;
  l.in = in;
  l.out = out;
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<double> g(D), b(D);
  for (int64_t c = 0; c < D; ++c) {
    g[c] = 1.0 + 0.3 * nd(rng);
    b[c] = 0.2 * nd(rng);
    l.gamma_s.push_back(g[c] / out.scale);
    l.beta_s.push_back(b[c] / out.scale);
  }
  auto x = random_int8(rng, T * D);
  std::fill(x.begin(), x.begin() + D, static_cast<int8_t>(17));  // constant row
  std::vector<int8_t> y(T * D);
  layer_norm(Isa::kReference, l, x.data(), T, D, y.data());
  int64_t off_by_one = 0;
  for (int64_t t = 0; t < T; ++t) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < D; ++c) mean += (x[t * D + c] - in.zero_point) * double(in.scale);
    mean /= D;
    for (int64_t c = 0; c < D; ++c) {
      const double v = (x[t * D + c] - in.zero_point) * double(in.scale) - mean;
      var += v * v;
    }
    var /= D;
    for (int64_t c = 0; c < D; ++c) {
      const double xv = (x[t * D + c] - in.zero_point) * double(in.scale);
      const double r = (xv - mean) / std::sqrt(var + 1e-6) * g[c] + b[c];
      const double q = std::clamp(std::nearbyint(r / out.scale) + out.zero_point, -128.0, 127.0);
      const int d = std::abs(static_cast<int>(q) - y[t * D + c]);
      EXPECT_LE(d, 1) << t << "," << c;
      off_by_one += d;
    }
  }
  EXPECT_LE(off_by_one, T * D / 100);  // rounding differences only near halfway cases
  for (int64_t c = 0; c < D; ++c) {
    const double want = std::clamp(std::nearbyint(b[c] / out.scale) + out.zero_point, -128., 127.);
    EXPECT_EQ(y[c], static_cast<int8_t>(want)) << c;
  }
}

TEST(Add, MatchesTheFakeQuantizedFloatSum) {
  std::mt19937 rng(3);
  const QParams qa{0.02f, 10}, qb{0.035f, -7}, out{0.04f, 2};
  auto a = random_int8(rng, 4096), b = random_int8(rng, 4096);
  std::vector<int8_t> y(4096);
  add(Isa::kReference, a.data(), qa, b.data(), qb, 4096, out, y.data());
  for (size_t i = 0; i < a.size(); ++i) {
    const float s = static_cast<float>(a[i] - qa.zero_point) * qa.scale +
                    static_cast<float>(b[i] - qb.zero_point) * qb.scale;
    const float q = std::nearbyint(s * (1.0f / out.scale)) + out.zero_point;
    EXPECT_EQ(y[i], static_cast<int8_t>(std::clamp(q, -128.0f, 127.0f))) << i;
  }
  // in place (y aliases b), as the encoder layer uses it
  std::vector<int8_t> b2 = b;
  add(Isa::kReference, a.data(), qa, b2.data(), qb, 4096, out, b2.data());
  EXPECT_EQ(b2, y);
}

AttentionLayer make_attention(int heads, QParams qp, QParams kvp, double factor, QParams logits,
                              QParams context) {
  AttentionLayer l;
  l.heads = heads;
  l.logit_factor = factor;
  l.logits = logits;
  l.context = context;
  for (int d = 0; d < 256; ++d)
    l.logits_exp[d] =
        static_cast<uint32_t>(std::llround(1073741824.0 * std::exp(-logits.scale * d)));
  make_multiplier(double(qp.scale) * kvp.scale * factor / logits.scale, &l.logits_m);
  make_multiplier(double(kvp.scale) / (255.0 * context.scale), &l.context_m);
  return l;
}

// The attention op against its definition evaluated directly (int logits requantized by exact
// rational rounding, the op's own integer softmax, exact context sums): at most 1 step apart
// (the fixed-point multipliers round ties up, exact rounding to even), and rarely.
TEST(Attention, MatchesItsDefinition) {
  std::mt19937 rng(11);
  const int64_t D = 32, H = 4, dh = D / H, Tq = 9, S = 17;
  const QParams qp{0.04f, 3}, kvp{0.05f, -6}, lp{0.06f, -20}, cp{0.02f, 4};
  const AttentionLayer l = make_attention(H, qp, kvp, 1.0 / std::sqrt(double(dh)), lp, cp);
  auto q = random_int8(rng, Tq * D), kv = random_int8(rng, S * 2 * D);
  std::vector<int8_t> y(Tq * D);
  OpScratch s;
  attention(OpContext{Isa::kReference, s}, l, q.data(), qp, Tq, kv.data(), kvp, S, D, y.data());
  int64_t diffs = 0;
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t t = 0; t < Tq; ++t) {
      std::vector<int8_t> lg(S), p(S);
      for (int64_t j = 0; j < S; ++j) {
        int64_t acc = 0;
        for (int64_t c = 0; c < dh; ++c)
          acc += int64_t(q[t * D + h * dh + c] - qp.zero_point) *
                 (kv[j * 2 * D + h * dh + c] - kvp.zero_point);
        const double r = acc * (double(qp.scale) * kvp.scale * l.logit_factor / lp.scale);
        lg[j] = static_cast<int8_t>(std::clamp(std::nearbyint(r) + lp.zero_point, -128., 127.));
      }
      softmax_u8(lg.data(), S, 1, l.logits_exp.data(), p.data(), 1);
      for (int64_t c = 0; c < dh; ++c) {
        int64_t acc = 0;
        for (int64_t j = 0; j < S; ++j)
          acc += int64_t(p[j] + 128) * (kv[j * 2 * D + D + h * dh + c] - kvp.zero_point);
        const double r = acc * (double(kvp.scale) / (255.0 * cp.scale));
        const int want =
            static_cast<int>(std::clamp(std::nearbyint(r) + cp.zero_point, -128., 127.));
        const int d = std::abs(want - y[t * D + h * dh + c]);
        EXPECT_LE(d, 1) << h << "," << t << "," << c;
        diffs += d;
      }
    }
  }
  EXPECT_LE(diffs, Tq * D / 20);
}

}  // namespace
}  // namespace bytelite::rt

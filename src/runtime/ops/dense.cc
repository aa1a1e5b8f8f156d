// Ops: dense (and convolution = padded window + dense), zero-point padding, block means and the
// integer softmax shared by GBST and attention pooling.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "runtime/ops/ops.h"

namespace bytelite::rt {

static_assert(FLT_EVAL_METHOD == 0,
              "float expressions must be evaluated in single precision (SSE, not x87)");

void dense(const OpContext& c, const DenseLayer& layer, const int8_t* x, int64_t rows, int64_t ldx,
           int8_t* y) {
  OpScratch& s = c.scratch;
  const int64_t n = layer.w.n;
  if (static_cast<int64_t>(s.acc.size()) < rows * n) s.acc.resize(rows * n);
  gemm_s8(c.isa, x, rows, ldx, layer.w, s.acc.data(), s.kernel);
  requantize(c.isa, s.acc.data(), rows, layer.rq, y);
}

void pad_rows(const int8_t* x, int64_t T, int64_t C, int64_t before, int64_t after, int32_t zp,
              std::vector<int8_t>& out) {
  const int64_t total = (before + T + after) * C;
  if (static_cast<int64_t>(out.size()) < total) out.resize(total);
  const int8_t z = static_cast<int8_t>(zp);
  std::fill(out.begin(), out.begin() + before * C, z);
  std::memcpy(out.data() + before * C, x, static_cast<size_t>(T * C));
  std::fill(out.begin() + (before + T) * C, out.begin() + total, z);
}

namespace {
// Round to nearest, ties to even, for |x| < 2^22 in the default rounding mode: adding and
// subtracting 1.5 * 2^23 leaves no fraction bits. Same result as std::nearbyint, but plain
// IEEE additions that the compiler can vectorize (std::nearbyint is a libm call without SSE4.1).
inline float round_even_small(float x) {
  const float magic = 12582912.0f;
  return (x + magic) - magic;
}
}  // namespace

void block_mean(const int8_t* x, int64_t T, int64_t C, int64_t width, QParams q, int8_t* y,
                std::vector<float>& sum) {
  const int64_t blocks = (T + width - 1) / width;
  if (width == 1) {
    std::memcpy(y, x, static_cast<size_t>(T * C));
    return;
  }
  // The training graph's arithmetic, operation by operation in IEEE single precision (each
  // operation exactly rounded; no FMA, see the -ffp-contract=off build flag): dequantize
  // fl((q - z) s), sum in position order, divide by the count, multiply by fl(1 / s) and round
  // half to even, as masked_block_mean + the fake quantizer do. Halfway cases (frequent for
  // widths 2 and 4) then round exactly as in training.
  const float s = q.scale;
  const float inv = 1.0f / s;
  const int32_t zp = q.zero_point;
  if (static_cast<int64_t>(sum.size()) < C) sum.resize(C);
  float* acc = sum.data();
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t t0 = b * width;
    const int64_t t1 = std::min(T, t0 + width);
    const float cnt = static_cast<float>(t1 - t0);
    for (int64_t c = 0; c < C; ++c) acc[c] = 0.0f;
    for (int64_t t = t0; t < t1; ++t) {
      const int8_t* xt = x + t * C;
      for (int64_t c = 0; c < C; ++c) acc[c] += static_cast<float>(xt[c] - zp) * s;
    }
    int8_t* yb = y + b * C;
    for (int64_t c = 0; c < C; ++c) {
      const float r = round_even_small((acc[c] / cnt) * inv);  // |r| <= 256
      yb[c] = static_cast<int8_t>(std::min(127, std::max(-128, zp + static_cast<int32_t>(r))));
    }
  }
}

void softmax_u8(const int8_t* q, int64_t n, int64_t stride, const uint32_t* exp_table, int8_t* p,
                int64_t p_stride) {
  int32_t mx = -128;
  for (int64_t i = 0; i < n; ++i) mx = std::max<int32_t>(mx, q[i * stride]);
  int64_t sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += exp_table[mx - q[i * stride]];
  // exp_table[0] = 2^30 > 0, so sum > 0; sum <= n 2^30 < 2^40 for n < 2^10 positions, beyond
  // that the plain division.
  if (sum < (int64_t{1} << 40)) {
    const InvariantDivisor div(static_cast<uint64_t>(sum));
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t e = exp_table[mx - q[i * stride]];
      p[i * p_stride] = saturate_int8(static_cast<int32_t>(div.div_round_half_even(255 * e)) - 128);
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t e = exp_table[mx - q[i * stride]];
    p[i * p_stride] = saturate_int8(static_cast<int32_t>(div_round_half_even(255 * e, sum)) - 128);
  }
}

}  // namespace bytelite::rt

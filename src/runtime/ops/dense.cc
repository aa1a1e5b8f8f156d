// Ops: dense (and convolution = padded window + dense), zero-point padding, block means and the
// integer softmax shared by GBST and attention pooling.
#include <algorithm>
#include <cstring>

#include "runtime/ops/ops.h"

namespace bytelite::rt {

void dense(Isa isa, const DenseLayer& layer, const int8_t* x, int64_t rows, int64_t ldx,
           int8_t* y, OpScratch& s) {
  const int64_t n = layer.w.n;
  if (static_cast<int64_t>(s.acc.size()) < rows * n) s.acc.resize(rows * n);
  int32_t* acc = s.acc.data();
  gemm_s8(isa, x, rows, ldx, layer.w, acc, s.kernel);
  const int32_t zp = layer.out.zero_point;
  const int32_t* bias = layer.bias.data();
  const Multiplier* mult = layer.mult.data();
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a = acc + r * n;
    int8_t* yr = y + r * n;
    for (int64_t j = 0; j < n; ++j) {
      const int64_t v = static_cast<int64_t>(a[j]) + bias[j];
      yr[j] = saturate_int8(zp + apply_multiplier(v, mult[j]), layer.lo, layer.hi);
    }
  }
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

void block_mean(const int8_t* x, int64_t T, int64_t C, int64_t width, int32_t zp, int8_t* y) {
  const int64_t blocks = (T + width - 1) / width;
  if (width == 1) {
    std::memcpy(y, x, static_cast<size_t>(T * C));
    return;
  }
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t t0 = b * width;
    const int64_t t1 = std::min(T, t0 + width);
    const int64_t cnt = t1 - t0;
    for (int64_t c = 0; c < C; ++c) {
      int32_t sum = 0;
      for (int64_t t = t0; t < t1; ++t) sum += x[t * C + c] - zp;
      y[b * C + c] = saturate_int8(zp + static_cast<int32_t>(div_round_half_even(sum, cnt)));
    }
  }
}

void softmax_u8(const int8_t* q, int64_t n, int64_t stride, const uint32_t* exp_table,
                int8_t* p, int64_t p_stride) {
  int32_t mx = -128;
  for (int64_t i = 0; i < n; ++i) mx = std::max<int32_t>(mx, q[i * stride]);
  int64_t sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += exp_table[mx - q[i * stride]];
  // exp_table[0] = 2^30 > 0, so sum > 0.
  for (int64_t i = 0; i < n; ++i) {
    const int64_t e = exp_table[mx - q[i * stride]];
    p[i * p_stride] = saturate_int8(static_cast<int32_t>(div_round_half_even(255 * e, sum)) - 128);
  }
}

}  // namespace bytelite::rt

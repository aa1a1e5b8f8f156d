// Per-channel requantization: the SIMD layout, the reference loops (the ground truth) and the
// dispatch; the AVX2 path is requantize_avx2.cc beside it.
#include "runtime/kernels/kernels.h"

namespace bytelite::rt {

void prepare_requant(RequantParams& p) {
  const int64_t n8 = (p.n + 7) / 8 * 8;
  p.m0_v.assign(n8, 0);
  p.bias_v.assign(n8, int64_t{1} << 62);
  p.shift_v.assign(n8, 31);
  p.corr_v.assign(n8, int64_t{1} << 31);
  for (int64_t j = 0; j < p.n; ++j) p.m0_v[j] = p.m0[j];
  for (int64_t blk = 0; blk < n8; blk += 8) {
    for (int64_t l = 0; l < 8; ++l) {
      const int64_t j = blk + l;
      // even channels go to slots 0..3, odd channels to slots 4..7 of the block
      const int64_t slot = blk + (l % 2 == 0 ? l / 2 : 4 + l / 2);
      if (j >= p.n) continue;
      const int s = p.shift[j];
      p.bias_v[slot] = p.bias[j] + (int64_t{1} << (s - 1)) + (int64_t{1} << 62);
      p.shift_v[slot] = s;
      p.corr_v[slot] = (int64_t{1} << 62) >> s;
    }
  }
  const int64_t n16 = (p.n + 15) / 16 * 16;
  p.m0_16.assign(n16, 0);
  p.bias_16.assign(n16, 0);
  p.shift_16.assign(n16, 1);
  for (int64_t j = 0; j < p.n; ++j) {
    const int64_t blk = j / 16 * 16, l = j % 16;
    const int64_t slot = blk + (l % 2 == 0 ? l / 2 : 8 + l / 2);
    p.m0_16[j] = p.m0[j];
    p.bias_16[slot] = p.bias[j] + (int64_t{1} << (p.shift[j] - 1));
    p.shift_16[slot] = p.shift[j];
  }
}

void requantize_ref(const int32_t* acc, int64_t rows, const RequantParams& p, int8_t* y) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < p.n; ++j) {
      const int s = p.shift[j];
      const int64_t v =
          static_cast<int64_t>(acc[r * p.n + j]) * p.m0[j] + p.bias[j] + (int64_t{1} << (s - 1));
      int64_t q = p.zp + (v >> s);  // arithmetic shift: floor
      q = q < p.lo ? p.lo : (q > p.hi ? p.hi : q);
      y[r * p.n + j] = static_cast<int8_t>(q);
    }
  }
}

void requantize(Isa isa, const int32_t* acc, int64_t rows, const RequantParams& p, int8_t* y) {
  if (isa == Isa::kAvx512Vnni && isa_supported(Isa::kAvx512Vnni) && !p.m0_16.empty()) {
    requantize_avx512(acc, rows, p, y);
  } else if (isa != Isa::kReference && isa_supported(Isa::kAvx2)) {
    requantize_avx2(acc, rows, p, y);
  } else {
    requantize_ref(acc, rows, p, y);
  }
}

}  // namespace bytelite::rt

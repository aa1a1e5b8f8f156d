// Integer quantization arithmetic of the runtime (Jacob et al. 2018, "Quantization and Training
// of Neural Networks for Efficient Integer-Arithmetic-Only Inference", §2.2): affine int8
// activations real = (q - zero_point) * scale, int32 accumulation, and requantization by a
// fixed-point multiplier M = m0 * 2^-shift. Everything here is integer arithmetic, so results are
// identical on every CPU; the only floating-point step is computing m0 and shift from the float
// scales once at load time (IEEE double multiplication and division are exactly specified).
#pragma once

#include <algorithm>
#include <cstdint>

namespace bytelite::rt {

/// Per-tensor affine int8 parameters (docs/quantization.md).
struct QParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

/// Fixed ranges of bounded nonlinearities, as in src/train/fake_quant.h.
inline constexpr QParams kUnitParams{1.0f / 255.0f, -128};     // [0, 1]: sigmoid, softmax
inline constexpr QParams kSignedUnitParams{1.0f / 127.0f, 0};  // [-1, 1]: tanh, QRNN state

/// Fixed-point multiplier: M ~= m0 * 2^-shift with m0 in [2^30, 2^31) (or 0) and shift in
/// [1, 62]. Relative error <= 2^-31.
struct Multiplier {
  int32_t m0 = 0;
  int32_t shift = 31;
};

/// Represents a real multiplier m in (0, 2^30). Returns false if m is not finite, <= 0 or too
/// large (the caller reports a model-file error); m below 2^-62 becomes 0.
bool make_multiplier(double m, Multiplier* out);

/// round(v * M) with ties rounded up (towards +infinity): floor((v*m0 + 2^(shift-1)) / 2^shift).
/// |v| must be < 2^31 (the loader checks the bound for every layer), so v*m0 fits in int64.
inline int32_t apply_multiplier(int64_t v, Multiplier m) {
  const int64_t p = v * m.m0 + (int64_t{1} << (m.shift - 1));
  return static_cast<int32_t>(p >> m.shift);  // arithmetic shift: floor division
}

inline int8_t saturate_int8(int32_t v, int32_t lo = -128, int32_t hi = 127) {
  return static_cast<int8_t>(std::min(std::max(v, lo), hi));
}

/// a / b rounded to the nearest integer, ties to even (as std::nearbyint and torch's fake
/// quantization round); b > 0.
inline int64_t div_round_half_even(int64_t a, int64_t b) {
  int64_t q = a / b;
  int64_t r = a % b;  // same sign as a
  if (r < 0) {
    r += b;
    q -= 1;
  }
  // now a = q*b + r with 0 <= r < b
  const int64_t twice = 2 * r;
  if (twice > b || (twice == b && (q & 1) != 0)) q += 1;
  return q;
}

/// Division by one divisor b in [1, 2^40) of many numerators a in [0, 2^40), rounded to nearest,
/// ties to even: the same value as div_round_half_even(a, b), with a 128-bit multiplication by a
/// precomputed reciprocal instead of a 64-bit division (Granlund and Montgomery 1994, "Division
/// by invariant integers using multiplication"). The reciprocal floor((2^64 - 1) / b)
/// underestimates a / b by less than 1, so one correction step makes the quotient exact.
struct InvariantDivisor {
  explicit InvariantDivisor(uint64_t b) : b(b), recip(~uint64_t{0} / b) {}
  int64_t div_round_half_even(uint64_t a) const {
    uint64_t q = static_cast<uint64_t>((static_cast<unsigned __int128>(a) * recip) >> 64);
    uint64_t r = a - q * b;
    if (r >= b) {
      q += 1;
      r -= b;
    }
    const uint64_t twice = 2 * r;
    if (twice > b || (twice == b && (q & 1) != 0)) q += 1;
    return static_cast<int64_t>(q);
  }
  uint64_t b, recip;
};

/// The softmax quotient rne(255 e / sum) with one IEEE double division instead of integer
/// division: the same value as div_round_half_even(255 e, sum) for e <= sum, e < 2^30 + 1 and
/// sum < 2^40. Why it is exact: 255 e < 2^39 and sum are exact doubles, so the division's result
/// is r = a / b with a relative error <= 2^-53, and r <= 255, an absolute error < 2^-45. A tie
/// (2a = (2k + 1) b) gives k + 0.5 exactly, which the addition of 2^52 rounds to even as the
/// integer rule does; otherwise |a / b - (k + 0.5)| >= 1 / (2b) > 2^-41, so the computed r lies on
/// the same side of every half-integer as a / b and rounds to the same integer.
inline int32_t softmax_quotient_f64(uint64_t e, double sum) {
  const double r = static_cast<double>(255 * e) / sum;
  const double magic = 4503599627370496.0;  // 2^52: no fraction bits left above it
  return static_cast<int32_t>((r + magic) - magic);
}

/// v / 2^n rounded to nearest, ties to even; n in [1, 62].
inline int64_t shift_round_half_even(int64_t v, int n) {
  const int64_t q = v >> n;                     // floor
  const int64_t r = v - q * (int64_t{1} << n);  // (q << n is undefined for q < 0)
  const int64_t half = int64_t{1} << (n - 1);
  return q + ((r > half || (r == half && (q & 1) != 0)) ? 1 : 0);
}

}  // namespace bytelite::rt

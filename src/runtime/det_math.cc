// Deterministic exp and log (det_math.h). Both reduce the argument exactly (Cody and Waite 1980:
// ln 2 split into a high part with trailing zero bits and a low part), evaluate a fixed
// polynomial with Horner's rule in double precision, and rescale exactly with ldexp.
#include "runtime/det_math.h"

#include <cmath>
#include <limits>

namespace bytelite::rt {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// ln 2 = kLn2Hi + kLn2Lo; kLn2Hi has 21 trailing zero bits, so k * kLn2Hi is exact for |k| < 2^21.
constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 0x3fe62e42fee00000
constexpr double kLn2Lo = 1.90821492927058770002e-10;  // 0x3dea39ef35793c76
constexpr double kInvLn2 = 1.44269504088896338700e+00;
constexpr double kSqrtHalf = 0.70710678118654752440;

}  // namespace

double det_exp(double x) {
  if (std::isnan(x)) return x;
  if (x > 709.782712893383973096) return kInf;  // ln(DBL_MAX)
  if (x < -745.13321910194122) return 0.0;      // e^x < half the smallest subnormal
  // x = k ln2 + r with |r| <= ln2 / 2 (plus rounding), k = round(x / ln2) half away from zero.
  const double t = x * kInvLn2;
  const int k = static_cast<int>(t < 0.0 ? t - 0.5 : t + 0.5);
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  // e^r by its Taylor polynomial of degree 13: the remainder is below 0.35^14 / 14! < 5e-18.
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  return std::ldexp(p, k);
}

double det_log(double x) {
  if (std::isnan(x) || x < 0.0) return kNaN;
  if (x == 0.0) return -kInf;
  if (x == kInf) return kInf;
  // x = m 2^e with m in [sqrt(1/2), sqrt(2)) (frexp handles subnormal x exactly).
  int e = 0;
  double m = std::frexp(x, &e);  // m in [1/2, 1)
  if (m < kSqrtHalf) {
    m *= 2.0;
    e -= 1;
  }
  // ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (m - 1) / (m + 1), |s| <= 0.1716;
  // the terms after s^25/25 are below 0.1716^27 / 27 < 1e-21.
  const double s = (m - 1.0) / (m + 1.0);  // m - 1 is exact (Sterbenz)
  const double s2 = s * s;
  double p = 1.0 / 25.0;
  p = p * s2 + 1.0 / 23.0;
  p = p * s2 + 1.0 / 21.0;
  p = p * s2 + 1.0 / 19.0;
  p = p * s2 + 1.0 / 17.0;
  p = p * s2 + 1.0 / 15.0;
  p = p * s2 + 1.0 / 13.0;
  p = p * s2 + 1.0 / 11.0;
  p = p * s2 + 1.0 / 9.0;
  p = p * s2 + 1.0 / 7.0;
  p = p * s2 + 1.0 / 5.0;
  p = p * s2 + 1.0 / 3.0;
  const double ln_m = 2.0 * s + 2.0 * s * (s2 * p);
  const double ed = static_cast<double>(e);
  return ed * kLn2Hi + (ln_m + ed * kLn2Lo);
}

}  // namespace bytelite::rt

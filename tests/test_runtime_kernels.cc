// Runtime kernels and integer arithmetic (no libtorch): the reference GEMM at the extremes;
// fixed-point requantization against exact rational arithmetic; rounding helpers; CRC-32; the
// integer softmax and fo-pooling against float references. Every optimized path against the
// reference, bit for bit (robustness case C6), is the op harness's job (tests/test_ops.cc).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "runtime/crc32.h"
#include "runtime/kernels/kernels.h"
#include "runtime/ops/ops.h"
#include "runtime/quant.h"

namespace bytelite::rt {
namespace {

std::vector<int8_t> random_int8(std::mt19937& rng, size_t n, int lo, int hi) {
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(d(rng));
  return v;
}

TEST(Crc32, KnownValues) {
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(crc32("", 0), 0u);
  // Incremental == one shot, for every split point.
  const std::string s = "The quick brown fox jumps over the lazy dog";
  const uint32_t whole = crc32(s.data(), s.size());
  EXPECT_EQ(whole, 0x414FA339u);
  for (size_t i = 0; i <= s.size(); ++i) {
    EXPECT_EQ(crc32(s.data() + i, s.size() - i, crc32(s.data(), i)), whole) << i;
  }
}

TEST(Rounding, HalfToEvenDivisionAndShift) {
  EXPECT_EQ(div_round_half_even(5, 2), 2);    // 2.5 -> 2
  EXPECT_EQ(div_round_half_even(7, 2), 4);    // 3.5 -> 4
  EXPECT_EQ(div_round_half_even(-5, 2), -2);  // -2.5 -> -2
  EXPECT_EQ(div_round_half_even(-7, 2), -4);
  EXPECT_EQ(div_round_half_even(-4, 3), -1);  // -1.33
  EXPECT_EQ(div_round_half_even(-5, 3), -2);  // -1.67
  EXPECT_EQ(div_round_half_even(0, 7), 0);
  std::mt19937 rng(1);
  std::uniform_int_distribution<int64_t> a(-1000000, 1000000);
  std::uniform_int_distribution<int64_t> b(1, 1000);
  for (int i = 0; i < 20000; ++i) {
    const int64_t x = a(rng), y = b(rng);
    EXPECT_EQ(div_round_half_even(x, y),
              static_cast<int64_t>(std::nearbyint(static_cast<long double>(x) / y)))
        << x << " / " << y;
    const int n = 1 + static_cast<int>(y % 20);
    EXPECT_EQ(shift_round_half_even(x, n), div_round_half_even(x, int64_t{1} << n));
  }
}

TEST(Rounding, InvariantDivisorEqualsDivision) {
  std::mt19937_64 rng(9);
  std::uniform_int_distribution<uint64_t> a(0, (uint64_t{1} << 40) - 1);
  for (int i = 0; i < 200000; ++i) {
    const uint64_t b = 1 + (rng() >> (24 + rng() % 40));  // divisors of every magnitude
    if (b >= (uint64_t{1} << 40)) continue;
    const InvariantDivisor d(b);
    uint64_t x = a(rng);
    if (i % 3 == 0) x = (x / b) * b + b / 2;  // halfway cases (b even) and near them
    ASSERT_EQ(d.div_round_half_even(x),
              div_round_half_even(static_cast<int64_t>(x), static_cast<int64_t>(b)))
        << x << " / " << b;
  }
}

TEST(Requantization, MultiplierMatchesExactRationalRounding) {
  std::mt19937 rng(2);
  std::uniform_real_distribution<double> e(-40.0, 20.0);
  std::uniform_int_distribution<int64_t> v(-(int64_t{1} << 30), int64_t{1} << 30);
  for (int i = 0; i < 5000; ++i) {
    const double m = std::pow(2.0, e(rng));
    Multiplier mu;
    ASSERT_TRUE(make_multiplier(m, &mu)) << m;
    EXPECT_GE(mu.shift, 1);
    EXPECT_LE(mu.shift, 62);
    const double rel = std::fabs(std::ldexp(static_cast<double>(mu.m0), -mu.shift) - m) / m;
    if (mu.shift < 62) {
      EXPECT_LE(rel, 1.0 / (1u << 30)) << m;
    }
    const int64_t x = v(rng) >> (i % 20);
    // exact: floor(x * m0 / 2^shift + 1/2)
    const __int128 p =
        static_cast<__int128>(x) * mu.m0 + (static_cast<__int128>(1) << (mu.shift - 1));
    const __int128 q =
        p >= 0 ? p >> mu.shift : -((-p + ((static_cast<__int128>(1) << mu.shift) - 1)) >> mu.shift);
    if (std::fabs(static_cast<double>(x) * m) < 2e9) {
      EXPECT_EQ(apply_multiplier(x, mu), static_cast<int64_t>(q)) << x << " * " << m;
    }
  }
  Multiplier bad;
  EXPECT_FALSE(make_multiplier(0.0, &bad));
  EXPECT_FALSE(make_multiplier(-1.0, &bad));
  EXPECT_FALSE(make_multiplier(NAN, &bad));
  EXPECT_FALSE(make_multiplier(1e10, &bad));
  Multiplier tiny;
  ASSERT_TRUE(make_multiplier(1e-30, &tiny));
  EXPECT_EQ(apply_multiplier(1 << 30, tiny), 0);
}

// The reference GEMM at the extremes (x = -128, W = -127 everywhere: the largest products) does
// not saturate. (Every path against the reference, on these and random shapes: the op harness,
// tests/test_ops.cc, dense cases "gemm ...".)
TEST(Gemm, ReferenceDoesNotSaturateAtTheExtremes) {
  for (int64_t k : {int64_t{1}, int64_t{17}, int64_t{320}, int64_t{384}, int64_t{4096}}) {
    const int64_t rows = 3, n = 5;
    std::vector<int8_t> x(static_cast<size_t>(rows * k), -128), w(static_cast<size_t>(n * k), -127);
    PackedMatrix pm = pack_matrix(w.data(), n, k);
    std::vector<int32_t> ref(rows * n);
    gemm_s8_ref(x.data(), rows, k, pm, ref.data());
    for (int32_t v : ref) EXPECT_EQ(v, 128 * 127 * k) << "k " << k;
  }
}

// The dense op's requantization equals the exact rational rounding floor(acc * M + B + 1/2).
// (Every path against the reference: the op harness, tests/test_ops.cc.)
TEST(Dense, ReferenceEqualsExactRationalRequantization) {
  std::mt19937 rng(4);
  for (int trial = 0; trial < 30; ++trial) {
    const int64_t rows = 1 + trial * 3, k = 5 + trial * 11, n = 1 + trial * 5;
    auto x = random_int8(rng, rows * k, -128, 127);
    auto w = random_int8(rng, n * k, -127, 127);
    DenseLayer d;
    d.w = pack_matrix(w.data(), n, k);
    d.in = {0.02f, static_cast<int32_t>(trial * 7 % 256) - 128};
    d.out = {0.05f, 3};
    RequantParams& rq = d.rq;
    rq.n = n;
    rq.zp = d.out.zero_point;
    rq.lo = trial % 2 ? d.out.zero_point : -128;
    std::uniform_int_distribution<int> bd(-5000, 5000);
    std::uniform_real_distribution<double> md(-30, 2);
    for (int64_t j = 0; j < n; ++j) {
      Multiplier m;
      ASSERT_TRUE(make_multiplier(std::pow(2.0, md(rng)), &m));
      rq.m0.push_back(m.m0);
      rq.shift.push_back(m.shift);
      rq.bias.push_back(static_cast<int64_t>(bd(rng)) * m.m0 -
                        d.in.zero_point * int64_t{1000} * m.m0);
    }
    prepare_requant(rq);
    std::vector<int8_t> ref(rows * n);
    OpScratch s1;
    dense(OpContext{Isa::kReference, s1}, d, x.data(), rows, k, ref.data());
    // the reference against exact 128-bit arithmetic
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < n; ++j) {
        __int128 acc = 0;
        for (int64_t i = 0; i < k; ++i) acc += x[r * k + i] * w[j * k + i];
        const __int128 p =
            acc * rq.m0[j] + rq.bias[j] + (static_cast<__int128>(1) << (rq.shift[j] - 1));
        const __int128 q = rq.zp + (p >> rq.shift[j]);
        const int want = static_cast<int>(q < rq.lo ? rq.lo : (q > 127 ? 127 : q));
        ASSERT_EQ(ref[r * n + j], want) << "trial " << trial;
      }
    }
  }
}

// round_div255 is round-to-nearest of n / 255 on its whole domain.
TEST(QrnnPool, RoundDiv255IsExactOnItsDomain) {
  for (int32_t n = -255 * 128; n <= 255 * 128; ++n) {
    ASSERT_EQ(round_div255(n), static_cast<int32_t>(std::nearbyint(n / 255.0))) << n;
  }
}

// The double-division quotient of the optimized width softmax equals the integer rule
// div_round_half_even(255 e, sum): every tie k + 0.5 (k = 0..254, e = (2k + 1) m, sum = 510 m),
// the integers next to each tie, and random e <= sum up to the bounds (e <= 2^30, sum < 2^40).
TEST(Softmax, DoubleDivisionQuotientEqualsTheIntegerRule) {
  auto check = [](uint64_t e, uint64_t sum) {
    ASSERT_EQ(softmax_quotient_f64(e, static_cast<double>(sum)),
              div_round_half_even(static_cast<int64_t>(255 * e), static_cast<int64_t>(sum)))
        << "e " << e << " sum " << sum;
  };
  int64_t ties = 0;
  for (uint64_t k = 0; k <= 254; ++k) {
    for (uint64_t m : {uint64_t{1}, uint64_t{3}, uint64_t{1000003}, uint64_t{2104000}}) {
      const uint64_t e = (2 * k + 1) * m, sum = 510 * m;
      if (e > (uint64_t{1} << 30)) continue;
      ASSERT_EQ(255 * e * 2, (2 * k + 1) * sum);  // a tie: 255 e / sum = k + 0.5
      check(e, sum);
      check(e, sum + 1);
      check(e, sum - 1);
      ++ties;
    }
  }
  EXPECT_GT(ties, 900);
  std::mt19937_64 rng(11);
  for (int i = 0; i < 2000000; ++i) {
    const uint64_t sum = 1 + rng() % ((uint64_t{1} << (1 + i % 40)) - 1);
    const uint64_t cap = std::min<uint64_t>(sum, uint64_t{1} << 30);
    check(rng() % (cap + 1), sum);
  }
  check(uint64_t{1} << 30, uint64_t{1} << 30);
  check(1, (uint64_t{1} << 40) - 1);
}

TEST(Softmax, IntegerSoftmaxIsCloseToFloatAndSumsTo255) {
  std::mt19937 rng(5);
  const float s = 0.07f;
  std::array<uint32_t, 256> table{};
  for (int d = 0; d < 256; ++d)
    table[d] = static_cast<uint32_t>(std::llround(1073741824.0 * std::exp(-s * d)));
  for (int n : {1, 2, 4, 7, 50, 300}) {
    auto q = random_int8(rng, n, -128, 127);
    std::vector<int8_t> p(n);
    softmax_u8(q.data(), n, 1, table.data(), p.data(), 1);
    double mx = -1e9, sum = 0;
    for (int i = 0; i < n; ++i) mx = std::max(mx, static_cast<double>(q[i]));
    for (int i = 0; i < n; ++i) sum += std::exp(s * (q[i] - mx));
    int total = 0;
    for (int i = 0; i < n; ++i) {
      const double want = 255.0 * std::exp(s * (q[i] - mx)) / sum;
      EXPECT_LE(std::fabs((p[i] + 128) - want), 0.5 + 1e-6) << "n " << n << " i " << i;
      total += p[i] + 128;
    }
    EXPECT_LE(std::abs(total - 255), (n + 1) / 2);
  }
}

// The reference against the recurrence in double precision: the float state may differ from
// the exact value by rounding, so outputs may differ by 1 LSB, rarely.
TEST(QrnnPool, TracksTheExactRecurrence) {
  std::mt19937 rng(6);
  const int64_t T = 200, S = 9;
  QrnnTables tab;
  for (int i = 0; i < 256; ++i) {
    tab.tanh[i] = static_cast<int8_t>(std::lround(127 * std::tanh((i - 128) / 40.0)));
    tab.sigmoid[i] =
        static_cast<int8_t>(std::lround(255 / (1 + std::exp(-(i - 128) / 30.0))) - 128);
  }
  std::uniform_int_distribution<int> u(-128, 127);
  std::vector<int8_t> g(T * 3 * S);
  for (auto& v : g) v = static_cast<int8_t>(u(rng));
  for (bool reverse : {false, true}) {
    std::vector<int8_t> y(T * S);
    std::vector<float> state(S);
    qrnn_pool_ref(g.data(), T, S, reverse, tab, y.data(), S, state.data());
    int mismatched = 0;
    for (int64_t j = 0; j < S; ++j) {
      double h = 0;
      for (int64_t i = 0; i < T; ++i) {
        const int64_t t = reverse ? T - 1 - i : i;
        const int z = tab.tanh[g[t * 3 * S + j] + 128];
        const int f = tab.sigmoid[g[t * 3 * S + S + j] + 128];
        const int o = tab.sigmoid[g[t * 3 * S + 2 * S + j] + 128];
        const double c = std::nearbyint((127 - f) * z / 255.0) / 127.0;
        h = (f + 128) / 255.0 * h + c;
        const double qh = std::clamp(std::nearbyint(h * 127), -128.0, 127.0);
        const double want = std::nearbyint(qh * (o + 128) / 255.0);
        const int d = static_cast<int>(std::fabs(want - y[t * S + j]));
        EXPECT_LE(d, 1);
        mismatched += d != 0;
      }
    }
    EXPECT_LE(mismatched, T * S / 100);
  }
}

TEST(BlockMean, RoundsHalfToEvenAndHandlesShortLastBlock) {
  const int8_t x[] = {1, 2, 3, 4, 5, -7, -8};  // zero point 1
  int8_t y[4];
  std::vector<float> scratch;
  block_mean(x, 7, 1, 2, QParams{0.25f, 1}, y, scratch);
  // x - z = [0 1] [2 3] [4 -8] [-9]: means 0.5 -> 0, 2.5 -> 2, -2, -9; then + zero point 1
  EXPECT_EQ(y[0], 1);
  EXPECT_EQ(y[1], 3);
  EXPECT_EQ(y[2], -1);
  EXPECT_EQ(y[3], -8);
}

TEST(Ops, EveryOpHasAName) {
  for (int i = 0; i < kOpCount; ++i) {
    EXPECT_STRNE(op_name(static_cast<Op>(i)), "unknown") << i;
  }
}

}  // namespace
}  // namespace bytelite::rt

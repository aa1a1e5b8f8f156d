// Beam search (include/bytelite/beam_search.h; no libtorch): the golden traces of the original's
// beam_search_test.cc (seqflowlite_spec.md §5) in float and quantized form; the quantized
// log-softmax against a double-precision reference; the V1 pre-selection against the plain path;
// beam size 1 against greedy decoding; beam search with a beam wide enough to keep every prefix
// against exhaustive search; n-best ordering, bookkeeping (every returned score is replayed from
// its ids), determinism, edge cases and argument validation. Expected values are derived here
// by hand or with std::exp / std::log in double precision, never by running the code under test.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bytelite/beam_search.h"
#include "bytelite/errors.h"
#include "runtime/det_math.h"

namespace bytelite {
namespace {

using Ids = std::vector<int32_t>;

// ILP(n) = ((5 + n) / 6)^(-alpha) with libm, for expected values.
double ilp_ref(int64_t n, double alpha) { return std::pow((5.0 + n) / 6.0, -alpha); }

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// ---------------------------------------------------------------------------------------------
// Deterministic exp / log (src/runtime/det_math.h)

TEST(BeamSearchMath, ExpAndLogMatchLibmToTwoUlp) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> ux(-745.0, 709.7), small(-1.0, 1.0), ue(-1074.0, 1023.0);
  double worst_exp = 0.0, worst_log = 0.0;
  for (int i = 0; i < 200000; ++i) {
    const double x = (i % 2 == 0) ? ux(rng) : small(rng);
    const double want = std::exp(x);
    if (want > 1e-300) worst_exp = std::max(worst_exp, std::fabs(rt::det_exp(x) - want) / want);
    double y = std::exp2(ue(rng));
    if (i % 3 == 0) y = 1.0 + small(rng) * 1e-3;  // near 1, where ln y is small
    const double lw = std::log(y);
    if (lw != 0.0) worst_log = std::max(worst_log, std::fabs(rt::det_log(y) - lw) / std::fabs(lw));
  }
  EXPECT_LE(worst_exp, 5e-16);
  EXPECT_LE(worst_log, 5e-16);
  EXPECT_EQ(rt::det_exp(0.0), 1.0);
  EXPECT_EQ(rt::det_log(1.0), 0.0);
  EXPECT_EQ(rt::det_exp(-800.0), 0.0);
  EXPECT_EQ(rt::det_exp(710.0), std::numeric_limits<double>::infinity());
  EXPECT_EQ(rt::det_log(0.0), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(rt::det_log(-1.0)));
  EXPECT_NEAR(rt::det_log(std::numeric_limits<double>::denorm_min()), -744.44007192138126, 1e-12);
}

TEST(BeamSearch, InverseLengthPenalty) {
  for (double alpha : {0.0, 0.2, 0.6, 1.0, 3.7}) {
    EXPECT_EQ(inverse_length_penalty(1, alpha), 1.0);  // (6/6)^-alpha
    for (int64_t n : {0, 2, 3, 10, 100, 100000})
      EXPECT_NEAR(inverse_length_penalty(n, alpha), ilp_ref(n, alpha), 1e-13 * ilp_ref(n, alpha))
          << n << " " << alpha;
  }
  EXPECT_EQ(inverse_length_penalty(7, 0.0), 1.0);
  // GNMT: ((5 + 2) / 6)^-0.6 = e^(-0.6 * 0.154151) = 0.911658
  EXPECT_NEAR(inverse_length_penalty(2, 0.6), 0.911658, 1e-6);
}

// ---------------------------------------------------------------------------------------------
// The mock decoder of the original's test (spec §5): two 2x5 tables A and B; at odd steps it
// reads A and writes B, at even steps the reverse: new[slot] = (read[parent[slot]] +
// old_write[slot]) / 2, returned as (un-normalized) probabilities, float or uint8 with scale
// 1/255 and zero point 0.

class SpecMockDecoder : public BeamDecoder {
 public:
  explicit SpecMockDecoder(bool quantized) : quantized_(quantized) {}

  StepScores decode(int32_t step, const Ids& parents, const Ids& ids) override {
    steps.push_back(step);
    parents_seen.push_back(parents);
    ids_seen.push_back(ids);
    double(&read)[2][5] = step % 2 == 1 ? a_ : b_;
    double(&write)[2][5] = step % 2 == 1 ? b_ : a_;
    double next[2][5];
    for (int s = 0; s < 2; ++s)
      for (int c = 0; c < 5; ++c) next[s][c] = (read[parents[s]][c] + write[s][c]) / 2.0;
    for (int s = 0; s < 2; ++s)
      for (int c = 0; c < 5; ++c) {
        write[s][c] = next[s][c];
        f_[s * 5 + c] = static_cast<float>(next[s][c]);
        q_[s * 5 + c] = static_cast<uint8_t>(std::lround(next[s][c] * 255.0));
      }
    if (quantized_) return StepScores::uint8_probabilities(q_, 2, 5, 1.0f / 255.0f, 0);
    return StepScores::float_probabilities(f_, 2, 5);
  }

  std::vector<int32_t> steps;
  std::vector<Ids> parents_seen, ids_seen;

 private:
  bool quantized_;
  double a_[2][5] = {{.6, .8, .3, .7, .2}, {.5, .2, .1, .3, .4}};
  double b_[2][5] = {{.6, .9, .8, .2, .8}, {.5, .8, .5, .7, .9}};
  float f_[10] = {};
  uint8_t q_[10] = {};
};

BeamSearchOptions spec_options() {
  BeamSearchOptions o;
  o.beam_size = 2;
  o.num_classes = 5;
  o.sos_id = 0;
  o.eos_id = 2;
  o.max_len = 4;
  o.n_best = 2;
  o.length_penalty = 0.6;
  return o;
}

// Hand trace (float):
//  step 1, slot 0 only: (.6, .85, .55, .45, .5); top 4 = classes 1, 0, 2 (EOS), 4. [EOS]
//    finishes with ln .55 * ILP(1) = ln .55 = -0.598; live [1] (ln .85), [0] (ln .6).
//  step 2, both slots read row 0 of the table written at step 1 (parents 0, 0): slot 0 gives
//    (.6, .825, .425, .575, .35), slot 1 (.55, .525, .325, .375, .45); top 4 (scores
//    ln .85 + ...) = [1,1], [1,0], [1,3], [1,EOS] -> [1,2] with (ln .85 + ln .425) * ILP(2)
//    = -1.018 * 0.912 = -0.928.
//  steps 3 and 4: no EOS among the top 4; every live hypothesis comes from slot 0; the bound
//    best_live * ILP(4) (-0.278, -0.417, -0.562) stays above -0.598, so all 4 steps run.
TEST(BeamSearch, SpecGoldenTraceFloat) {
  SpecMockDecoder dec(false);
  const auto hyps = BeamSearch(spec_options()).search(dec);
  ASSERT_EQ(hyps.size(), 2u);
  EXPECT_EQ(hyps[0].ids, (Ids{2}));
  EXPECT_TRUE(hyps[0].finished);
  EXPECT_NEAR(hyps[0].log_prob, std::log(0.55), 1e-6);
  EXPECT_NEAR(hyps[0].score, std::log(0.55), 1e-6);
  EXPECT_NEAR(hyps[0].score, -0.598, 5e-4);
  EXPECT_EQ(hyps[1].ids, (Ids{1, 2}));
  EXPECT_TRUE(hyps[1].finished);
  const double lp1 = std::log(0.85) + std::log(0.425);
  EXPECT_NEAR(hyps[1].log_prob, lp1, 1e-6);
  EXPECT_NEAR(hyps[1].score, lp1 * std::pow(7.0 / 6.0, -0.6), 1e-6);
  EXPECT_NEAR(hyps[1].score, -0.928, 5e-4);
  EXPECT_EQ(dec.steps, (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(dec.parents_seen, (std::vector<Ids>{{0, 0}, {0, 0}, {0, 0}, {0, 0}}));
  EXPECT_EQ(dec.ids_seen, (std::vector<Ids>{{0, 0}, {1, 0}, {1, 0}, {1, 0}}));
}

// Quantized: codes round(255 p): .55 -> 140 (140.25), .85 -> 217 (216.75), .425 -> 108
// (108.375); the same hypotheses with p replaced by code / 255.
TEST(BeamSearch, SpecGoldenTraceQuantized) {
  SpecMockDecoder dec(true);
  const auto hyps = BeamSearch(spec_options()).search(dec);
  ASSERT_EQ(hyps.size(), 2u);
  EXPECT_EQ(hyps[0].ids, (Ids{2}));
  // (tolerance: the float scale 1/255 is 5.9e-8 relative above 1/255)
  EXPECT_NEAR(hyps[0].score, std::log(140.0 / 255.0), 3e-7);
  EXPECT_NEAR(hyps[0].score, -0.598, 3e-3);
  EXPECT_EQ(hyps[1].ids, (Ids{1, 2}));
  const double lp1 = std::log(217.0 / 255.0) + std::log(108.0 / 255.0);
  EXPECT_NEAR(hyps[1].log_prob, lp1, 3e-7);
  EXPECT_NEAR(hyps[1].score, lp1 * std::pow(7.0 / 6.0, -0.6), 3e-7);
  EXPECT_NEAR(hyps[1].score, -0.928, 3e-3);
  EXPECT_EQ(dec.steps.size(), 4u);
}

// n_best = 1 returns only the best; the finished list still holds K = 2 entries internally.
TEST(BeamSearch, SpecTraceNBestOne) {
  auto o = spec_options();
  o.n_best = 1;
  SpecMockDecoder dec(false);
  const auto hyps = BeamSearch(o).search(dec);
  ASSERT_EQ(hyps.size(), 1u);
  EXPECT_EQ(hyps[0].ids, (Ids{2}));
}

// ---------------------------------------------------------------------------------------------
// Quantized log-softmax (spec §5 FindTopKQuantizedFromLogits / ...V1).

struct RefCand {
  double score;
  int32_t slot, cls;
};

// Dequantize then log-softmax over the allowed classes, in double with libm; sorted like the
// search (score descending, then slot, then class: equal codes give exactly equal values here).
std::vector<RefCand> reference_log_softmax(const std::vector<int8_t>& q, int rows, int cols,
                                           float scale, int32_t zp, const std::vector<bool>& mask,
                                           const std::vector<double>& base) {
  std::vector<RefCand> out;
  for (int r = 0; r < rows; ++r) {
    double mx = -1e300;
    for (int c = 0; c < cols; ++c)
      if (mask.empty() || mask[c]) mx = std::max(mx, (q[r * cols + c] - zp) * double{scale});
    double z = 0.0;
    for (int c = 0; c < cols; ++c)
      if (mask.empty() || mask[c]) z += std::exp((q[r * cols + c] - zp) * double{scale} - mx);
    for (int c = 0; c < cols; ++c)
      if (mask.empty() || mask[c])
        out.push_back({base[r] + (q[r * cols + c] - zp) * double{scale} - mx - std::log(z), r, c});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const RefCand& a, const RefCand& b) { return a.score > b.score; });
  return out;
}

TEST(BeamSearchLogSoftmax, MatchesDequantizedFloatLogSoftmax) {
  // K = 2, C = 5, both slots live (selected beams (0, 1)), all 10 candidates kept.
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> code(-128, 127);
  for (float scale : {0.01f, 0.0625f, 0.2f, 1.5f}) {
    for (int32_t zp : {-128, -7, 0, 31}) {
      std::vector<int8_t> q(10);
      for (auto& v : q) v = static_cast<int8_t>(code(rng));
      const auto got =
          top_candidates(StepScores::int8_logits(q.data(), 2, 5, scale, zp), {0.0, 0.0}, 2, 10);
      const auto want = reference_log_softmax(q, 2, 5, scale, zp, {}, {0.0, 0.0});
      ASSERT_EQ(got.size(), 10u);
      double rel = 0.0;
      for (size_t i = 0; i < 10; ++i) {
        EXPECT_EQ(got[i].slot, want[i].slot) << i;
        EXPECT_EQ(got[i].class_id, want[i].cls) << i;
        rel += std::fabs(got[i].score - want[i].score) / std::max(1e-12, std::fabs(want[i].score));
      }
      EXPECT_LT(rel / 10.0, 1e-5);   // the original test's bound
      EXPECT_LT(rel / 10.0, 1e-13);  // what double precision actually gives
    }
  }
}

TEST(BeamSearchLogSoftmax, V1EqualsPlainWithMaskTop4) {
  // Spec: mask (T, T, F, T, F), top-4; V1 must give exactly the plain version's result.
  const std::vector<bool> mask = {true, true, false, true, false};
  std::mt19937 rng(12);
  std::uniform_int_distribution<int> code(-128, 127);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<int8_t> q(10);
    for (auto& v : q) v = static_cast<int8_t>(code(rng));
    const auto view = StepScores::int8_logits(q.data(), 2, 5, 0.05f, 3);
    const std::vector<double> base = {-0.25, -1.5};
    const auto v1 = top_candidates(view, base, 2, 4, mask, true);
    const auto plain = top_candidates(view, base, 2, 4, mask, false);
    ASSERT_EQ(v1.size(), 4u);
    ASSERT_EQ(plain.size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_TRUE(same_bits(v1[i].score, plain[i].score)) << i;
      EXPECT_EQ(v1[i].slot, plain[i].slot);
      EXPECT_EQ(v1[i].class_id, plain[i].class_id);
      EXPECT_TRUE(mask[v1[i].class_id]);
    }
    // Masked classes are also left out of the normalization.
    const auto want = reference_log_softmax(q, 2, 5, 0.05f, 3, mask, base);
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(plain[i].slot, want[i].slot);
      EXPECT_EQ(plain[i].class_id, want[i].cls);
      EXPECT_NEAR(plain[i].score, want[i].score, 1e-12);
    }
  }
}

// Many equal codes, equal beam log-probabilities (ties across slots), random masks and sizes,
// including k above the number of candidates and tiny scales where distinct codes round to the
// same score.
TEST(BeamSearchLogSoftmax, V1EqualsPlainRandomWithTies) {
  std::mt19937 rng(13);
  for (int trial = 0; trial < 2000; ++trial) {
    const int rows = 1 + static_cast<int>(rng() % 6), cols = 1 + static_cast<int>(rng() % 40);
    const int k = static_cast<int>(rng() % 20);
    const int span = 1 + static_cast<int>(rng() % 6);
    std::vector<int8_t> q(static_cast<size_t>(rows) * cols);
    for (auto& v : q) v = static_cast<int8_t>(static_cast<int>(rng() % span) - 3);
    std::vector<bool> mask;
    if (trial % 2 == 1)
      for (int c = 0; c < cols; ++c) mask.push_back(rng() % 3 != 0);
    std::vector<double> base(rows);
    for (auto& b : base) b = (rng() % 2 == 0) ? -1.0 : -0.5 * static_cast<double>(rng() % 4);
    const float scale = trial % 5 == 0 ? 1e-20f : 0.125f;
    const auto view = StepScores::int8_logits(q.data(), rows, cols, scale, 0);
    const int valid = 1 + static_cast<int>(rng() % rows);
    const auto v1 = top_candidates(view, base, valid, k, mask, true);
    const auto plain = top_candidates(view, base, valid, k, mask, false);
    ASSERT_EQ(v1.size(), plain.size());
    for (size_t i = 0; i < v1.size(); ++i) {
      ASSERT_TRUE(same_bits(v1[i].score, plain[i].score)) << trial << " " << i;
      ASSERT_EQ(v1[i].slot, plain[i].slot) << trial << " " << i;
      ASSERT_EQ(v1[i].class_id, plain[i].class_id) << trial << " " << i;
    }
    // Sorted, ties broken by lower slot then lower class.
    for (size_t i = 1; i < plain.size(); ++i) {
      const auto &a = plain[i - 1], &b = plain[i];
      if (scale > 1e-10f) {  // distinct scores per code: the order is (score, slot, class)
        EXPECT_TRUE(a.score > b.score ||
                    (a.score == b.score &&
                     (a.slot < b.slot || (a.slot == b.slot && a.class_id < b.class_id))));
      } else {
        EXPECT_GE(a.score, b.score);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// A deterministic random "language model": the C logits of a slot are a pseudo-random function
// of the slot's whole prefix (the ids after SOS), so any sequence can be replayed. It checks the
// decoder contract (steps 1, 2, ... in order; parents in [0, K); ids in [0, C)) and keeps the
// prefixes of the slots by following parent_beams, as a real decoder's cache would.

class HashLm : public BeamDecoder {
 public:
  enum class Kind { kInt8, kFloatLogits };
  HashLm(int K, int C, uint64_t seed, Kind kind = Kind::kInt8, int lo = -128, int hi = 127)
      : K_(K), C_(C), seed_(seed), kind_(kind), lo_(lo), hi_(hi) {}

  // Optional: edits the codes of a prefix (e.g. to force or forbid EOS).
  std::function<void(const Ids& prefix, std::vector<int>& codes)> rule;
  float scale = 0.07f;
  int32_t zero_point = -5;
  int calls = 0;

  std::vector<int> codes(const Ids& prefix) const {
    uint64_t h = seed_ * 0x9E3779B97F4A7C15ull + 0x1234567ull;
    for (int32_t id : prefix) h = (h ^ static_cast<uint64_t>(id + 1)) * 0x100000001B3ull;
    std::mt19937_64 g(h);
    std::vector<int> v(C_);
    for (auto& x : v) x = lo_ + static_cast<int>(g() % static_cast<uint64_t>(hi_ - lo_ + 1));
    if (rule) rule(prefix, v);
    return v;
  }

  // ln p(c | prefix) in double with libm, over the allowed classes.
  double log_prob(const Ids& prefix, int32_t c, const std::vector<bool>& mask) const {
    const auto v = codes(prefix);
    double mx = -1e300, z = 0.0;
    for (int i = 0; i < C_; ++i)
      if (mask.empty() || mask[i]) mx = std::max(mx, real(v[i]));
    for (int i = 0; i < C_; ++i)
      if (mask.empty() || mask[i]) z += std::exp(real(v[i]) - mx);
    return real(v[c]) - mx - std::log(z);
  }
  double sequence_log_prob(const Ids& ids, const std::vector<bool>& mask) const {
    double lp = 0.0;
    Ids prefix;
    for (int32_t id : ids) {
      lp += log_prob(prefix, id, mask);
      prefix.push_back(id);
    }
    return lp;
  }

  StepScores decode(int32_t step, const Ids& parents, const Ids& ids) override {
    ++calls;
    EXPECT_EQ(step, calls);
    EXPECT_EQ(parents.size(), static_cast<size_t>(K_));
    EXPECT_EQ(ids.size(), static_cast<size_t>(K_));
    std::vector<Ids> next(K_);
    for (int s = 0; s < K_; ++s) {
      EXPECT_GE(parents[s], 0);
      EXPECT_LT(parents[s], K_);
      EXPECT_GE(ids[s], 0);
      EXPECT_LT(ids[s], C_);
      if (step > 1) {
        next[s] = prefixes_[parents[s]];
        next[s].push_back(ids[s]);
      }
    }
    prefixes_ = next;
    q_.assign(static_cast<size_t>(K_) * C_, 0);
    f_.assign(static_cast<size_t>(K_) * C_, 0.0f);
    for (int s = 0; s < K_; ++s) {
      const auto v = codes(prefixes_[s]);
      for (int c = 0; c < C_; ++c) {
        q_[s * C_ + c] = static_cast<int8_t>(v[c]);
        f_[s * C_ + c] = static_cast<float>(real(v[c]));
      }
    }
    if (kind_ == Kind::kInt8) return StepScores::int8_logits(q_.data(), K_, C_, scale, zero_point);
    return StepScores::float_logits(f_.data(), K_, C_);
  }

 private:
  // Dequantized logit; for the float kind the value the decoder returns, rounded to float.
  double real(int code) const {
    const double r = (code - zero_point) * double{scale};
    return kind_ == Kind::kInt8 ? r : static_cast<double>(static_cast<float>(r));
  }

  int K_, C_;
  uint64_t seed_;
  Kind kind_;
  int lo_, hi_;
  std::vector<Ids> prefixes_;
  std::vector<int8_t> q_;
  std::vector<float> f_;
};

// Greedy decoding: the allowed class with the highest code (lowest index on ties), stopping
// after EOS or max_len ids.
Ids greedy(const HashLm& lm, int max_len, int32_t eos, const std::vector<bool>& mask) {
  Ids out;
  for (int t = 0; t < max_len; ++t) {
    const auto v = lm.codes(out);
    int best = -1;
    for (int c = 0; c < static_cast<int>(v.size()); ++c)
      if ((mask.empty() || mask[c]) && (best < 0 || v[c] > v[best])) best = c;
    out.push_back(best);
    if (best == eos) break;
  }
  return out;
}

TEST(BeamSearch, BeamSizeOneIsGreedyWhenEosIsMasked) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    for (auto kind : {HashLm::Kind::kInt8, HashLm::Kind::kFloatLogits}) {
      BeamSearchOptions o;
      o.beam_size = 1;
      o.n_best = 1;
      o.num_classes = 7;
      o.sos_id = 0;
      o.eos_id = 1;
      o.max_len = 12;
      o.class_mask = {true, false, true, true, true, true, true};
      HashLm lm(1, 7, seed, kind, -20, 20);  // narrow range: ties occur
      const auto hyps = BeamSearch(o).search(lm);
      ASSERT_EQ(hyps.size(), 1u);
      const Ids want = greedy(lm, 12, 1, o.class_mask);
      EXPECT_EQ(hyps[0].ids, want) << seed;
      EXPECT_FALSE(hyps[0].finished);
      const double lp = lm.sequence_log_prob(want, o.class_mask);
      EXPECT_NEAR(hyps[0].log_prob, lp, 1e-9);
      EXPECT_NEAR(hyps[0].score, lp * ilp_ref(12, 0.6), 1e-9);
      EXPECT_EQ(lm.calls, 12);
    }
  }
}

// EOS is the least likely class until the prefix has `n` ids, then the most likely one; with
// alpha = 0 the beam of one then returns exactly the greedy output (which stops at EOS).
TEST(BeamSearch, BeamSizeOneIsGreedyWhenEosEndsTheGreedyPath) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    const int n = 1 + static_cast<int>(seed % 7);
    BeamSearchOptions o;
    o.beam_size = 1;
    o.num_classes = 6;
    o.sos_id = 0;
    o.eos_id = 3;
    o.max_len = 10;
    o.length_penalty = 0.0;
    HashLm lm(1, 6, seed, HashLm::Kind::kInt8, -100, 100);
    lm.rule = [n](const Ids& prefix, std::vector<int>& v) {
      v[3] = static_cast<int>(prefix.size()) >= n ? 127 : -128;
    };
    const auto hyps = BeamSearch(o).search(lm);
    const Ids want = greedy(lm, 10, 3, {});
    ASSERT_EQ(want.size(), static_cast<size_t>(n + 1));
    ASSERT_EQ(hyps.size(), 1u);
    EXPECT_EQ(hyps[0].ids, want) << seed;
    EXPECT_TRUE(hyps[0].finished);
    EXPECT_NEAR(hyps[0].score, lm.sequence_log_prob(want, {}), 1e-9);
    // The early stop fires at the step that finishes: the live continuation is worse.
    EXPECT_EQ(lm.calls, n + 1);
  }
}

// Every sequence of non-EOS ids of length 0..max_len-1 followed by EOS, with its score.
struct Scored {
  Ids ids;
  double score;
};
void enumerate(const HashLm& lm, const BeamSearchOptions& o, Ids& prefix, double lp,
               std::vector<Scored>& out) {
  const Ids with_eos = [&] {
    Ids w = prefix;
    w.push_back(o.eos_id);
    return w;
  }();
  if (o.class_mask.empty() || o.class_mask[o.eos_id]) {
    const double total = lp + lm.log_prob(prefix, o.eos_id, o.class_mask);
    out.push_back(
        {with_eos, total * ilp_ref(static_cast<int64_t>(with_eos.size()), o.length_penalty)});
  }
  if (static_cast<int>(prefix.size()) + 1 >= o.max_len) return;
  for (int32_t c = 0; c < o.num_classes; ++c) {
    if (c == o.eos_id || !(o.class_mask.empty() || o.class_mask[c])) continue;
    const double step = lm.log_prob(prefix, c, o.class_mask);
    prefix.push_back(c);
    enumerate(lm, o, prefix, lp + step, out);
    prefix.pop_back();
  }
}

// With K at least the number of live prefixes and 2K at least the number of candidates at every
// step, nothing is pruned except by the early stop, which is exact for normalized models: the
// best hypothesis must be the exhaustive optimum. Also covers C * live < 2K (step 1: C = 3 < 24).
TEST(BeamSearch, WideBeamFindsTheExhaustiveOptimum) {
  int checked = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    for (double alpha : {0.0, 0.6, 2.0}) {
      for (auto kind : {HashLm::Kind::kInt8, HashLm::Kind::kFloatLogits}) {
        BeamSearchOptions o;
        o.num_classes = 3;
        o.sos_id = 0;
        o.eos_id = 2;
        o.max_len = 4;  // live prefixes: 2, 4, 8; candidates: 3, 6, 12, 24
        o.beam_size = 12;
        o.n_best = 12;
        o.length_penalty = alpha;
        HashLm lm(12, 3, seed, kind);
        std::vector<Scored> all;
        Ids prefix;
        enumerate(lm, o, prefix, 0.0, all);
        ASSERT_EQ(all.size(), 15u);  // 1 + 2 + 4 + 8
        std::stable_sort(all.begin(), all.end(),
                         [](const Scored& a, const Scored& b) { return a.score > b.score; });
        if (all[0].score - all[1].score < 1e-9) continue;  // a near tie: either answer is right
        const auto hyps = BeamSearch(o).search(lm);
        ASSERT_FALSE(hyps.empty());
        EXPECT_EQ(hyps[0].ids, all[0].ids) << seed << " " << alpha;
        EXPECT_NEAR(hyps[0].score, all[0].score, 1e-9);
        // Every returned hypothesis is one of the 15 with its exact score, in order.
        for (size_t i = 0; i < hyps.size(); ++i) {
          EXPECT_TRUE(hyps[i].finished);
          bool found = false;
          for (const auto& s : all)
            if (s.ids == hyps[i].ids) {
              found = true;
              EXPECT_NEAR(hyps[i].score, s.score, 1e-9);
            }
          EXPECT_TRUE(found);
          if (i > 0) {
            EXPECT_GE(hyps[i - 1].score, hyps[i].score);
          }
        }
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 200);
}

// n-best lists from a realistic beam (K = 5, C = 40): ordered by score; every score is
// log_prob * ILP(length) and every log_prob is the replayed sum over its ids (this checks the
// history bookkeeping through parent_beams); finished hypotheses end with their only EOS; all
// are distinct.
TEST(BeamSearch, NBestOrderedAndReplayable) {
  for (uint64_t seed = 1; seed <= 25; ++seed) {
    BeamSearchOptions o;
    o.beam_size = 5;
    o.n_best = 5;
    o.num_classes = 40;
    o.sos_id = 0;
    o.eos_id = 1;
    o.max_len = 15;
    o.length_penalty = 0.6;
    HashLm lm(5, 40, seed, HashLm::Kind::kInt8, -60, 60);
    // EOS becomes more likely with length, so hypotheses finish at different steps.
    lm.rule = [](const Ids& prefix, std::vector<int>& v) {
      v[1] = std::min(127, v[1] + 12 * static_cast<int>(prefix.size()));
    };
    const auto hyps = BeamSearch(o).search(lm);
    ASSERT_GE(hyps.size(), 2u) << seed;
    ASSERT_LE(hyps.size(), 5u);
    for (size_t i = 0; i < hyps.size(); ++i) {
      const auto& h = hyps[i];
      ASSERT_TRUE(h.finished);
      ASSERT_FALSE(h.ids.empty());
      EXPECT_EQ(h.ids.back(), 1);
      for (size_t j = 0; j + 1 < h.ids.size(); ++j) EXPECT_NE(h.ids[j], 1);
      EXPECT_LE(h.ids.size(), 15u);
      EXPECT_NEAR(h.log_prob, lm.sequence_log_prob(h.ids, {}), 1e-9);
      EXPECT_TRUE(same_bits(
          h.score, h.log_prob * inverse_length_penalty(static_cast<int64_t>(h.ids.size()), 0.6)));
      if (i > 0) {
        EXPECT_GE(hyps[i - 1].score, h.score);
        for (size_t j = 0; j < i; ++j) EXPECT_NE(hyps[j].ids, h.ids);
      }
    }
  }
}

// The float-logits reference path and the int8 path agree when the float logits are the
// dequantized codes (float rounding aside): same hypotheses.
TEST(BeamSearch, Int8AndFloatLogitPathsAgree) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    BeamSearchOptions o;
    o.beam_size = 3;
    o.n_best = 3;
    o.num_classes = 20;
    o.eos_id = 2;
    o.max_len = 10;
    HashLm a(3, 20, seed, HashLm::Kind::kInt8), b(3, 20, seed, HashLm::Kind::kFloatLogits);
    a.scale = b.scale = 0.0625f;  // a power of two: the float logits are exact
    a.rule = b.rule = [](const Ids& p, std::vector<int>& v) {
      v[2] = std::min(127, v[2] + 25 * static_cast<int>(p.size()));
    };
    const auto ha = BeamSearch(o).search(a), hb = BeamSearch(o).search(b);
    ASSERT_EQ(ha.size(), hb.size());
    for (size_t i = 0; i < ha.size(); ++i) {
      EXPECT_EQ(ha[i].ids, hb[i].ids);
      EXPECT_NEAR(ha[i].score, hb[i].score, 1e-12);
    }
  }
}

TEST(BeamSearch, V1EqualsPlainOverWholeSearches) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    BeamSearchOptions o;
    o.beam_size = 1 + static_cast<int32_t>(seed % 6);
    o.n_best = o.beam_size;
    o.num_classes = 30;
    o.eos_id = 4;
    o.max_len = 12;
    if (seed % 2 == 0) {
      o.class_mask.assign(30, true);
      o.class_mask[7] = o.class_mask[9] = o.class_mask[20] = false;
    }
    std::vector<Hypothesis> res[2];
    for (int v1 = 0; v1 < 2; ++v1) {
      o.preselect = v1 == 1;
      HashLm lm(o.beam_size, 30, seed, HashLm::Kind::kInt8, -6, 6);  // many equal codes
      lm.rule = [](const Ids& p, std::vector<int>& v) { v[4] += static_cast<int>(p.size()); };
      res[v1] = BeamSearch(o).search(lm);
    }
    ASSERT_EQ(res[0].size(), res[1].size());
    for (size_t i = 0; i < res[0].size(); ++i) {
      EXPECT_EQ(res[0][i].ids, res[1][i].ids);
      EXPECT_TRUE(same_bits(res[0][i].score, res[1][i].score));
      EXPECT_TRUE(same_bits(res[0][i].log_prob, res[1][i].log_prob));
    }
  }
}

TEST(BeamSearch, DeterministicAcrossRunsAndThreads) {
  BeamSearchOptions o;
  o.beam_size = 4;
  o.n_best = 4;
  o.num_classes = 50;
  o.eos_id = 1;
  o.max_len = 20;
  const BeamSearch bs(o);
  auto run = [&](uint64_t seed) {
    HashLm lm(4, 50, seed, HashLm::Kind::kInt8, -30, 30);
    lm.rule = [](const Ids& p, std::vector<int>& v) { v[1] += 3 * static_cast<int>(p.size()); };
    return bs.search(lm);
  };
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const auto first = run(seed);
    std::vector<Hypothesis> threaded[4];
    std::vector<std::thread> th;
    for (int i = 0; i < 4; ++i) th.emplace_back([&, i] { threaded[i] = run(seed); });
    for (auto& t : th) t.join();
    for (const auto& other : {run(seed), threaded[0], threaded[1], threaded[2], threaded[3]}) {
      ASSERT_EQ(first.size(), other.size());
      for (size_t i = 0; i < first.size(); ++i) {
        EXPECT_EQ(first[i].ids, other[i].ids);
        EXPECT_TRUE(same_bits(first[i].score, other[i].score));
        EXPECT_TRUE(same_bits(first[i].log_prob, other[i].log_prob));
        EXPECT_EQ(first[i].finished, other[i].finished);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Edge cases

TEST(BeamSearch, MaxLenZeroGivesOneEmptyHypothesisWithoutDecoding) {
  BeamSearchOptions o;
  o.max_len = 0;
  o.n_best = 3;
  int calls = 0;
  const auto hyps = BeamSearch(o).search([&](int32_t, const Ids&, const Ids&) {
    ++calls;
    return StepScores{};
  });
  ASSERT_EQ(hyps.size(), 1u);
  EXPECT_TRUE(hyps[0].ids.empty());
  EXPECT_EQ(hyps[0].score, 0.0);
  EXPECT_EQ(hyps[0].log_prob, 0.0);
  EXPECT_FALSE(hyps[0].finished);
  EXPECT_EQ(calls, 0);
}

TEST(BeamSearch, NothingReachesEosWithinMaxLen) {
  // EOS masked: one unfinished hypothesis of max_len ids, even with n_best = 3.
  BeamSearchOptions o;
  o.beam_size = 3;
  o.n_best = 3;
  o.num_classes = 8;
  o.eos_id = 1;
  o.max_len = 6;
  o.class_mask.assign(8, true);
  o.class_mask[1] = false;
  HashLm lm(3, 8, 5);
  const auto hyps = BeamSearch(o).search(lm);
  ASSERT_EQ(hyps.size(), 1u);
  EXPECT_FALSE(hyps[0].finished);
  ASSERT_EQ(hyps[0].ids.size(), 6u);
  for (int32_t id : hyps[0].ids) EXPECT_NE(id, 1);
  EXPECT_NEAR(hyps[0].log_prob, lm.sequence_log_prob(hyps[0].ids, o.class_mask), 1e-9);
  EXPECT_NEAR(hyps[0].score, hyps[0].log_prob * ilp_ref(6, 0.6), 1e-9);
  EXPECT_EQ(lm.calls, 6);
}

TEST(BeamSearch, ZeroProbabilityEosIsNeverChosen) {
  // Float probabilities with p(EOS) = 0 (ln 0 = -inf: impossible) and p = 0.5 for classes 0 and
  // 2: ties everywhere, broken by lower slot then lower class, so the best live hypothesis is
  // all zeros, with log-prob max_len * ln 0.5.
  BeamSearchOptions o;
  o.beam_size = 2;
  o.n_best = 2;
  o.num_classes = 3;
  o.eos_id = 1;
  o.max_len = 5;
  o.length_penalty = 0.0;
  const float p[6] = {0.5f, 0.0f, 0.5f, 0.5f, 0.0f, 0.5f};
  const auto hyps = BeamSearch(o).search(
      [&](int32_t, const Ids&, const Ids&) { return StepScores::float_probabilities(p, 2, 3); });
  ASSERT_EQ(hyps.size(), 1u);
  EXPECT_FALSE(hyps[0].finished);
  EXPECT_EQ(hyps[0].ids, (Ids{0, 0, 0, 0, 0}));
  EXPECT_NEAR(hyps[0].log_prob, 5 * std::log(0.5), 1e-12);
  EXPECT_NEAR(hyps[0].score, 5 * std::log(0.5), 1e-12);
}

TEST(BeamSearch, SingleClassThatIsEos) {
  // C = 1 = EOS = SOS: one candidate (log-prob 0) at step 1, it finishes; nothing stays live.
  BeamSearchOptions o;
  o.beam_size = 3;
  o.n_best = 2;
  o.num_classes = 1;
  o.sos_id = 0;
  o.eos_id = 0;
  o.max_len = 5;
  HashLm lm(3, 1, 1);
  const auto hyps = BeamSearch(o).search(lm);
  ASSERT_EQ(hyps.size(), 1u);
  EXPECT_EQ(hyps[0].ids, (Ids{0}));
  EXPECT_TRUE(hyps[0].finished);
  EXPECT_EQ(hyps[0].log_prob, 0.0);
  EXPECT_EQ(lm.calls, 1);
}

TEST(BeamSearch, FewerCandidatesThanTwiceTheBeam) {
  // K = 4, C = 2 (SOS = 0, EOS = 1): one live slot and 2 candidates at every step, far below
  // 2K = 8 (the original read past its heap here). Sequences: [1], [0,1], [0,0,1], ...;
  // with alpha = 0 and these probabilities every one is found and ranked by log-prob.
  BeamSearchOptions o;
  o.beam_size = 4;
  o.n_best = 4;
  o.num_classes = 2;
  o.sos_id = 0;
  o.eos_id = 1;
  o.max_len = 3;
  o.length_penalty = 0.0;
  const float p[8] = {0.75f, 0.25f, 0.75f, 0.25f, 0.75f, 0.25f, 0.75f, 0.25f};
  int calls = 0;
  const auto hyps = BeamSearch(o).search([&](int32_t, const Ids&, const Ids&) {
    ++calls;
    return StepScores::float_probabilities(p, 4, 2);
  });
  // [1]: ln .25 = -1.386; [0,1]: ln .75 + ln .25 = -1.674; [0,0,1]: 2 ln .75 + ln .25 = -1.962.
  // After step 1 the bound ln .75 = -0.288 > -1.386 keeps going; after step 2 the best live
  // 2 ln .75 = -0.575 too; step 3 is the last.
  ASSERT_EQ(hyps.size(), 3u);
  EXPECT_EQ(hyps[0].ids, (Ids{1}));
  EXPECT_EQ(hyps[1].ids, (Ids{0, 1}));
  EXPECT_EQ(hyps[2].ids, (Ids{0, 0, 1}));
  EXPECT_NEAR(hyps[0].score, std::log(0.25), 1e-7);
  EXPECT_NEAR(hyps[1].score, std::log(0.75) + std::log(0.25), 1e-7);
  EXPECT_NEAR(hyps[2].score, 2 * std::log(0.75) + std::log(0.25), 1e-7);
  EXPECT_EQ(calls, 3);
}

TEST(BeamSearch, EqualFinishedScoresAreAllKept) {
  // Two slots with identical rows: at step 2 both EOS candidates have exactly the same score.
  // The original kept finished hypotheses in a map keyed by score, so the second overwrote the
  // first; here both are kept, the one from the lower slot first.
  BeamSearchOptions o;
  o.beam_size = 2;
  o.n_best = 2;
  o.num_classes = 4;
  o.sos_id = 0;
  o.eos_id = 3;
  o.max_len = 2;
  o.length_penalty = 0.0;
  // Step 1: classes 1 and 2 equally likely (.4), EOS .1, class 0 .1 -> live [1], [2].
  // Step 2: EOS .6 in both rows -> [1,3] and [2,3], both with ln .4 + ln .6.
  const float s1[8] = {0.1f, 0.4f, 0.4f, 0.1f, 0.1f, 0.4f, 0.4f, 0.1f};
  const float s2[8] = {0.1f, 0.2f, 0.1f, 0.6f, 0.1f, 0.2f, 0.1f, 0.6f};
  const auto hyps = BeamSearch(o).search([&](int32_t step, const Ids&, const Ids&) {
    return StepScores::float_probabilities(step == 1 ? s1 : s2, 2, 4);
  });
  ASSERT_EQ(hyps.size(), 2u);
  EXPECT_EQ(hyps[0].ids, (Ids{1, 3}));
  EXPECT_EQ(hyps[1].ids, (Ids{2, 3}));
  EXPECT_TRUE(same_bits(hyps[0].score, hyps[1].score));
  EXPECT_NEAR(hyps[0].score, std::log(0.4) + std::log(0.6), 1e-7);
}

TEST(BeamSearch, EqualScoreDoesNotEvictWhenTheListIsFull) {
  // Three finished hypotheses with exactly the same score ln .3 (K = 2, so the list holds 2):
  // [3] at step 1, then [0,3] and [1,3] at step 2 with p(EOS) = 1. The first two are kept; the
  // third is not better than the worst kept one, so it is dropped (not swapped in).
  BeamSearchOptions o;
  o.beam_size = 2;
  o.n_best = 2;
  o.num_classes = 4;
  o.sos_id = 0;
  o.eos_id = 3;
  o.max_len = 3;
  o.length_penalty = 0.0;
  // Step 1 (slot 0): classes 0, 1 and EOS at .3 -> order 0, 1, EOS, 2; live [0], [1].
  // Step 2: EOS at 1 (rows need not be normalized), the rest at .2: [0,3] and [1,3] score ln .3;
  // the best live one, ln .3 + ln .2, is below ln .3, so the search stops.
  const float s1[8] = {0.3f, 0.3f, 0.1f, 0.3f, 0.3f, 0.3f, 0.1f, 0.3f};
  const float s2[8] = {0.2f, 0.2f, 0.2f, 1.0f, 0.2f, 0.2f, 0.2f, 1.0f};
  int calls = 0;
  const auto hyps = BeamSearch(o).search([&](int32_t step, const Ids&, const Ids&) {
    ++calls;
    return StepScores::float_probabilities(step == 1 ? s1 : s2, 2, 4);
  });
  ASSERT_EQ(hyps.size(), 2u);
  EXPECT_EQ(hyps[0].ids, (Ids{3}));
  EXPECT_EQ(hyps[1].ids, (Ids{0, 3}));
  EXPECT_TRUE(same_bits(hyps[0].score, hyps[1].score));
  EXPECT_NEAR(hyps[0].score, std::log(0.3), 1e-7);
  EXPECT_EQ(calls, 2);
}

TEST(BeamSearch, EarlyStopBoundUsesThePenaltyOfMaxLen) {
  // alpha = 2 favours length. Step 1: [EOS] finishes with ln .5 = -0.693; the live [0] has
  // ln .45 = -0.799, below it, but a longer hypothesis can still win: the bound is
  // -0.799 * ILP(4) = -0.799 * (9/6)^-2 = -0.355 > -0.693. Step 2: [0,EOS] gets
  // (ln .45 + ln .9) * (7/6)^-2 = -0.904 * 0.735 = -0.664 and wins. Then the best live,
  // [0,0] with ln .45 + ln .05 = -3.79, gives -1.68 < -0.664: stop after 2 steps.
  BeamSearchOptions o;
  o.beam_size = 2;
  o.n_best = 1;
  o.num_classes = 3;
  o.sos_id = 0;
  o.eos_id = 2;
  o.max_len = 4;
  o.length_penalty = 2.0;
  const float s1[6] = {0.45f, 0.05f, 0.5f, 0.45f, 0.05f, 0.5f};
  const float s2[6] = {0.05f, 0.05f, 0.9f, 0.05f, 0.05f, 0.9f};
  int calls = 0;
  const auto hyps = BeamSearch(o).search([&](int32_t step, const Ids&, const Ids&) {
    ++calls;
    return StepScores::float_probabilities(step == 1 ? s1 : s2, 2, 3);
  });
  ASSERT_EQ(hyps.size(), 1u);
  EXPECT_EQ(hyps[0].ids, (Ids{0, 2}));
  EXPECT_NEAR(hyps[0].score, (std::log(0.45) + std::log(0.9)) * std::pow(7.0 / 6.0, -2.0), 1e-6);
  EXPECT_NEAR(hyps[0].score, -0.664, 1e-3);
  EXPECT_EQ(calls, 2);
}

// ---------------------------------------------------------------------------------------------
// Validation

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InvalidArgument& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no exception";
}

TEST(BeamSearchValidation, InvalidOptionsAreRejectedBeforeDecoding) {
  struct Case {
    std::function<void(BeamSearchOptions&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](auto& o) { o.beam_size = 0; }, "beam search: beam_size must be in [1, 65536], found 0"},
      {[](auto& o) { o.beam_size = 70000; },
       "beam search: beam_size must be in [1, 65536], found 70000"},
      {[](auto& o) { o.n_best = 5; }, "beam search: n_best must be in [1, beam_size = 4], found 5"},
      {[](auto& o) { o.n_best = 0; }, "beam search: n_best must be in [1, beam_size = 4], found 0"},
      {[](auto& o) { o.max_len = -1; }, "beam search: max_len must be >= 0, found -1"},
      {[](auto& o) { o.length_penalty = -0.5; },
       "beam search: length_penalty (alpha) must be finite and >= 0, found -0.5"},
      {[](auto& o) { o.length_penalty = std::nan(""); },
       "beam search: length_penalty (alpha) must be finite and >= 0, found nan"},
      {[](auto& o) { o.length_penalty = std::numeric_limits<double>::infinity(); },
       "beam search: length_penalty (alpha) must be finite and >= 0, found inf"},
      {[](auto& o) { o.num_classes = 0; }, "beam search: num_classes must be >= 1, found 0"},
      {[](auto& o) { o.sos_id = 259; },
       "beam search: sos_id must be in [0, num_classes = 259), found 259"},
      {[](auto& o) { o.sos_id = -1; },
       "beam search: sos_id must be in [0, num_classes = 259), found -1"},
      {[](auto& o) { o.eos_id = 300; },
       "beam search: eos_id must be in [0, num_classes = 259), found 300"},
      {[](auto& o) {
         o.num_classes = 5;
         o.eos_id = 5;
       },
       "beam search: eos_id must be in [0, num_classes = 5), found 5"},
      {[](auto& o) { o.class_mask.assign(3, true); },
       "beam search: class_mask must be empty or have num_classes = 259 entries, found 3"},
      {[](auto& o) { o.class_mask.assign(259, false); },
       "beam search: class_mask must allow at least one class, found none"},
  };
  for (const auto& c : cases) {
    BeamSearchOptions o;  // defaults: K = 4, N = 1, C = 259 (byte ids), SOS = PAD, EOS = EOS
    o.beam_size = 4;
    c.edit(o);
    const std::string msg = error_of([&] { BeamSearch bs(o); });
    EXPECT_EQ(msg, c.message);
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
  EXPECT_NO_THROW(BeamSearch(BeamSearchOptions{}));
  // Errors are bytelite::Errors.
  BeamSearchOptions bad;
  bad.beam_size = 0;
  EXPECT_THROW(BeamSearch{bad}, Error);
}

TEST(BeamSearchValidation, DecoderBreakingItsContractIsRejected) {
  BeamSearchOptions o;
  o.beam_size = 2;
  o.num_classes = 3;
  o.eos_id = 2;
  o.max_len = 3;
  const BeamSearch bs(o);
  std::vector<int8_t> q(12, 0);
  std::vector<float> f(12, 0.5f);
  auto returns = [&](StepScores s) {
    return error_of([&] { bs.search([&](int32_t, const Ids&, const Ids&) { return s; }); });
  };
  EXPECT_EQ(returns(StepScores::int8_logits(q.data(), 1, 3, 0.1f, 0)),
            "beam search: decode(step 1) returned scores of shape [1, 3]; expected "
            "[beam_size, num_classes] = [2, 3]");
  EXPECT_EQ(returns(StepScores::int8_logits(q.data(), 2, 4, 0.1f, 0)),
            "beam search: decode(step 1) returned scores of shape [2, 4]; expected "
            "[beam_size, num_classes] = [2, 3]");
  EXPECT_EQ(returns(StepScores{}),
            "beam search: decode(step 1) returned scores of shape [0, 0]; expected "
            "[beam_size, num_classes] = [2, 3]");
  EXPECT_EQ(returns(StepScores::int8_logits(nullptr, 2, 3, 0.1f, 0)),
            "beam search: decode(step 1) returned int8 logits with a null data pointer");
  EXPECT_EQ(returns(StepScores::int8_logits(q.data(), 2, 3, 0.0f, 0)),
            "beam search: decode(step 1) returned int8 logits with scale 0; expected a finite "
            "scale > 0");
  EXPECT_EQ(returns(StepScores::uint8_probabilities(reinterpret_cast<const uint8_t*>(q.data()), 2,
                                                    3, std::nanf(""), 0)),
            "beam search: decode(step 1) returned uint8 probabilities with scale nan; expected a "
            "finite scale > 0");
  f[1] = -0.25f;
  EXPECT_EQ(returns(StepScores::float_probabilities(f.data(), 2, 3)),
            "beam search: decode(step 1) returned float probability -0.25 at [slot 0, class 1]; "
            "expected a finite value >= 0");
  f[1] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(returns(StepScores::float_logits(f.data(), 2, 3)),
            "beam search: decode(step 1) returned float logit inf at [slot 0, class 1]; expected "
            "a finite value");
  // A contract break at a later step names that step.
  const std::string later = error_of([&] {
    bs.search([&](int32_t step, const Ids&, const Ids&) {
      return StepScores::int8_logits(q.data(), step == 2 ? 3 : 2, 3, 0.1f, 0);
    });
  });
  EXPECT_EQ(later,
            "beam search: decode(step 2) returned scores of shape [3, 3]; expected "
            "[beam_size, num_classes] = [2, 3]");
  EXPECT_EQ(error_of([&] { bs.search(DecodeFn{}); }), "beam search: the decode callback is empty");
  // Exceptions of the decoder propagate unchanged.
  EXPECT_THROW(bs.search([](int32_t, const Ids&, const Ids&) -> StepScores {
    throw std::out_of_range("decoder failed");
  }),
               std::out_of_range);
}

TEST(BeamSearchValidation, TopCandidatesArguments) {
  std::vector<int8_t> q(6, 0);
  const auto v = StepScores::int8_logits(q.data(), 2, 3, 0.1f, 0);
  EXPECT_EQ(error_of([&] {
              top_candidates(v, {0.0, 0.0}, 3, 4);
            }),
            "beam search: top_candidates: num_valid must be in [1, rows = 2], found 3");
  EXPECT_EQ(error_of([&] {
              top_candidates(v, {0.0, 0.0}, 0, 4);
            }),
            "beam search: top_candidates: num_valid must be in [1, rows = 2], found 0");
  EXPECT_EQ(error_of([&] { top_candidates(v, {0.0}, 2, 4); }),
            "beam search: top_candidates: beam_log_probs must have at least num_valid = 2 "
            "entries, found 1");
  EXPECT_EQ(error_of([&] {
              top_candidates(v, {0.0, 0.0}, 2, -1);
            }),
            "beam search: top_candidates: k must be >= 0, found -1");
  EXPECT_EQ(error_of([&] {
              top_candidates(v, {0.0, 0.0}, 2, 4, {true});
            }),
            "beam search: top_candidates: class_mask must be empty or have cols = 3 entries, "
            "found 1");
  EXPECT_TRUE(top_candidates(v, {0.0, 0.0}, 2, 0).empty());
  // All 6 equal codes: equal log-probs ln(1/3), in slot then class order.
  const auto all = top_candidates(v, {0.0, 0.0}, 2, 100);
  ASSERT_EQ(all.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(all[i].slot, static_cast<int32_t>(i / 3));
    EXPECT_EQ(all[i].class_id, static_cast<int32_t>(i % 3));
    EXPECT_NEAR(all[i].score, -std::log(3.0), 1e-15);
  }
}

}  // namespace
}  // namespace bytelite

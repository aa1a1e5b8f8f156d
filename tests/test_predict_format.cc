// predict's JSONL writer (src/cli/predict_format.h) gives the bytes nlohmann::ordered_json's
// dump gives for the same object (the way predict formatted its lines before the direct
// writer): numbers over the whole float range, label names that need escaping or are invalid
// UTF-8, duplicate names, every decision rule, top-k with ties.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "cli/predict_format.h"
#include "core/errors.h"

namespace bytelite {
namespace {

// The reference: predict's lines built as an ordered_json object per text and dumped.
std::string nlohmann_lines(const float* probs, size_t n, const std::vector<std::string>& names,
                           bool multilabel, const std::vector<float>& thresholds, int top_k) {
  const int32_t C = static_cast<int32_t>(names.size());
  MetricInput in;
  in.multilabel = multilabel;
  in.num_labels = C;
  in.scores.assign(probs, probs + n * C);
  in.labels.assign(n, 0);
  in.targets.assign(n * C, 0.0f);
  auto pred = predict_labels(in, thresholds);
  std::string out;
  std::vector<int32_t> order(C);
  for (size_t i = 0; i < n; ++i) {
    nlohmann::ordered_json j;
    std::vector<std::string> labels;
    if (multilabel) {
      for (int32_t c = 0; c < C; ++c)
        if (pred[i * C + c]) labels.push_back(names[c]);
    } else {
      labels.push_back(names[pred[i]]);
    }
    std::iota(order.begin(), order.end(), 0);
    int32_t shown = C;
    if (top_k > 0) {
      std::stable_sort(order.begin(), order.end(),
                       [&](int32_t a, int32_t b) { return probs[i * C + a] > probs[i * C + b]; });
      shown = std::min(C, top_k);
    }
    nlohmann::ordered_json scores = nlohmann::ordered_json::object();
    for (int32_t r = 0; r < shown; ++r) scores[names[order[r]]] = probs[i * C + order[r]];
    j["labels"] = labels;
    j["scores"] = scores;
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return out;
}

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

std::string direct_number(float f) {
  std::string s;
  cli::PredictionFormatter::append_number(static_cast<double>(f), s);
  return s;
}

std::string nlohmann_number(float f) { return nlohmann::ordered_json(f).dump(); }

// Floats whose formatting has its own rule: zeros, integers ("1.0"), the switch to exponents
// below 1e-4 and at 1e15 and above, two-digit and three-digit exponents, denormals, the
// extremes, exact halves, values just beside them, NaN and infinities ("null").
std::vector<float> special_floats() {
  std::vector<float> v = {0.0f,
                          -0.0f,
                          1.0f,
                          -1.0f,
                          0.5f,
                          0.25f,
                          0.125f,
                          0.75f,
                          1.5f,
                          2.0f,
                          10.0f,
                          100.0f,
                          1e-4f,
                          1e-5f,
                          9.99999e-5f,
                          1.00001e-4f,
                          0.1f,
                          0.2f,
                          0.3f,
                          1.0f / 3.0f,
                          2.0f / 3.0f,
                          1e14f,
                          1e15f,
                          1e16f,
                          123456789.0f,
                          1e-10f,
                          1e-38f,
                          1e38f,
                          std::numeric_limits<float>::min(),
                          std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::lowest(),
                          std::numeric_limits<float>::epsilon(),
                          std::numeric_limits<float>::quiet_NaN(),
                          -std::numeric_limits<float>::quiet_NaN(),
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()};
  for (int e = -45; e <= 38; ++e) v.push_back(std::pow(10.0f, static_cast<float>(e)));
  for (int k = 1; k <= 64; ++k) v.push_back(static_cast<float>(k) / 64.0f);
  const size_t base = v.size();
  for (size_t i = 0; i < base; ++i) {
    if (!std::isfinite(v[i])) continue;
    v.push_back(std::nextafter(v[i], 0.0f));
    v.push_back(std::nextafter(v[i], 2.0f));
  }
  return v;
}

TEST(PredictFormat, NumbersMatchNlohmannOverTheFloatRange) {
  for (float f : special_floats()) {
    ASSERT_EQ(direct_number(f), nlohmann_number(f)) << "bits " << std::hex << [&] {
      uint32_t u;
      std::memcpy(&u, &f, sizeof u);
      return u;
    }();
  }
  EXPECT_EQ(direct_number(0.0f), "0.0");
  EXPECT_EQ(direct_number(-0.0f), "-0.0");
  EXPECT_EQ(direct_number(1.0f), "1.0");
  EXPECT_EQ(direct_number(1e-5f), "9.999999747378752e-06");
  EXPECT_EQ(direct_number(0.5f), "0.5");
  EXPECT_EQ(direct_number(std::numeric_limits<float>::quiet_NaN()), "null");
  EXPECT_EQ(direct_number(-std::numeric_limits<float>::infinity()), "null");

  std::mt19937 rng(11);
  // Random bit patterns: every exponent, sign, denormals, NaNs alike.
  for (int i = 0; i < 300000; ++i) {
    const float f = from_bits(static_cast<uint32_t>(rng()));
    ASSERT_EQ(direct_number(f), nlohmann_number(f)) << f;
  }
  // Probabilities as the runtime gives them: uniform in [0, 1], and tiny ones.
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (int i = 0; i < 200000; ++i) {
    const float f = i % 4 == 0 ? std::ldexp(unit(rng), -static_cast<int>(rng() % 150)) : unit(rng);
    ASSERT_EQ(direct_number(f), nlohmann_number(f)) << f;
  }
}

// Names that need escaping: quotes, backslashes, every control byte, DEL, valid multi-byte
// UTF-8, invalid UTF-8 (a lone continuation byte, a truncated sequence, an overlong encoding, a
// surrogate, 0xff), an empty name.
std::vector<std::string> awkward_names() {
  std::vector<std::string> v = {"not-offensive",
                                "say \"hi\"",
                                "back\\slash",
                                "tab\there",
                                "new\nline",
                                std::string("nul\0byte", 8),
                                "\x7f"
                                "del",
                                "caf\xc3\xa9",
                                "\xe2\x82\xac euro",
                                "\xf0\x9f\x98\x80",
                                "lone \x80 byte",
                                "cut \xe2\x82",
                                "over\xc0\xaflong",
                                "sur\xed\xa0\x80rogate",
                                "\xff\xfe",
                                "",
                                "/slash"};
  std::string controls;
  for (int c = 1; c < 32; ++c) controls.push_back(static_cast<char>(c));
  v.push_back(controls);
  return v;
}

// Probabilities [n, C]: random, with ties (equal values in a row), zeros and ones, tiny values.
std::vector<float> random_probs(std::mt19937& rng, size_t n, size_t C) {
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> p(n * C);
  for (size_t i = 0; i < n; ++i) {
    for (size_t c = 0; c < C; ++c) {
      float v = unit(rng);
      switch (rng() % 8) {
        case 0:
          v = 0.0f;
          break;
        case 1:
          v = 1.0f;
          break;
        case 2:
          v = std::ldexp(v, -static_cast<int>(rng() % 140));
          break;
        case 3:
          if (c > 0) v = p[i * C + c - 1];  // a tie with the previous label
          break;
        case 4:
          v = 0.5f;
          break;
        default:
          break;
      }
      p[i * C + c] = v;
    }
  }
  return p;
}

void expect_same(const std::vector<float>& p, size_t n, const std::vector<std::string>& names,
                 bool multilabel, const std::vector<float>& thresholds, int top_k) {
  const std::string want = nlohmann_lines(p.data(), n, names, multilabel, thresholds, top_k);
  ASSERT_EQ(cli::format_predictions(p.data(), n, names, multilabel, thresholds, top_k), want)
      << "labels " << names.size() << " multilabel " << multilabel << " thresholds "
      << thresholds.size() << " top_k " << top_k;
  // The formatter appends, block by block, to what is already there.
  const cli::PredictionFormatter f(names, multilabel, thresholds, top_k);
  std::string blocks = "x";
  const size_t half = n / 2;
  f.append(p.data(), half, blocks);
  f.append(p.data() + half * names.size(), n - half, blocks);
  ASSERT_EQ(blocks, "x" + want);
}

TEST(PredictFormat, LinesMatchNlohmannForEveryRule) {
  std::mt19937 rng(5);
  const std::vector<std::string> awkward = awkward_names();
  for (int trial = 0; trial < 60; ++trial) {
    // Label sets: two labels, many, awkward names, and names that repeat.
    std::vector<std::string> names;
    const size_t C = trial % 5 == 0 ? 2 : 1 + rng() % 24;
    for (size_t c = 0; c < C; ++c) {
      if (trial % 3 == 0) {
        names.push_back(awkward[rng() % awkward.size()]);  // repeats happen
      } else {
        names.push_back("label" + std::to_string(c));
      }
    }
    if (trial % 7 == 0 && C > 1) names[C - 1] = names[0];
    const size_t n = 1 + rng() % 40;
    const std::vector<float> p = random_probs(rng, n, C);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    for (int top_k : {0, 1, 2, static_cast<int>(C), static_cast<int>(C) + 3}) {
      // multi-label: default 0.5, and one threshold per label
      expect_same(p, n, names, true, {}, top_k);
      std::vector<float> per_label(C);
      for (float& t : per_label) t = rng() % 4 == 0 ? 0.5f : unit(rng);
      expect_same(p, n, names, true, per_label, top_k);
      if (C >= 2) {
        expect_same(p, n, names, false, {}, top_k);  // argmax
        if (C == 2) expect_same(p, n, names, false, {unit(rng)}, top_k);
      }
    }
  }
}

TEST(PredictFormat, NonFiniteAndNegativeScoresAsNlohmann) {
  const std::vector<std::string> names = {"a", "b", "c"};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> p = {nan, 0.5f, -0.0f, inf, -inf, 1e-7f, -1.0f, 0.0f, 2.0f};
  for (bool multilabel : {false, true}) expect_same(p, 3, names, multilabel, {}, 0);
  expect_same(p, 3, names, true, {}, 0);
  const std::string got = cli::format_predictions(p.data(), 1, names, true, {}, 0);
  EXPECT_EQ(got, "{\"labels\":[\"b\"],\"scores\":{\"a\":null,\"b\":0.5,\"c\":-0.0}}\n");
}

TEST(PredictFormat, DuplicateNamesKeepFirstPositionAndLastValue) {
  const std::vector<std::string> names = {"x", "y", "x"};
  const std::vector<float> p = {0.2f, 0.3f, 0.5f, 0.6f, 0.3f, 0.1f};
  expect_same(p, 2, names, true, {}, 0);
  expect_same(p, 2, names, true, {}, 2);
  expect_same(p, 2, names, false, {}, 3);
  EXPECT_EQ(cli::format_predictions(p.data(), 1, names, true, {}, 0),
            "{\"labels\":[\"x\"],\"scores\":{\"x\":0.5,\"y\":0.30000001192092896}}\n");
}

TEST(PredictFormat, BadThresholdsThrowAsPredictLabels) {
  const std::vector<std::string> names = {"a", "b", "c"};
  const std::vector<float> p = {0.2f, 0.3f, 0.5f};
  EXPECT_THROW(nlohmann_lines(p.data(), 1, names, true, {0.5f, 0.5f}, 0), ConfigError);
  EXPECT_THROW(cli::format_predictions(p.data(), 1, names, true, {0.5f, 0.5f}, 0), ConfigError);
  const std::vector<std::string> two = {"a", "b"};
  EXPECT_THROW(cli::format_predictions(p.data(), 1, two, false, {0.5f, 0.5f}, 0), ConfigError);
}

}  // namespace
}  // namespace bytelite

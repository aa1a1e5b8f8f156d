// The ternary projection of hashed tokens (src/runtime/ops/projection.h) against the golden values
// of an independent Python implementation over scikit-learn's MurmurHash3
// (tests/golden/projection_golden.json, scripts/golden/make_projection_golden.py), bit for bit.
// Links only the runtime.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bytelite/errors.h"
#include "runtime/ops/projection.h"

namespace bytelite::rt {
namespace {

using nlohmann::json;

json golden() {
  const std::string path =
      std::string(BYTELITE_SOURCE_DIR) + "/tests/golden/projection_golden.json";
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  return json::parse(in);
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::string ternary_string(const int8_t* v, int n) {
  std::string s;
  for (int k = 0; k < n; ++k) s.push_back(v[k] > 0 ? '+' : v[k] < 0 ? '-' : '0');
  return s;
}

TEST(Projection, MurmurHashEqualsScikitLearn) {
  const json g = golden();
  ASSERT_GE(g.at("hash").size(), 100u);
  for (const json& h : g.at("hash")) {
    const std::string key = from_hex(h.at("key_hex").get<std::string>());
    const uint32_t seed = h.at("seed").get<uint32_t>();
    EXPECT_EQ(murmur3_32(key, seed), h.at("hash").get<uint32_t>())
        << "key " << h.at("key_hex") << " seed " << seed;
  }
}

// The published value of MurmurHash3_x86_32("hello", seed 0), also in the golden file.
TEST(Projection, MurmurHashKnownValue) { EXPECT_EQ(murmur3_32("hello", 0), 0x248bfa47u); }

TEST(Projection, TokensAndValuesEqualGolden) {
  const json g = golden();
  ASSERT_GE(g.at("projection").size(), 80u);
  int64_t tokens_seen = 0;
  for (const json& p : g.at("projection")) {
    ProjectionConfig cfg;
    cfg.feature_size = p.at("feature_size").get<int>();
    cfg.max_tokens = p.at("max_tokens").get<int>();
    cfg.split_on_space = p.at("split_on_space").get<bool>();
    cfg.lowercase = p.at("lowercase").get<bool>();
    cfg.add_bos = p.at("add_bos").get<bool>();
    cfg.add_eos = p.at("add_eos").get<bool>();
    const std::string text = from_hex(p.at("text_hex").get<std::string>());
    SCOPED_TRACE("text " + p.at("text_hex").get<std::string>() + " config " +
                 p.dump().substr(0, 120));
    const auto& want_tokens = p.at("tokens_hex");
    const std::vector<std::string> tokens = projection_tokens(text, cfg);
    ASSERT_EQ(tokens.size(), want_tokens.size());
    for (size_t t = 0; t < tokens.size(); ++t) {
      EXPECT_EQ(tokens[t], from_hex(want_tokens[t].get<std::string>())) << "token " << t;
    }
    std::vector<int8_t> values;
    const int64_t T = ternary_projection(text, cfg, &values);
    ASSERT_EQ(T, static_cast<int64_t>(tokens.size()));
    ASSERT_EQ(values.size(), static_cast<size_t>(T) * cfg.feature_size);
    for (int64_t t = 0; t < T; ++t) {
      EXPECT_EQ(ternary_string(values.data() + t * cfg.feature_size, cfg.feature_size),
                p.at("values")[t].get<std::string>())
          << "token " << t;
    }
    tokens_seen += T;
  }
  EXPECT_EQ(tokens_seen, 889);  // every case was compared (the golden file holds 889 tokens)
}

// Each value is +1 or -1 with probability 1/4 and 0 with 1/2 (two uniform hash bits): over
// 2000 tokens x 64 features (128,000 values, standard deviation of a quarter's count ~155) the
// counts are within 1% of the expectation.
TEST(Projection, ValueFrequencies) {
  int64_t plus = 0, minus = 0, zero = 0;
  std::vector<int8_t> v(64);
  for (int i = 0; i < 2000; ++i) {
    project_token("token" + std::to_string(i), 64, v.data());
    for (int8_t x : v) (x > 0 ? plus : x < 0 ? minus : zero) += 1;
  }
  const double n = 2000.0 * 64;
  EXPECT_NEAR(plus / n, 0.25, 0.01);
  EXPECT_NEAR(minus / n, 0.25, 0.01);
  EXPECT_NEAR(zero / n, 0.5, 0.01);
}

TEST(Projection, SameTokenSameRowAndCaseFolding) {
  ProjectionConfig cfg;
  cfg.feature_size = 40;
  std::vector<int8_t> v;
  ASSERT_EQ(ternary_projection("Cat dog CAT", cfg, &v), 3);
  const std::vector<int8_t> cat(v.begin(), v.begin() + 40), dog(v.begin() + 40, v.begin() + 80),
      cat2(v.begin() + 80, v.end());
  EXPECT_EQ(cat, cat2);
  EXPECT_NE(cat, dog);
  cfg.lowercase = false;
  ASSERT_EQ(ternary_projection("Cat dog CAT", cfg, &v), 3);
  EXPECT_NE(std::vector<int8_t>(v.begin(), v.begin() + 40),
            std::vector<int8_t>(v.begin() + 80, v.end()));
}

TEST(Projection, EmptyTextAndTruncationKeepTheTags) {
  ProjectionConfig cfg;
  cfg.feature_size = 8;
  std::vector<int8_t> v{1, 2, 3};
  EXPECT_EQ(ternary_projection(" \t\n", cfg, &v), 0);
  EXPECT_TRUE(v.empty());
  cfg.add_bos = cfg.add_eos = true;
  cfg.max_tokens = 3;
  EXPECT_EQ(projection_tokens("one two three", cfg),
            (std::vector<std::string>{"<BOS>", "one", "<EOS>"}));
  EXPECT_EQ(projection_tokens("", cfg), (std::vector<std::string>{"<BOS>", "<EOS>"}));
}

TEST(Projection, BadConfigIsAOneLineError) {
  ProjectionConfig cfg;
  cfg.feature_size = 0;
  std::vector<int8_t> v;
  try {
    ternary_projection("x", cfg, &v);
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()),
              "projection feature_size: expected an integer in [1, 4096], found 0");
  }
  cfg.feature_size = 8;
  cfg.add_bos = cfg.add_eos = true;
  cfg.max_tokens = 2;
  try {
    ternary_projection("x", cfg, &v);
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()),
              "projection max_tokens: expected an integer in [3, 1048576], found 2");
  }
}

TEST(Projection, Utf8CharacterLengths) {
  const std::string s = "a\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\xff\xe2\x82";
  std::vector<size_t> lens;
  for (size_t i = 0; i < s.size(); i += utf8_char_length(s, i))
    lens.push_back(utf8_char_length(s, i));
  EXPECT_EQ(lens, (std::vector<size_t>{1, 2, 3, 4, 1, 1, 1}));
}

}  // namespace
}  // namespace bytelite::rt

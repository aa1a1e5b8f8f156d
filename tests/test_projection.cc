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

#include "bytelite/byte_tokenizer.h"
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

// byte_token_map (the qrnn_proj encoder's byte -> word map): golden maps written from the
// definition in projection.h, one character per id: '.' for -1, else the row index.

std::vector<int32_t> ids_of(const std::string& text) {
  std::vector<int32_t> ids;
  for (unsigned char c : text) ids.push_back(static_cast<int32_t>(c) + kByteOffset);
  return ids;
}

std::string map_string(const std::vector<int32_t>& ids, const ProjectionConfig& cfg) {
  std::vector<int32_t> map(ids.size(), 99);
  byte_token_map(ids.data(), static_cast<int64_t>(ids.size()), cfg, map.data());
  std::string s;
  for (int32_t m : map) s.push_back(m < 0 ? '.' : static_cast<char>('0' + m));
  return s;
}

TEST(ByteTokenMap, WordsGolden) {
  ProjectionConfig cfg;
  EXPECT_EQ(map_string(ids_of("  Hi you\tthere! "), cfg), "..00.111.222222.");
  EXPECT_EQ(map_string(ids_of(""), cfg), "");
  EXPECT_EQ(map_string(ids_of(" \n "), cfg), "...");
  cfg.add_bos = true;  // text tokens start at row 1; the tags hold no byte
  cfg.add_eos = true;
  EXPECT_EQ(map_string(ids_of("ab c"), cfg), "11.2");
  cfg.max_tokens = 4;  // room for 2 text tokens
  EXPECT_EQ(map_string(ids_of("a bb ccc d"), cfg), "1.22......");
  cfg = ProjectionConfig{};
  cfg.max_tokens = 2;
  EXPECT_EQ(map_string(ids_of("one two three"), cfg), "000.111......");
}

TEST(ByteTokenMap, CharactersGolden) {
  ProjectionConfig cfg;
  cfg.split_on_space = false;  // every UTF-8 character is a token, whitespace included
  // "a", "é" (2 bytes), " ", "日" (3 bytes), an invalid byte
  EXPECT_EQ(map_string(ids_of("a\xc3\xa9 \xe6\x97\xa5\xff"), cfg), "01123334");
}

TEST(ByteTokenMap, SpecialIdsCarryNoByteAndDoNotSplitWords) {
  ProjectionConfig cfg;
  // "ab" UNK "c" EOS " d" PAD: the text is "abc d" (special ids skipped), words "abc", "d"
  std::vector<int32_t> ids = ids_of("ab");
  ids.push_back(kUnkId);
  ids.push_back('c' + kByteOffset);
  ids.push_back(kEosId);
  for (int32_t v : ids_of(" d")) ids.push_back(v);
  ids.push_back(kPadId);
  EXPECT_EQ(map_string(ids, cfg), "00.0..1.");
}

// The rows the map names are the rows of ternary_projection_of_ids: the word of each byte,
// projected alone, equals the row the map gives it.
TEST(ByteTokenMap, RowsAreTheProjectionRowsOfTheWords) {
  ProjectionConfig cfg;
  cfg.feature_size = 32;
  cfg.add_bos = true;
  const std::string text = "The QUICK brown\tfox, the fox";
  const std::vector<int32_t> ids = ids_of(text);
  std::vector<int8_t> rows, one;
  const int64_t T =
      ternary_projection_of_ids(ids.data(), static_cast<int64_t>(ids.size()), cfg, &rows);
  EXPECT_EQ(T, 7);  // <BOS> + 6 words
  std::vector<int32_t> map(ids.size());
  byte_token_map(ids.data(), static_cast<int64_t>(ids.size()), cfg, map.data());
  // the bytes of each word, lower-cased as the projection does
  std::vector<std::string> words(static_cast<size_t>(T));
  for (size_t i = 0; i < text.size(); ++i) {
    if (map[i] < 0) continue;
    ASSERT_LT(map[i], T);
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    words[static_cast<size_t>(map[i])].push_back(c);
  }
  EXPECT_EQ(words, (std::vector<std::string>{"", "the", "quick", "brown", "fox,", "the", "fox"}));
  for (int64_t t = 1; t < T; ++t) {
    one.assign(32, 0);
    project_token(words[static_cast<size_t>(t)], 32, one.data());
    EXPECT_EQ(std::vector<int8_t>(rows.begin() + t * 32, rows.begin() + (t + 1) * 32), one) << t;
  }
}

}  // namespace
}  // namespace bytelite::rt

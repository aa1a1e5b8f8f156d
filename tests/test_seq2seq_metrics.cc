// Sequence-to-sequence metrics (src/core/seq2seq_metrics.h): hand-computed cases for tokens, edit
// distance, G2P WER, PER, exact match and chrF, and chrF / corpus scores against
// tests/golden/chrf_golden.json (made by scripts/golden/make_chrf_golden.py, an independent
// exact-arithmetic Python implementation that also reproduces two values sacrebleu reports).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/seq2seq_metrics.h"

namespace bytelite {
namespace {

constexpr double kTol = 1e-9;

using Tokens = std::vector<std::string>;

std::array<int64_t, kChrfOrder> arr(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e,
                                    int64_t f) {
  return {a, b, c, d, e, f};
}

// ---- tokens and edit distance ----

TEST(SplitTokens, AsciiWhitespaceOnly) {
  EXPECT_EQ(split_tokens("K AE1 T"), (Tokens{"K", "AE1", "T"}));
  EXPECT_EQ(split_tokens("  K \t AE1\n\v\f\rT  "), (Tokens{"K", "AE1", "T"}));
  EXPECT_EQ(split_tokens(""), Tokens{});
  EXPECT_EQ(split_tokens(" \t\n"), Tokens{});
  // U+00A0 (no-break space, C2 A0) is not ASCII whitespace: one token.
  EXPECT_EQ(split_tokens("a\xc2\xa0"
                         "b"),
            Tokens{"a\xc2\xa0"
                   "b"});
}

TEST(TokenEditDistance, HandComputed) {
  // kitten -> sitting: substitute k->s, substitute e->i, insert g = 3.
  const Tokens kitten{"k", "i", "t", "t", "e", "n"};
  const Tokens sitting{"s", "i", "t", "t", "i", "n", "g"};
  EXPECT_EQ(token_edit_distance(kitten, sitting), 3);
  EXPECT_EQ(token_edit_distance(sitting, kitten), 3);
  EXPECT_EQ(token_edit_distance(kitten, kitten), 0);
  // Against an empty sequence: every token is inserted or deleted.
  EXPECT_EQ(token_edit_distance({}, sitting), 7);
  EXPECT_EQ(token_edit_distance(kitten, {}), 6);
  EXPECT_EQ(token_edit_distance({}, {}), 0);
  // No transpositions: swapping two tokens costs two substitutions.
  EXPECT_EQ(token_edit_distance({"a", "b"}, {"b", "a"}), 2);
  // Tokens compare whole: "AE1" != "AE" is one substitution, not a character edit.
  EXPECT_EQ(token_edit_distance({"K", "AE1", "T"}, {"K", "AE", "T"}), 1);
  // A B C -> A X: substitute B->X, delete C = 2.
  EXPECT_EQ(token_edit_distance({"A", "B", "C"}, {"A", "X"}), 2);
}

// ---- characters seen by chrF ----

TEST(ChrfCharacters, DecodesUtf8AndRemovesWhitespace) {
  EXPECT_EQ(chrf_characters("a b\tc"), U"abc");
  EXPECT_EQ(chrf_characters("caf\xc3\xa9"), U"caf\u00e9");                  // 2-byte é
  EXPECT_EQ(chrf_characters("\xe6\x9d\xb1\xe4\xba\xac"), U"\u6771\u4eac");  // 東京
  EXPECT_EQ(chrf_characters("\xf0\x9f\x98\x80"), U"\U0001F600");            // 4-byte emoji
  // Python str.split() whitespace beyond ASCII: U+00A0, U+3000, U+001C, U+2028, U+0085.
  EXPECT_EQ(chrf_characters("a\xc2\xa0"
                            "b\xe3\x80\x80"
                            "c\x1c"
                            "d\xe2\x80\xa8"
                            "e\xc2\x85"
                            "f"),
            U"abcdef");
  // U+200B (zero width space) is not whitespace for str.split(): kept.
  EXPECT_EQ(chrf_characters("a\xe2\x80\x8b"
                            "b"),
            U"a\u200bb");
}

TEST(ChrfCharacters, InvalidBytesAreOneCharacterEach) {
  const std::u32string ff{U'a', char32_t{0xDCFF}, U'b'};
  EXPECT_EQ(chrf_characters("a\xff"
                            "b"),
            ff);
  // Truncated 3-byte sequence (E2 82 without its last byte), then a valid one (E2 82 AC = €).
  const std::u32string trunc{char32_t{0xDCE2}, char32_t{0xDC82}, U'x', U'\u20ac'};
  EXPECT_EQ(chrf_characters("\xe2\x82x\xe2\x82\xac"), trunc);
  // Overlong '/', an encoded surrogate and a code point above U+10FFFF are all invalid.
  const std::u32string overlong{char32_t{0xDCC0}, char32_t{0xDCAF}};
  EXPECT_EQ(chrf_characters("\xc0\xaf"), overlong);
  const std::u32string surrogate{char32_t{0xDCED}, char32_t{0xDCA0}, char32_t{0xDC80}};
  EXPECT_EQ(chrf_characters("\xed\xa0\x80"), surrogate);
  const std::u32string too_big{char32_t{0xDCF4}, char32_t{0xDC90}, char32_t{0xDC80},
                               char32_t{0xDC80}};
  EXPECT_EQ(chrf_characters("\xf4\x90\x80\x80"), too_big);
}

// ---- chrF, hand-computed ----

TEST(SentenceChrf, IdenticalIs100AndDisjointIs0) {
  // "ab" vs "ab": n=1: 2 of 2 match, n=2: 1 of 1; n>=3: no n-grams (excluded). P = R = 1.
  EXPECT_NEAR(sentence_chrf("ab", "ab"), 100.0, kTol);
  // Whitespace is removed, so spacing does not matter.
  EXPECT_NEAR(sentence_chrf("a b", "ab"), 100.0, kTol);
  // No common character: P = R = 0 -> 0.
  EXPECT_NEAR(sentence_chrf("xy", "ab"), 0.0, kTol);
  // Case-sensitive.
  EXPECT_NEAR(sentence_chrf("A", "a"), 0.0, kTol);
}

TEST(SentenceChrf, ClippedCounts) {
  // "aaaa" vs "aa": n=1: hyp 4, ref 2, match min(4,2) = 2 -> p = 1/2, r = 1;
  // n=2: hyp 3, ref 1, match 1 -> p = 1/3, r = 1; n>=3: the reference has none (excluded).
  // P = (1/2 + 1/3) / 2 = 5/12, R = 1, F = 5 P R / (4 P + R) = (25/12) / (32/12) = 25/32.
  const ChrfStatistics s = chrf_statistics("aaaa", "aa");
  EXPECT_EQ(s.hyp, arr(4, 3, 0, 0, 0, 0));
  EXPECT_EQ(s.ref, arr(2, 1, 0, 0, 0, 0));
  EXPECT_EQ(s.match, arr(2, 1, 0, 0, 0, 0));
  EXPECT_NEAR(sentence_chrf("aaaa", "aa"), 78.125, kTol);
}

TEST(SentenceChrf, EffectiveOrderWhenReferenceIsShort) {
  // "abcdefgh" vs "abc": n=1: p = 3/8, n=2: p = 2/7, n=3: p = 1/6, recall 1 each; n=4..6: the
  // reference has no n-grams, so (as in sacrebleu) the hypothesis count is recorded as 0 and
  // the order is left out. P = (3/8 + 2/7 + 1/6) / 3 = (63 + 48 + 28) / 168 / 3 = 139/504,
  // R = 1, F = 5 P / (4 P + 1) = 695 / (556 + 504) = 139/212.
  const ChrfStatistics s = chrf_statistics("abcdefgh", "abc");
  EXPECT_EQ(s.hyp, arr(8, 7, 6, 0, 0, 0));
  EXPECT_EQ(s.ref, arr(3, 2, 1, 0, 0, 0));
  EXPECT_EQ(s.match, arr(3, 2, 1, 0, 0, 0));
  EXPECT_NEAR(sentence_chrf("abcdefgh", "abc"), 100.0 * 139 / 212, kTol);
}

TEST(SentenceChrf, EmptyStringsScoreZero) {
  EXPECT_EQ(sentence_chrf("", "abc"), 0.0);
  EXPECT_EQ(sentence_chrf("abc", ""), 0.0);
  EXPECT_EQ(sentence_chrf("", ""), 0.0);  // no order takes part (sacrebleu gives 0 too)
  EXPECT_EQ(sentence_chrf(" \t", "  "), 0.0);
  const ChrfStatistics s = chrf_statistics("abc", "");
  EXPECT_EQ(s.hyp, arr(0, 0, 0, 0, 0, 0));  // not counted: the reference has no n-grams
}

TEST(SentenceChrf, CountsCodePointsNotBytes) {
  // "éé" vs "é" in code points: n=1: hyp 2, ref 1, match 1 -> p = 1/2, r = 1; n=2: excluded.
  // F = 5 (1/2) / (4 (1/2) + 1) = 2.5 / 3. (In bytes it would be C3 A9 C3 A9 vs C3 A9:
  // P = (2/4 + 1/3) / 2 = 5/12 -> 78.125.)
  EXPECT_NEAR(sentence_chrf("\xc3\xa9\xc3\xa9", "\xc3\xa9"), 250.0 / 3, kTol);
  // é vs e: different characters.
  EXPECT_EQ(sentence_chrf("\xc3\xa9", "e"), 0.0);
  // An invalid byte matches only the same invalid byte.
  EXPECT_NEAR(sentence_chrf("a\xff", "a\xff"), 100.0, kTol);
  // "a\xff" vs "a\xfe": n=1: 1 of 2 match (p = r = 1/2); n=2: 0 of 1 -> P = R = 1/4, F = 1/4.
  EXPECT_NEAR(sentence_chrf("a\xff", "a\xfe"), 25.0, kTol);
}

TEST(ChrfFromStatistics, FollowsDefinition) {
  ChrfStatistics s;
  EXPECT_EQ(chrf_from_statistics(s), 0.0);  // no order takes part
  // One order: p = 1/2, r = 1/4: F = 5 (1/8) / (4 (1/2) + 1/4) = 0.625 / 2.25.
  s.hyp[0] = 4;
  s.ref[0] = 8;
  s.match[0] = 2;
  EXPECT_NEAR(chrf_from_statistics(s), 100 * 0.625 / 2.25, kTol);
  // Orders with hyp == 0 or ref == 0 do not take part.
  s.hyp[1] = 0;
  s.ref[1] = 5;
  s.hyp[2] = 3;
  s.ref[2] = 0;
  EXPECT_NEAR(chrf_from_statistics(s), 100 * 0.625 / 2.25, kTol);
  ChrfStatistics t = s;
  t += s;  // doubling every count leaves the ratios unchanged
  EXPECT_EQ(t.hyp[0], 8);
  EXPECT_EQ(t.ref[1], 10);
  EXPECT_NEAR(chrf_from_statistics(t), 100 * 0.625 / 2.25, kTol);
}

// ---- corpus scores ----

TEST(ScoreSeq2Seq, G2PCorpusHandComputed) {
  const std::vector<Seq2SeqItem> items = {
      {"K AE T", {"K AH T", "K AE T"}},  // equals the second reference: right, d = 0, len 3
      {"D AO G", {"D AA G"}},            // wrong, d = 1 (AO->AA), len 3
      {"", {"B IY"}},                    // wrong, d = 2 (two insertions), len 2
  };
  const Seq2SeqScores s = score_seq2seq(items);
  EXPECT_EQ(s.sources, 3);
  EXPECT_NEAR(s.wer, 2.0 / 3, kTol);
  EXPECT_NEAR(s.exact_match, 1.0 / 3, kTol);
  EXPECT_EQ(s.token_errors, 3);      // 0 + 1 + 2
  EXPECT_EQ(s.reference_tokens, 8);  // 3 + 3 + 2
  EXPECT_NEAR(s.per, 3.0 / 8, kTol);
}

TEST(ScoreSeq2Seq, WerUsesAnyReferenceAndTokensNotBytes) {
  // Extra spaces: the token sequence matches (not a word error) but the bytes do not (no exact
  // match).
  const Seq2SeqScores s = score_seq2seq({{" K  AE T ", {"K AH T", "K AE T"}}});
  EXPECT_EQ(s.wer, 0.0);
  EXPECT_EQ(s.exact_match, 0.0);
  EXPECT_EQ(s.token_errors, 0);
  EXPECT_EQ(s.reference_tokens, 3);
  // Matching the first of several references counts too; a near miss on all of them does not.
  EXPECT_EQ(score_seq2seq({{"K AE T", {"K AE T", "K AH T"}}}).wer, 0.0);
  EXPECT_EQ(score_seq2seq({{"K AE T", {"K AE1 T", "K AH T"}}}).wer, 1.0);
  EXPECT_EQ(score_seq2seq({{"K AE T", {"K AE T", "K AH T"}}}).exact_match, 1.0);
}

TEST(ScoreSeq2Seq, PerUsesClosestReference) {
  // "A B C" vs "X" (d = 3, len 1) and "A B D E" (d = 2: C->D, insert E; len 4): the closer
  // reference is used even though it is longer: 2 / 4.
  Seq2SeqScores s = score_seq2seq({{"A B C", {"X", "A B D E"}}});
  EXPECT_EQ(s.token_errors, 2);
  EXPECT_EQ(s.reference_tokens, 4);
  EXPECT_NEAR(s.per, 0.5, kTol);
  // Tie at d = 2: "A B C D E" (two insertions, len 5) and "A X" (B->X, delete C; len 2): the
  // reference with fewer tokens is used, in either order: 2 / 2.
  s = score_seq2seq({{"A B C", {"A B C D E", "A X"}}});
  EXPECT_EQ(s.token_errors, 2);
  EXPECT_EQ(s.reference_tokens, 2);
  s = score_seq2seq({{"A B C", {"A X", "A B C D E"}}});
  EXPECT_EQ(s.reference_tokens, 2);
  EXPECT_NEAR(s.per, 1.0, kTol);
}

TEST(ScoreSeq2Seq, EmptyHypothesisAndEmptyReference) {
  // Empty hypothesis against "A B": two insertions.
  Seq2SeqScores s = score_seq2seq({{"", {"A B"}}});
  EXPECT_EQ(s.wer, 1.0);
  EXPECT_EQ(s.token_errors, 2);
  EXPECT_EQ(s.reference_tokens, 2);
  EXPECT_NEAR(s.per, 1.0, kTol);
  EXPECT_EQ(s.chrf, 0.0);
  // Empty against empty: same tokens (no error) and same bytes, chrF 0 (no n-grams at all) and
  // PER undefined (no reference tokens) -> NaN.
  s = score_seq2seq({{"", {""}}});
  EXPECT_EQ(s.wer, 0.0);
  EXPECT_EQ(s.exact_match, 1.0);
  EXPECT_EQ(s.token_errors, 0);
  EXPECT_EQ(s.reference_tokens, 0);
  EXPECT_TRUE(std::isnan(s.per));
  EXPECT_EQ(s.chrf, 0.0);
}

TEST(ScoreSeq2Seq, CorpusChrfSumsStatisticsBeforeDividing) {
  // Source 1: "abcdefgh" vs "abc": hyp (8,7,6,0,0,0), ref (3,2,1,0,0,0), match (3,2,1,0,0,0).
  // Source 2: "abcdefgh" vs itself: hyp = ref = match = (8,7,6,5,4,3).
  // Sums: hyp (16,14,12,5,4,3), ref (11,9,7,5,4,3), match = ref. R = 1,
  // P = (11/16 + 9/14 + 7/12 + 1 + 1 + 1) / 6 = (643/336 + 3) / 6 = 1651/2016,
  // F = 5 P / (4 P + 1) = 8255 / (6604 + 2016) = 1651/1724 (not the mean of the sentence scores).
  const Seq2SeqScores s = score_seq2seq({{"abcdefgh", {"abc"}}, {"abcdefgh", {"abcdefgh"}}});
  EXPECT_NEAR(s.chrf, 100.0 * 1651 / 1724, kTol);
}

TEST(ScoreSeq2Seq, ChrfBestReferenceFirstWinsOnTies) {
  // "xy" scores 0 against both "abc" and "defgh"; the first ("abc") supplies the statistics.
  // With a second source "abc" vs "abc" (hyp = ref = match = (3,2,1,0,0,0)) the sums are
  // hyp (5,3,1,0,0,0), ref (6,4,2,0,0,0), match (3,2,1,0,0,0):
  // P = (3/5 + 2/3 + 1) / 3 = 34/45, R = (1/2 + 1/2 + 1/2) / 3 = 1/2,
  // F = 5 (34/45)(1/2) / (4 (34/45) + 1/2) = (17/9) / (317/90) = 170/317.
  // (Had "defgh" been used, the reference sums would be (8,6,4,2,1,0): 391000/10827 = 36.11.)
  const Seq2SeqScores s = score_seq2seq({{"xy", {"abc", "defgh"}}, {"abc", {"abc"}}});
  EXPECT_NEAR(s.chrf, 100.0 * 170 / 317, kTol);
}

TEST(ScoreSeq2Seq, ChrfPicksBestReferenceNotFirst) {
  // "ab" vs "xx" (0) and "ab" (100): the second reference's statistics are used.
  EXPECT_NEAR(score_seq2seq({{"ab", {"xx", "ab"}}}).chrf, 100.0, kTol);
}

TEST(ScoreSeq2Seq, Errors) {
  EXPECT_THROW(score_seq2seq({}), InvalidArgument);
  try {
    score_seq2seq({{"a", {"a"}}, {"b", {}}});
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("item 1"), std::string::npos) << e.what();
  }
}

// ---- golden values (tests/golden/chrf_golden.json) ----

nlohmann::json load_golden() {
  const std::string path = std::string(BYTELITE_SOURCE_DIR) + "/tests/golden/chrf_golden.json";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

Seq2SeqItem item_from(const nlohmann::json& c) {
  Seq2SeqItem item;
  item.hypothesis = from_hex(c.at("hypothesis_hex").get<std::string>());
  for (const auto& r : c.at("references_hex")) item.references.push_back(from_hex(r));
  return item;
}

TEST(Seq2SeqGolden, SentenceChrfAndStatistics) {
  const nlohmann::json golden = load_golden();
  ASSERT_GE(golden.at("cases").size(), 10u);
  int sacrebleu_checked = 0;
  for (const nlohmann::json& c : golden.at("cases")) {
    const std::string name = c.at("name").get<std::string>();
    const Seq2SeqItem item = item_from(c);
    const nlohmann::json& expected = c.at("sentence_chrf");
    ASSERT_EQ(expected.size(), item.references.size()) << name;
    for (size_t k = 0; k < item.references.size(); ++k) {
      EXPECT_NEAR(sentence_chrf(item.hypothesis, item.references[k]), expected[k].get<double>(),
                  kTol)
          << name << " reference " << k;
    }
    const size_t best = c.at("best_reference").get<size_t>();
    const ChrfStatistics s = chrf_statistics(item.hypothesis, item.references.at(best));
    const nlohmann::json& st = c.at("statistics");
    for (int i = 0; i < kChrfOrder; ++i) {
      EXPECT_EQ(s.hyp[i], st.at("hyp")[i].get<int64_t>()) << name << " n=" << i + 1;
      EXPECT_EQ(s.ref[i], st.at("ref")[i].get<int64_t>()) << name << " n=" << i + 1;
      EXPECT_EQ(s.match[i], st.at("match")[i].get<int64_t>()) << name << " n=" << i + 1;
    }
    // A one-source corpus scores the best reference's sentence chrF.
    EXPECT_NEAR(score_seq2seq({item}).chrf, expected[best].get<double>(), kTol) << name;
    if (c.contains("sacrebleu_reported")) {
      EXPECT_NEAR(sentence_chrf(item.hypothesis, item.references[0]),
                  c.at("sacrebleu_reported").get<double>(), kTol)
          << name;
      ++sacrebleu_checked;
    }
  }
  EXPECT_EQ(sacrebleu_checked, 1);
}

TEST(Seq2SeqGolden, CorpusScores) {
  const nlohmann::json golden = load_golden();
  const nlohmann::json& cases = golden.at("cases");
  ASSERT_GE(golden.at("corpora").size(), 3u);
  int sacrebleu_checked = 0;
  for (const nlohmann::json& corpus : golden.at("corpora")) {
    const std::string name = corpus.at("name").get<std::string>();
    std::vector<Seq2SeqItem> items;
    for (const auto& i : corpus.at("cases")) items.push_back(item_from(cases.at(i.get<size_t>())));
    const Seq2SeqScores s = score_seq2seq(items);
    EXPECT_EQ(s.sources, static_cast<int64_t>(items.size())) << name;
    EXPECT_NEAR(s.chrf, corpus.at("chrf").get<double>(), kTol) << name;
    EXPECT_NEAR(s.wer, corpus.at("wer").get<double>(), kTol) << name;
    EXPECT_NEAR(s.per, corpus.at("per").get<double>(), kTol) << name;
    EXPECT_NEAR(s.exact_match, corpus.at("exact_match").get<double>(), kTol) << name;
    EXPECT_EQ(s.token_errors, corpus.at("token_errors").get<int64_t>()) << name;
    EXPECT_EQ(s.reference_tokens, corpus.at("reference_tokens").get<int64_t>()) << name;
    if (corpus.contains("sacrebleu_reported")) {
      EXPECT_NEAR(s.chrf, corpus.at("sacrebleu_reported").get<double>(), kTol) << name;
      ++sacrebleu_checked;
    }
  }
  EXPECT_EQ(sacrebleu_checked, 1);
}

}  // namespace
}  // namespace bytelite

// ByteTokenizer: every byte is an id, special ids never collide with bytes (robustness case C3).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/byte_tokenizer.h"
#include "core/errors.h"

namespace bytelite {
namespace {

TEST(ByteTokenizer, EveryByteValueRoundTrips) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  ByteTokenizer tok(256);
  bool truncated = true;
  const std::vector<int32_t> ids = tok.encode(all, &truncated);
  EXPECT_FALSE(truncated);
  ASSERT_EQ(ids.size(), 256u);
  for (int b = 0; b < 256; ++b) EXPECT_EQ(ids[b], b + kByteOffset) << "byte " << b;
  EXPECT_EQ(ByteTokenizer::decode(ids), all);
}

TEST(ByteTokenizer, IdsAreByteValuePlusThree) {
  ByteTokenizer tok(16);
  EXPECT_EQ(tok.encode("A"), std::vector<int32_t>({'A' + 3}));
  EXPECT_EQ(tok.encode("\xe2\x82\xac"), std::vector<int32_t>({0xe2 + 3, 0x82 + 3, 0xac + 3}));
  EXPECT_EQ(kVocabSize, 256 + kByteOffset);
}

TEST(ByteTokenizer, SpecialIdsNeverProduced) {
  std::string all;
  for (int rep = 0; rep < 2; ++rep) {
    for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  }
  for (int32_t id : ByteTokenizer(1024).encode(all)) {
    EXPECT_NE(id, kPadId);
    EXPECT_NE(id, kEosId);
    EXPECT_NE(id, kUnkId);
    EXPECT_GE(id, kByteOffset);
    EXPECT_LT(id, kVocabSize);
  }
}

TEST(ByteTokenizer, TruncationFlag) {
  ByteTokenizer tok(4);
  bool truncated = false;
  EXPECT_EQ(tok.encode("abcdef", &truncated).size(), 4u);
  EXPECT_TRUE(truncated);
  EXPECT_EQ(ByteTokenizer::decode(tok.encode("abcdef")), "abcd");
  EXPECT_EQ(tok.encode("abcd", &truncated).size(), 4u);
  EXPECT_FALSE(truncated);
  EXPECT_EQ(tok.encode("ab", &truncated).size(), 2u);
  EXPECT_FALSE(truncated);
  EXPECT_TRUE(tok.encode("", &truncated).empty());
  EXPECT_FALSE(truncated);
  EXPECT_EQ(tok.encode("abcdef").size(), 4u);  // the flag is optional
}

TEST(ByteTokenizer, TruncationMaySplitAUtf8Character) {
  ByteTokenizer tok(2);
  bool truncated = false;
  const std::vector<int32_t> ids = tok.encode("\xe2\x82\xac", &truncated);
  EXPECT_TRUE(truncated);
  EXPECT_EQ(ids, std::vector<int32_t>({0xe2 + 3, 0x82 + 3}));
}

TEST(ByteTokenizer, InvalidUtf8IsAccepted) {
  const std::string bad = "\xff\xfe\xc3\x28";
  ByteTokenizer tok(64);
  const std::vector<int32_t> ids = tok.encode(bad);
  EXPECT_EQ(ids, std::vector<int32_t>({0xff + 3, 0xfe + 3, 0xc3 + 3, 0x28 + 3}));
  EXPECT_EQ(ByteTokenizer::decode(ids), bad);
  // Lone surrogate encoded as UTF-8 (ED A0 80) is bytes like any other.
  const std::string surrogate = "\xed\xa0\x80";
  EXPECT_EQ(ByteTokenizer::decode(tok.encode(surrogate)), surrogate);
  EXPECT_EQ(tok.encode(bad), ids);  // deterministic
}

TEST(ByteTokenizer, NulBytesAreOrdinary) {
  const std::string s("a\0b\0\0", 5);
  ByteTokenizer tok(64);
  const std::vector<int32_t> ids = tok.encode(s);
  EXPECT_EQ(ids, std::vector<int32_t>({'a' + 3, 3, 'b' + 3, 3, 3}));
  EXPECT_EQ(ByteTokenizer::decode(ids), s);
}

TEST(ByteTokenizer, NewlineIsAnOrdinaryByte) {
  ByteTokenizer tok(64);
  const std::vector<int32_t> ids = tok.encode("a\nb\r\n");
  EXPECT_EQ(ids, std::vector<int32_t>({'a' + 3, '\n' + 3, 'b' + 3, '\r' + 3, '\n' + 3}));
  EXPECT_NE(ids[1], kEosId);
}

TEST(ByteTokenizer, DecodeSkipsSpecialIds) {
  EXPECT_EQ(ByteTokenizer::decode({kPadId, 'h' + 3, kEosId, 'i' + 3, kUnkId, kPadId}), "hi");
  EXPECT_EQ(ByteTokenizer::decode({}), "");
}

TEST(ByteTokenizer, DecodeOfBadIdsThrows) {
  EXPECT_THROW(ByteTokenizer::decode({-1}), InputError);
  EXPECT_THROW(ByteTokenizer::decode({kVocabSize}), InputError);
  EXPECT_THROW(ByteTokenizer::decode({'a' + 3, 100000}), InputError);
  EXPECT_NO_THROW(ByteTokenizer::decode({kVocabSize - 1}));
  try {
    ByteTokenizer::decode({'a' + 3, 259});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("259"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[0, 258]"), std::string::npos) << msg;
  }
}

TEST(ByteTokenizer, MaxLengthMustBePositive) {
  EXPECT_THROW(ByteTokenizer(0), ConfigError);
  EXPECT_THROW(ByteTokenizer(-5), ConfigError);
  EXPECT_EQ(ByteTokenizer(1).max_length(), 1);
  EXPECT_EQ(ByteTokenizer(1).encode("xyz").size(), 1u);
}

TEST(ByteTokenizer, LowercaseAsciiMapsOnlyAToZ) {
  ByteTokenizer lower(512, true);
  EXPECT_TRUE(lower.lowercase_ascii());
  EXPECT_FALSE(ByteTokenizer(4).lowercase_ascii());
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  auto ids = lower.encode(all);
  ASSERT_EQ(ids.size(), 256u);
  for (int b = 0; b < 256; ++b) {
    const int want = (b >= 'A' && b <= 'Z') ? b + 32 : b;
    EXPECT_EQ(ids[b], want + kByteOffset) << "byte " << b;
  }
  // UTF-8 text keeps its multi-byte characters intact: "ÄÖ Straße" -> "ÄÖ straße".
  EXPECT_EQ(ByteTokenizer::decode(lower.encode("\xc3\x84\xc3\x96 Stra\xc3\x9f"
                                               "e")),
            "\xc3\x84\xc3\x96 stra\xc3\x9f"
            "e");
}

}  // namespace
}  // namespace bytelite

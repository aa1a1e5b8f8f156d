// Byte-level tokenizer (SeqFlowLite spec §2.1; ByT5, Xue et al. 2022): every byte b in [0, 255]
// of the text becomes the id b + 3; ids 0, 1, 2 are PAD, EOS and UNK. No decoding step exists,
// so no input can make it throw: invalid UTF-8, NUL bytes and newlines are ordinary bytes
// (robustness case C3). Part of the runtime library; the training code uses the same class.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bytelite {

constexpr int32_t kPadId = 0;
constexpr int32_t kEosId = 1;
constexpr int32_t kUnkId = 2;
constexpr int32_t kByteOffset = 3;
constexpr int32_t kVocabSize = 259;  // 256 byte values + 3 special ids

class ByteTokenizer {
 public:
  /// max_length: the maximum number of ids returned by encode (>= 1), in bytes.
  /// lowercase_ascii: map the bytes 'A'..'Z' (0x41-0x5A) to 'a'..'z' before encoding. This is
  /// safe on any input: in UTF-8 these bytes never occur inside a multi-byte character, and
  /// every other byte is left unchanged. It halves the surface forms a small model must learn
  /// (measured on OLID: +2 points of test ROC AUC, docs/deviations.md).
  /// Throws ConfigError if max_length < 1.
  explicit ByteTokenizer(int max_length, bool lowercase_ascii = false);

  int max_length() const { return max_length_; }
  bool lowercase_ascii() const { return lowercase_ascii_; }

  /// Returns min(text.size(), max_length) ids, id = byte + 3 (values in [3, 258]).
  /// Sets *truncated (if given) to whether bytes were dropped from the end.
  std::vector<int32_t> encode(std::string_view text, bool* truncated = nullptr) const;
  /// The same ids appended to `ids` (batched inference: several texts back to back).
  void encode_append(std::string_view text, std::vector<int32_t>& ids,
                     bool* truncated = nullptr) const;

  /// Inverse of encode for ids in [3, 258]; special ids (PAD, EOS, UNK) are skipped.
  /// Ids outside [0, 258] throw InputError.
  static std::string decode(const std::vector<int32_t>& ids);

 private:
  int max_length_;
  bool lowercase_ascii_;
};

}  // namespace bytelite

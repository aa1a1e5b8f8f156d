#include "bytelite/byte_tokenizer.h"

#include <algorithm>

#include "bytelite/errors.h"

namespace bytelite {

ByteTokenizer::ByteTokenizer(int max_length, bool lowercase_ascii)
    : max_length_(max_length), lowercase_ascii_(lowercase_ascii) {
  if (max_length < 1) {
    throw ConfigError("tokenizer max_length: expected an integer >= 1, found " +
                      std::to_string(max_length));
  }
}

std::vector<int32_t> ByteTokenizer::encode(std::string_view text, bool* truncated) const {
  std::vector<int32_t> ids;
  encode_append(text, ids, truncated);
  return ids;
}

void ByteTokenizer::encode_append(std::string_view text, std::vector<int32_t>& ids,
                                  bool* truncated) const {
  const size_t n = std::min(text.size(), static_cast<size_t>(max_length_));
  const size_t base = ids.size();
  ids.resize(base + n);
  int32_t* out = ids.data() + base;
  for (size_t i = 0; i < n; ++i) {
    int32_t b = static_cast<unsigned char>(text[i]);
    if (lowercase_ascii_ && b >= 'A' && b <= 'Z') b += 'a' - 'A';
    out[i] = b + kByteOffset;
  }
  if (truncated != nullptr) *truncated = text.size() > n;
}

std::string ByteTokenizer::decode(const std::vector<int32_t>& ids) {
  std::string out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= kVocabSize) {
      throw InputError("token id at position " + std::to_string(i) + ": expected an id in [0, " +
                       std::to_string(kVocabSize - 1) + "], found " + std::to_string(id));
    }
    if (id < kByteOffset) continue;  // PAD, EOS, UNK carry no byte
    out.push_back(static_cast<char>(static_cast<unsigned char>(id - kByteOffset)));
  }
  return out;
}

}  // namespace bytelite

// libFuzzer target: the byte tokenizer accepts every byte sequence (C3), never emits a special
// id, and decode(encode(x)) returns the (truncated) input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bytelite/byte_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const int max_length = 1 + static_cast<int>(size % 97);
  bytelite::ByteTokenizer tok(max_length);
  bool truncated = false;
  auto ids = tok.encode(text, &truncated);
  if (ids.size() != std::min<size_t>(size, max_length)) __builtin_trap();
  if (truncated != (size > static_cast<size_t>(max_length))) __builtin_trap();
  for (int32_t id : ids) {
    if (id < bytelite::kByteOffset || id >= bytelite::kVocabSize) __builtin_trap();
  }
  if (bytelite::ByteTokenizer::decode(ids) != text.substr(0, ids.size())) __builtin_trap();
  return 0;
}

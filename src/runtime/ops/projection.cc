// Ternary projection of hashed tokens (projection.h gives the definition).
#include "runtime/ops/projection.h"

#include <string>
#include <utility>

#include "bytelite/byte_tokenizer.h"
#include "bytelite/errors.h"
#include "runtime/model_limits.h"

namespace bytelite::rt {
namespace {

bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

void check_range(const char* key, long long v, long long lo, long long hi) {
  if (v < lo || v > hi) {
    throw InvalidArgument(std::string("projection ") + key + ": expected an integer in [" +
                          std::to_string(lo) + ", " + std::to_string(hi) + "], found " +
                          std::to_string(v));
  }
}

}  // namespace

void check_projection_config(const ProjectionConfig& cfg) {
  check_range("feature_size", cfg.feature_size, 1, limits::kMaxWidth);
  check_range("max_tokens", cfg.max_tokens, 1 + int{cfg.add_bos} + int{cfg.add_eos},
              limits::kMaxLength);
}

uint32_t murmur3_32(std::string_view key, uint32_t seed) {
  constexpr uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
  const auto* p = reinterpret_cast<const unsigned char*>(key.data());
  const size_t n = key.size();
  uint32_t h = seed;
  auto scramble = [&](uint32_t k) {
    k *= c1;
    k = rotl32(k, 15);
    return k * c2;
  };
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {  // 4-byte blocks, little-endian
    const uint32_t k = static_cast<uint32_t>(p[i]) | static_cast<uint32_t>(p[i + 1]) << 8 |
                       static_cast<uint32_t>(p[i + 2]) << 16 |
                       static_cast<uint32_t>(p[i + 3]) << 24;
    h ^= scramble(k);
    h = rotl32(h, 13);
    h = h * 5 + 0xe6546b64u;
  }
  uint32_t tail = 0;
  for (size_t j = n - i; j > 0; --j) tail |= static_cast<uint32_t>(p[i + j - 1]) << (8 * (j - 1));
  if (n - i > 0) h ^= scramble(tail);
  h ^= static_cast<uint32_t>(n);
  // finalization mix
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

size_t utf8_char_length(std::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 1;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 1;
    const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xE0 && c1 < 0xA0) return 1;   // overlong
    if (c == 0xED && c1 >= 0xA0) return 1;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 1;
    const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xF0 && c1 < 0x90) return 1;   // overlong
    if (c == 0xF4 && c1 >= 0x90) return 1;  // above U+10FFFF
    return 4;
  }
  return 1;
}

namespace {

// Steps 1-3 of projection.h on the text (lower-cased when cfg.lowercase, into *lowered): the
// [start, start + length) byte spans of the text tokens that are kept (at most max_tokens minus
// the tags), in order. The one tokenization of projection_tokens and byte_token_map.
std::vector<std::pair<size_t, size_t>> token_spans(std::string_view* text,
                                                   const ProjectionConfig& cfg,
                                                   std::string* lowered) {
  check_projection_config(cfg);
  if (cfg.lowercase) {
    lowered->assign(*text);
    for (char& c : *lowered)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    *text = *lowered;
  }
  const std::string_view t = *text;
  const size_t room =
      static_cast<size_t>(cfg.max_tokens - int{cfg.add_bos} - int{cfg.add_eos});  // >= 1
  std::vector<std::pair<size_t, size_t>> spans;
  for (size_t i = 0; i < t.size() && spans.size() < room;) {
    size_t len = 0;
    if (cfg.split_on_space) {
      if (is_space(static_cast<unsigned char>(t[i]))) {
        ++i;
        continue;
      }
      while (i + len < t.size() && !is_space(static_cast<unsigned char>(t[i + len]))) ++len;
    } else {
      len = utf8_char_length(t, i);
    }
    spans.emplace_back(i, len);
    i += len;
  }
  return spans;
}

}  // namespace

std::vector<std::string> projection_tokens(std::string_view text, const ProjectionConfig& cfg) {
  std::string lowered;
  const std::vector<std::pair<size_t, size_t>> spans = token_spans(&text, cfg, &lowered);
  std::vector<std::string> tokens;
  if (cfg.add_bos) tokens.emplace_back("<BOS>");
  for (const auto& [start, len] : spans) tokens.emplace_back(text.substr(start, len));
  if (cfg.add_eos) tokens.emplace_back("<EOS>");
  return tokens;
}

void project_token(std::string_view token, int feature_size, int8_t* out) {
  static constexpr int8_t kTernary[4] = {0, 1, -1, 0};
  uint32_t h = 0;
  for (int k = 0; k < feature_size; ++k) {
    if (k % 16 == 0) h = murmur3_32(token, static_cast<uint32_t>(k / 16));
    out[k] = kTernary[(h >> (2 * (k % 16))) & 3u];
  }
}

int64_t ternary_projection(std::string_view text, const ProjectionConfig& cfg,
                           std::vector<int8_t>* out) {
  const std::vector<std::string> tokens = projection_tokens(text, cfg);
  const size_t F = static_cast<size_t>(cfg.feature_size);
  out->assign(tokens.size() * F, 0);
  for (size_t t = 0; t < tokens.size(); ++t)
    project_token(tokens[t], cfg.feature_size, out->data() + t * F);
  return static_cast<int64_t>(tokens.size());
}

std::string bytes_of_ids(const int32_t* ids, int64_t n) {
  std::string text;
  text.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = ids[i] - kByteOffset;
    if (v >= 0 && v < 256) text.push_back(static_cast<char>(static_cast<unsigned char>(v)));
  }
  return text;
}

int64_t ternary_projection_of_ids(const int32_t* ids, int64_t n, const ProjectionConfig& cfg,
                                  std::vector<int8_t>* out) {
  check_projection_config(cfg);
  const int64_t T = ternary_projection(bytes_of_ids(ids, n), cfg, out);
  if (T > 0) return T;
  out->assign(static_cast<size_t>(cfg.feature_size), 0);
  return 1;
}

void byte_token_map(const int32_t* ids, int64_t n, const ProjectionConfig& cfg, int32_t* out) {
  // the text's bytes and the id position of each
  std::string text;
  std::vector<int64_t> where;
  text.reserve(static_cast<size_t>(n));
  where.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    out[i] = -1;
    const int32_t v = ids[i] - kByteOffset;
    if (v >= 0 && v < 256) {
      text.push_back(static_cast<char>(static_cast<unsigned char>(v)));
      where.push_back(i);
    }
  }
  std::string lowered;
  std::string_view view = text;
  const std::vector<std::pair<size_t, size_t>> spans = token_spans(&view, cfg, &lowered);
  const int32_t first = cfg.add_bos ? 1 : 0;
  for (size_t t = 0; t < spans.size(); ++t) {
    for (size_t k = spans[t].first; k < spans[t].first + spans[t].second; ++k)
      out[where[k]] = first + static_cast<int32_t>(t);
  }
}

}  // namespace bytelite::rt

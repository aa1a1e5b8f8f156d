#include "train/text_distortion.h"

#include <random>
#include <vector>

#include "core/errors.h"
#include "runtime/ops/projection.h"

namespace bytelite {
namespace {

bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  // Uniform in [0, 1) from the top 53 bits.
  double unit() { return static_cast<double>(g_() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n), n >= 1 (multiply-shift; the bias is below 2^-50 for small n).
  size_t below(size_t n) {
    return static_cast<size_t>((static_cast<unsigned __int128>(g_()) * n) >> 64);
  }

 private:
  std::mt19937_64 g_;
};

}  // namespace

std::string distort_text(std::string_view text, double probability, uint64_t seed,
                         DistortionCounts* counts) {
  if (!(probability >= 0.0 && probability <= 1.0)) {
    throw InvalidArgument("distortion probability: expected a number in [0, 1], found " +
                          std::to_string(probability));
  }
  DistortionCounts local;
  DistortionCounts& n = counts != nullptr ? *counts : local;
  if (probability == 0.0) {
    for (size_t i = 0; i < text.size();) {
      while (i < text.size() && is_space(static_cast<unsigned char>(text[i]))) ++i;
      if (i == text.size()) break;
      ++n.words;
      while (i < text.size() && !is_space(static_cast<unsigned char>(text[i]))) ++i;
    }
    return std::string(text);
  }
  Rng rng(seed);
  std::string out;
  out.reserve(text.size());
  std::string last_removed;        // the last deleted character of this text ("" = none)
  std::vector<std::string> chars;  // the characters of the current word
  size_t i = 0;
  while (i < text.size()) {
    if (is_space(static_cast<unsigned char>(text[i]))) {
      out.push_back(text[i++]);
      continue;
    }
    chars.clear();
    while (i < text.size() && !is_space(static_cast<unsigned char>(text[i]))) {
      const size_t len = rt::utf8_char_length(text, i);
      chars.emplace_back(text.substr(i, len));
      i += len;
    }
    ++n.words;
    if (rng.unit() < probability) {
      ++n.selected;
      const size_t edit = rng.below(3);
      const size_t w = chars.size();
      if (edit == 0) {
        const size_t at = rng.below(w);
        last_removed = chars[at];
        chars.erase(chars.begin() + static_cast<std::ptrdiff_t>(at));
        ++n.deleted;
      } else if (edit == 1 && w >= 3) {
        const size_t from = rng.below(w);
        // after the removal, w insertion points remain (0..w-1); point `from` would give back
        // the original word, so one of the other w - 1 is drawn
        size_t to = rng.below(w - 1);
        if (to >= from) ++to;
        std::string c = std::move(chars[from]);
        chars.erase(chars.begin() + static_cast<std::ptrdiff_t>(from));
        chars.insert(chars.begin() + static_cast<std::ptrdiff_t>(to), std::move(c));
        ++n.moved;
      } else if (edit == 2 && !last_removed.empty()) {
        const size_t at = rng.below(w + 1);
        chars.insert(chars.begin() + static_cast<std::ptrdiff_t>(at), last_removed);
        ++n.inserted;
      } else {
        ++n.unchanged;
      }
    }
    for (const auto& c : chars) out += c;
  }
  return out;
}

uint64_t distortion_seed(uint64_t seed, int64_t epoch, int64_t example) {
  auto mix = [](uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  return mix(mix(mix(seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(example));
}

}  // namespace bytelite

#include "core/seq2seq_metrics.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "core/errors.h"

namespace bytelite {
namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Python's str.isspace() (the separators of str.split() without arguments).
bool is_python_space(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_continuation(unsigned char b, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
  return b >= lo && b <= hi;
}

// Decodes the well-formed UTF-8 sequence starting at s[i] (Unicode 15, table 3-7) into *cp and
// returns its length, or returns 0 when s[i] does not start one.
size_t decode_utf8(std::string_view s, size_t i, char32_t* cp) {
  const size_t left = s.size() - i;
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char b0 = b(0);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (left < 2 || !is_continuation(b(1))) return 0;
    *cp = (char32_t{b0} & 0x1F) << 6 | (char32_t{b(1)} & 0x3F);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
    const unsigned char hi = b0 == 0xED ? 0x9F : 0xBF;  // no surrogates
    if (left < 3 || !is_continuation(b(1), lo, hi) || !is_continuation(b(2))) return 0;
    *cp = (char32_t{b0} & 0x0F) << 12 | (char32_t{b(1)} & 0x3F) << 6 | (char32_t{b(2)} & 0x3F);
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80;  // no overlong forms
    const unsigned char hi = b0 == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
    if (left < 4 || !is_continuation(b(1), lo, hi) || !is_continuation(b(2)) ||
        !is_continuation(b(3))) {
      return 0;
    }
    *cp = (char32_t{b0} & 0x07) << 18 | (char32_t{b(1)} & 0x3F) << 12 |
          (char32_t{b(2)} & 0x3F) << 6 | (char32_t{b(3)} & 0x3F);
    return 4;
  }
  return 0;
}

using NgramCounts = std::unordered_map<std::u32string_view, int64_t>;

NgramCounts count_ngrams(const std::u32string& chars, size_t n) {
  NgramCounts counts;
  if (chars.size() < n) return counts;
  const std::u32string_view v(chars);
  for (size_t i = 0; i + n <= v.size(); ++i) ++counts[v.substr(i, n)];
  return counts;
}

ChrfStatistics statistics_of(const std::u32string& hyp, const std::u32string& ref) {
  ChrfStatistics s;
  for (int i = 0; i < kChrfOrder; ++i) {
    const size_t n = static_cast<size_t>(i) + 1;
    const int64_t hyp_total = hyp.size() >= n ? static_cast<int64_t>(hyp.size() - n + 1) : 0;
    const int64_t ref_total = ref.size() >= n ? static_cast<int64_t>(ref.size() - n + 1) : 0;
    s.ref[i] = ref_total;
    s.hyp[i] = ref_total > 0 ? hyp_total : 0;  // sacrebleu: no hypothesis count without a ref
    if (hyp_total == 0 || ref_total == 0) continue;
    const NgramCounts h = count_ngrams(hyp, n);
    const NgramCounts r = count_ngrams(ref, n);
    int64_t match = 0;
    for (const auto& [gram, count] : h) {
      const auto it = r.find(gram);
      if (it != r.end()) match += std::min(count, it->second);
    }
    s.match[i] = match;
  }
  return s;
}

}  // namespace

ChrfStatistics& ChrfStatistics::operator+=(const ChrfStatistics& o) {
  for (int i = 0; i < kChrfOrder; ++i) {
    hyp[i] += o.hyp[i];
    ref[i] += o.ref[i];
    match[i] += o.match[i];
  }
  return *this;
}

std::vector<std::string> split_tokens(std::string_view s) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_ascii_space(s[i])) ++i;
    const size_t start = i;
    while (i < s.size() && !is_ascii_space(s[i])) ++i;
    if (i > start) tokens.emplace_back(s.substr(start, i - start));
  }
  return tokens;
}

int64_t token_edit_distance(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  // Two rows of the (|a| + 1) x (|b| + 1) Wagner-Fischer table.
  std::vector<int64_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int64_t>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int64_t>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int64_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::u32string chrf_characters(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    const size_t len = decode_utf8(s, i, &cp);
    if (len == 0) {
      out.push_back(0xDC00 + static_cast<unsigned char>(s[i]));  // Python's surrogateescape
      ++i;
      continue;
    }
    if (!is_python_space(cp)) out.push_back(cp);
    i += len;
  }
  return out;
}

ChrfStatistics chrf_statistics(std::string_view hypothesis, std::string_view reference) {
  return statistics_of(chrf_characters(hypothesis), chrf_characters(reference));
}

double chrf_from_statistics(const ChrfStatistics& s) {
  // Same operation order as sacrebleu's CHRF._compute_f_score, so that near-equal sentence
  // scores compare the same way when choosing the best reference.
  double avg_precision = 0, avg_recall = 0;
  int effective_order = 0;
  for (int i = 0; i < kChrfOrder; ++i) {
    if (s.hyp[i] > 0 && s.ref[i] > 0) {
      avg_precision += static_cast<double>(s.match[i]) / static_cast<double>(s.hyp[i]);
      avg_recall += static_cast<double>(s.match[i]) / static_cast<double>(s.ref[i]);
      ++effective_order;
    }
  }
  if (effective_order == 0) return 0.0;
  avg_precision /= effective_order;
  avg_recall /= effective_order;
  if (avg_precision + avg_recall == 0) return 0.0;
  const double factor = kChrfBeta * kChrfBeta;
  double score = (1 + factor) * avg_precision * avg_recall;
  score /= factor * avg_precision + avg_recall;
  return 100 * score;
}

double sentence_chrf(std::string_view hypothesis, std::string_view reference) {
  return chrf_from_statistics(chrf_statistics(hypothesis, reference));
}

Seq2SeqScores score_seq2seq(const std::vector<Seq2SeqItem>& items) {
  if (items.empty()) {
    throw InvalidArgument("score_seq2seq: expected at least one item, found an empty list");
  }
  for (size_t k = 0; k < items.size(); ++k) {
    if (items[k].references.empty()) {
      throw InvalidArgument(
          "score_seq2seq: expected at least one reference per item, found 0 for item " +
          std::to_string(k));
    }
  }
  Seq2SeqScores out;
  out.sources = static_cast<int64_t>(items.size());
  int64_t wrong = 0, exact = 0;
  ChrfStatistics corpus;
  for (const Seq2SeqItem& item : items) {
    const std::vector<std::string> hyp_tokens = split_tokens(item.hypothesis);
    const std::u32string hyp_chars = chrf_characters(item.hypothesis);
    bool exact_hit = false;
    int64_t best_distance = std::numeric_limits<int64_t>::max();
    int64_t best_length = 0;
    double best_chrf = -1.0;
    ChrfStatistics best_stats;
    for (const std::string& reference : item.references) {
      exact_hit = exact_hit || item.hypothesis == reference;
      const std::vector<std::string> ref_tokens = split_tokens(reference);
      const int64_t d = token_edit_distance(hyp_tokens, ref_tokens);
      const int64_t len = static_cast<int64_t>(ref_tokens.size());
      if (d < best_distance || (d == best_distance && len < best_length)) {
        best_distance = d;
        best_length = len;
      }
      const ChrfStatistics stats = statistics_of(hyp_chars, chrf_characters(reference));
      const double f = chrf_from_statistics(stats);
      if (f > best_chrf) {
        best_chrf = f;
        best_stats = stats;
      }
    }
    wrong += best_distance != 0;  // distance 0 <=> equal token sequences
    exact += exact_hit;
    out.token_errors += best_distance;
    out.reference_tokens += best_length;
    corpus += best_stats;
  }
  const double n = static_cast<double>(out.sources);
  out.wer = static_cast<double>(wrong) / n;
  out.exact_match = static_cast<double>(exact) / n;
  out.per = out.reference_tokens > 0
                ? static_cast<double>(out.token_errors) / static_cast<double>(out.reference_tokens)
                : std::numeric_limits<double>::quiet_NaN();
  out.chrf = chrf_from_statistics(corpus);
  return out;
}

}  // namespace bytelite

// Sequence-to-sequence evaluation metrics (no libtorch): the G2P word error rate, the phone
// (token) error rate, exact match and corpus chrF.
//  - Tokens: a string split on ASCII whitespace (space, \t, \n, \v, \f, \r); runs of whitespace
//    and leading/trailing whitespace produce no empty tokens.
//  - WER (G2P convention, e.g. CMUdict G2P papers): a source counts as wrong when its hypothesis's
//    token sequence equals the token sequence of none of its references.
//  - PER: Levenshtein distance over tokens (unit cost for insertion, deletion, substitution) to
//    the closest reference, summed over sources, divided by the summed token lengths of those
//    closest references.
//  - chrF: Popović (2015), "chrF: character n-gram F-score for automatic MT evaluation", WMT15,
//    computed like sacrebleu 2.x CHRF() with its defaults (char_order 6, word_order 0, beta 2,
//    case-sensitive, whitespace removed, eps_smoothing off). Details at sentence_chrf() and
//    score_seq2seq(). Golden values: tests/golden/chrf_golden.json, made by
//    scripts/golden/make_chrf_golden.py (an independent Python implementation).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bytelite {

/// One evaluated source: the model's output and every reference (>= 1) for that source.
/// Strings are UTF-8; invalid bytes are accepted (see chrf_characters()).
struct Seq2SeqItem {
  std::string hypothesis;
  std::vector<std::string> references;
};

/// Corpus-level scores over N sources. Rates are fractions in [0, 1] (PER can exceed 1 when
/// hypotheses are longer than their references); chrf is in [0, 100].
struct Seq2SeqScores {
  int64_t sources = 0;     // N
  double wer = 0;          // fraction of sources whose token sequence matches no reference's
  double per = 0;          // token_errors / reference_tokens; NaN when reference_tokens == 0
  double exact_match = 0;  // fraction of sources whose hypothesis equals a reference byte for byte
  double chrf = 0;         // corpus chrF in [0, 100] (see score_seq2seq)
  int64_t token_errors = 0;      // PER numerator: sum of edit distances to the closest reference
  int64_t reference_tokens = 0;  // PER denominator: sum of token lengths of those references
};

/// Scores a corpus. Per source:
///  - PER: the closest reference is the one with the smallest token edit distance; among
///    references at that distance the one with the fewest tokens (then the first listed) is
///    used, so its length is the denominator's contribution.
///  - chrF: the reference with the highest sentence-level chrF (sentence_chrf) supplies that
///    source's chrf_statistics(); on equal scores the first listed reference wins (sacrebleu's
///    rule). The per-source statistics are summed over the corpus and chrf_from_statistics()
///    turns the sums into the corpus score.
/// Throws InvalidArgument when items is empty or an item has no references.
Seq2SeqScores score_seq2seq(const std::vector<Seq2SeqItem>& items);

/// Levenshtein distance between token sequences a and b (unit costs), in [0, max(|a|, |b|)].
int64_t token_edit_distance(const std::vector<std::string>& a, const std::vector<std::string>& b);

/// Splits s on ASCII whitespace (space, \t, \n, \v, \f, \r) into non-empty tokens.
std::vector<std::string> split_tokens(std::string_view s);

/// The characters chrF sees: s decoded as UTF-8 into code points, whitespace removed. Whitespace
/// is what Python's str.split() splits on (sacrebleu removes it with "".join(s.split())): ASCII
/// \t \n \v \f \r and space, U+001C..U+001F, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028,
/// U+2029, U+202F, U+205F, U+3000. A byte that does not start a well-formed UTF-8 sequence
/// (stray continuation byte, truncated or overlong sequence, surrogate, > U+10FFFF) is one
/// character, mapped to U+DC00 + byte like Python's "surrogateescape" decoding, so it equals
/// only the same invalid byte and decoding resumes at the next byte.
std::u32string chrf_characters(std::string_view s);

/// chrF order (character n-grams n = 1..kChrfOrder) and beta (recall weighted beta times as
/// much as precision).
inline constexpr int kChrfOrder = 6;
inline constexpr double kChrfBeta = 2.0;

/// chrF match statistics of one (hypothesis, reference) pair, per n-gram order n = i + 1:
/// hyp[i] = number of hypothesis n-grams, ref[i] = number of reference n-grams,
/// match[i] = sum over distinct n-grams g of min(count in hypothesis, count in reference).
/// As in sacrebleu, hyp[i] is set to 0 when the reference has no n-grams of order n (it is too
/// short), so such hypothesis n-grams do not lower corpus precision.
struct ChrfStatistics {
  std::array<int64_t, kChrfOrder> hyp{};
  std::array<int64_t, kChrfOrder> ref{};
  std::array<int64_t, kChrfOrder> match{};
  ChrfStatistics& operator+=(const ChrfStatistics& o);
};

/// Statistics of chrf_characters(hypothesis) against chrf_characters(reference).
ChrfStatistics chrf_statistics(std::string_view hypothesis, std::string_view reference);

/// chrF in [0, 100] from (summed) statistics, sacrebleu's "effective order" rule: only orders
/// with hyp[i] > 0 and ref[i] > 0 take part; P and R are the means of match/hyp and match/ref
/// over those orders; F = (1 + beta^2) P R / (beta^2 P + R) * 100. The score is 0 when no order
/// takes part (e.g. an empty hypothesis or reference; also two empty strings) or P + R == 0.
double chrf_from_statistics(const ChrfStatistics& s);

/// Sentence-level chrF of one hypothesis against one reference, in [0, 100]:
/// chrf_from_statistics(chrf_statistics(hypothesis, reference)).
double sentence_chrf(std::string_view hypothesis, std::string_view reference);

}  // namespace bytelite

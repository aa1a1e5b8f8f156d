// Beam search over a step-by-step decoder (libbytelite; no libtorch).
//
// Method: the beam search of SeqFlowLite (Google Research, tensorflow/models
// research/seq_flow_lite, tflite_ops/beam_search.cc; design notes seqflowlite_spec.md §5) with
// the GNMT length penalty (Wu et al. 2016, "Google's Neural Machine Translation System", §7):
// a finished hypothesis of n ids with log-probability lp gets the score lp * ILP(n), where
// ILP(n) = ((5 + n) / 6)^(-alpha) (the inverse of the penalty lp(n) = ((5 + n) / 6)^alpha).
// docs/beam_search.md describes the algorithm, the quantized log-softmax and where bytelite
// deviates from the original (no out-of-bounds read when fewer than 2K candidates exist; equal
// finished scores no longer overwrite each other; impossible candidates are dropped).
//
// The search is independent of any model: a decoder plugs in through BeamDecoder (or a DecodeFn
// callback). At step t = 1, 2, ... the search passes the K slots' parent slots and input ids; the
// decoder returns one row of C scores per slot: int8 logits with their quantization parameters
// (the runtime's activations, real = (q - zero_point) * scale), uint8 probabilities, or float
// probabilities or logits. Log-probabilities of int8 logits come from a quantized log-softmax
// (a 256-entry table of e^(-scale * d), d = max code - code; the zero point cancels).
//
// Log-probabilities and scores are natural logarithms in double precision. All exp and log
// evaluations use bytelite's own double-precision routines built from exactly rounded IEEE
// operations (no libm), so the same inputs give bit-identical hypotheses on every CPU.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "bytelite/byte_tokenizer.h"

namespace bytelite {

/// Parameters of a search. BeamSearch's constructor validates them (validate_beam_options).
struct BeamSearchOptions {
  /// K, the number of hypotheses kept alive per step: [1, 65536].
  int32_t beam_size = 4;
  /// N, the maximum number of hypotheses returned: [1, beam_size].
  int32_t n_best = 1;
  /// The maximum number of decode steps, i.e. of output ids per hypothesis, EOS included: >= 0.
  /// 0 returns one empty hypothesis without calling the decoder.
  int32_t max_len = 128;
  /// alpha of the GNMT length penalty: finite, >= 0 (0 = no length normalization; GNMT and
  /// SeqFlowLite use 0.6). Larger values favour longer hypotheses.
  double length_penalty = 0.6;
  /// Class count C of the decoder's output (for byte models: the tokenizer's ids, kVocabSize).
  int32_t num_classes = kVocabSize;
  /// Input id of every slot at step 1: [0, num_classes). Never part of a returned hypothesis.
  int32_t sos_id = kPadId;
  /// The id that ends a hypothesis: [0, num_classes).
  int32_t eos_id = kEosId;
  /// Optional: class_mask[c] == false excludes class c from every step (it is never appended,
  /// and for logits it is also left out of the softmax normalization, as in the original).
  /// Empty (every class allowed) or num_classes entries with at least one true.
  std::vector<bool> class_mask;
  /// Int8 logits only: the "V1" candidate selection of the original. Per slot, the 2K classes
  /// with the highest raw codes are pre-selected before exact log-probabilities are computed.
  /// It gives exactly the same hypotheses as the plain path (tested); it only saves work.
  bool preselect = true;
};

/// How a decoder's output row of C values is to be read.
enum class ScoreKind {
  /// Int8 logits, real = (q - zero_point) * scale; log-probabilities by the quantized
  /// log-softmax (the zero point cancels). What the int8 runtime produces.
  kInt8Logits,
  /// Uint8 probabilities p = (q - zero_point) * scale, log-probability ln p (-inf, i.e. the
  /// class is impossible, where q <= zero_point). Rows need not sum to 1. The quantized mock
  /// decoder of the original's tests uses scale 1/255, zero point 0.
  kUint8Probabilities,
  /// Float probabilities (finite, >= 0; 0 means impossible), log-probability ln p. Rows need not
  /// sum to 1.
  kFloatProbabilities,
  /// Float logits (finite); log-probabilities by a double-precision log-softmax. The float
  /// reference path.
  kFloatLogits,
};

/// A view of one decode step's output: rows x cols values, row-major (row = slot, col = class).
/// Build it with the factory functions. The data must stay valid until the decoder is called
/// again or the search returns.
struct StepScores {
  ScoreKind kind = ScoreKind::kFloatLogits;
  const int8_t* int8_data = nullptr;    // kInt8Logits
  const uint8_t* uint8_data = nullptr;  // kUint8Probabilities
  const float* float_data = nullptr;    // kFloatProbabilities, kFloatLogits
  int32_t rows = 0;
  int32_t cols = 0;
  float scale = 1.0f;      // quantized kinds: finite, > 0
  int32_t zero_point = 0;  // quantized kinds: any value

  static StepScores int8_logits(const int8_t* data, int32_t rows, int32_t cols, float scale,
                                int32_t zero_point) {
    StepScores s;
    s.kind = ScoreKind::kInt8Logits;
    s.int8_data = data;
    s.rows = rows;
    s.cols = cols;
    s.scale = scale;
    s.zero_point = zero_point;
    return s;
  }
  static StepScores uint8_probabilities(const uint8_t* data, int32_t rows, int32_t cols,
                                        float scale, int32_t zero_point) {
    StepScores s;
    s.kind = ScoreKind::kUint8Probabilities;
    s.uint8_data = data;
    s.rows = rows;
    s.cols = cols;
    s.scale = scale;
    s.zero_point = zero_point;
    return s;
  }
  static StepScores float_probabilities(const float* data, int32_t rows, int32_t cols) {
    StepScores s;
    s.kind = ScoreKind::kFloatProbabilities;
    s.float_data = data;
    s.rows = rows;
    s.cols = cols;
    return s;
  }
  static StepScores float_logits(const float* data, int32_t rows, int32_t cols) {
    StepScores s;
    s.kind = ScoreKind::kFloatLogits;
    s.float_data = data;
    s.rows = rows;
    s.cols = cols;
    return s;
  }
};

/// The decoder side of a search (SeqFlowLite's BeamSearch::Decode). One search calls decode
/// with step = 1, 2, ..., at most max_len times, in order.
///   parent_beams: K entries in [0, K): slot s continues the hypothesis that was in slot
///     parent_beams[s] at the previous step (all 0 at step 1). A decoder with a per-slot cache
///     (e.g. the running sums of uniform causal attention, spec §3.3) reorders it by this.
///   input_ids: K entries in [0, C): the id appended to slot s at the previous step (sos_id at
///     step 1), i.e. the decoder's input at this step.
/// Only the first V slots are live (V = 1 at step 1, then the number of hypotheses kept); the
/// other slots carry parent 0 and sos_id, and their output rows are ignored.
/// Must return scores of shape [K, C] (rows = beam_size, cols = num_classes).
class BeamDecoder {
 public:
  virtual ~BeamDecoder();
  virtual StepScores decode(int32_t step, const std::vector<int32_t>& parent_beams,
                            const std::vector<int32_t>& input_ids) = 0;
};

/// The same contract as BeamDecoder::decode, as a callable.
using DecodeFn = std::function<StepScores(int32_t step, const std::vector<int32_t>& parent_beams,
                                          const std::vector<int32_t>& input_ids)>;

/// One result of a search.
struct Hypothesis {
  /// The generated ids (sos_id excluded). A finished hypothesis ends with eos_id; an unfinished
  /// one (no hypothesis reached EOS within max_len) has no EOS. Size 0..max_len.
  std::vector<int32_t> ids;
  /// Sum of the natural-log probabilities of ids (<= 0 when the decoder's rows are normalized).
  double log_prob = 0.0;
  /// The ranking score log_prob * ILP(ids.size()), ILP = inverse_length_penalty; 0 for an empty
  /// hypothesis. Higher is better.
  double score = 0.0;
  /// Whether ids ends with the EOS id chosen by the search.
  bool finished = false;
};

/// Throws InvalidArgument with a one-line message naming the first invalid option:
/// beam_size outside [1, 65536], n_best outside [1, beam_size], max_len < 0, length_penalty not
/// finite or < 0, num_classes < 1, sos_id or eos_id outside [0, num_classes), a class_mask of
/// the wrong size or allowing no class.
void validate_beam_options(const BeamSearchOptions& options);

/// ILP(n) = ((5 + n) / 6)^(-alpha), the GNMT inverse length penalty; n >= 0, alpha >= 0.
/// ILP(1) = 1; decreasing in n for alpha > 0.
double inverse_length_penalty(int64_t n, double alpha);

class BeamSearch {
 public:
  /// Validates the options (validate_beam_options): throws InvalidArgument before any decoding.
  explicit BeamSearch(BeamSearchOptions options);

  /// Runs one search: up to n_best hypotheses, sorted by descending score (ties: the one
  /// finished first comes first). At least one hypothesis is always returned; if none reached
  /// EOS within max_len, it is the best unfinished one (finished = false). Per step t:
  ///   1. scores = decode(t, parents, ids); every live slot j's row gives log-probabilities
  ///      l(j, c) for the allowed classes; a candidate (j, c) scores beam_log_prob[j] + l(j, c).
  ///   2. The best 2K candidates with finite scores are kept (fewer if fewer exist), ordered by
  ///      score descending, then slot ascending, then (int8 logits) raw code descending, then
  ///      class ascending.
  ///   3. In that order: an EOS candidate becomes a finished hypothesis with score
  ///      log_prob * ILP(t); any other becomes the next live slot while fewer than K are live.
  ///   4. Stops when no slot is live, or when best live log_prob * ILP(max_len) < the best
  ///      finished score (no live hypothesis can then overtake it, since log_prob <= 0 only
  ///      decreases), or after max_len steps.
  /// Finished hypotheses are kept in a list of at most K, the lowest-scoring evicted first.
  /// Throws InvalidArgument if the decoder returns scores of another shape, a null data pointer,
  /// a quantization scale that is not finite and > 0, or (float kinds, live rows) a NaN or
  /// infinite value or a negative probability; exceptions thrown by the decoder propagate.
  /// Same options and decoder outputs give bit-identical results. Thread-safe (const): one
  /// BeamSearch may run several searches at once, each with its own decoder.
  std::vector<Hypothesis> search(BeamDecoder& decoder) const;
  std::vector<Hypothesis> search(const DecodeFn& decode) const;

  const BeamSearchOptions& options() const { return options_; }

 private:
  BeamSearchOptions options_;
};

/// One candidate continuation: live slot `slot` followed by class `class_id`.
struct BeamCandidate {
  double score = 0.0;  // beam_log_probs[slot] + log-probability of class_id in row slot
  int32_t slot = 0;
  int32_t class_id = 0;
};

/// One step's candidate selection (step 2 of BeamSearch::search), exposed for tests and for
/// decoders that run their own loop: the best min(k, #finite candidates) candidates over rows
/// 0..num_valid-1 of `scores` and the allowed classes, in the search's order.
/// beam_log_probs: at least num_valid finite entries. Throws InvalidArgument for num_valid
/// outside [1, scores.rows], k < 0, too few beam_log_probs, a class_mask whose size is neither
/// 0 nor scores.cols, or invalid scores (as in search).
std::vector<BeamCandidate> top_candidates(const StepScores& scores,
                                          const std::vector<double>& beam_log_probs,
                                          int32_t num_valid, int32_t k,
                                          const std::vector<bool>& class_mask = {},
                                          bool preselect = true);

}  // namespace bytelite

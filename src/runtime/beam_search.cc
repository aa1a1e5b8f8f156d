// Beam search (include/bytelite/beam_search.h; docs/beam_search.md). Follows SeqFlowLite's
// tflite_ops/beam_search.cc (seqflowlite_spec.md §5) with the deviations listed in the doc.
#include "bytelite/beam_search.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "bytelite/errors.h"
#include "runtime/det_math.h"

namespace bytelite {

BeamDecoder::~BeamDecoder() = default;

namespace {

constexpr int32_t kMaxBeamSize = 65536;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

[[noreturn]] void fail(const std::string& what) { throw InvalidArgument("beam search: " + what); }

const char* kind_name(ScoreKind k) {
  switch (k) {
    case ScoreKind::kInt8Logits:
      return "int8 logits";
    case ScoreKind::kUint8Probabilities:
      return "uint8 probabilities";
    case ScoreKind::kFloatProbabilities:
      return "float probabilities";
    case ScoreKind::kFloatLogits:
      return "float logits";
  }
  return "scores of an unknown kind";
}

// A candidate with its raw int8 code (0 for the other kinds), the secondary sort key that makes
// the per-slot pre-selection by code (V1) select exactly what the plain path selects.
struct Cand {
  double score;
  int32_t slot;
  int32_t cls;
  int32_t code;
};

// The search's total order: score descending, slot ascending, code descending, class ascending.
// Within one slot the int8 log-probability is a non-increasing function of d = max code - code,
// so this order restricted to a slot is (code descending, class ascending).
bool better(const Cand& a, const Cand& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.slot != b.slot) return a.slot < b.slot;
  if (a.code != b.code) return a.code > b.code;
  return a.cls < b.cls;
}

// Keeps the best min(k, size) of v, sorted.
void keep_best(std::vector<Cand>& v, size_t k) {
  k = std::min(k, v.size());
  std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end(), better);
  v.resize(k);
}

// Candidate selection of one step, with the lookup tables cached across steps (a decoder
// normally returns the same quantization parameters at every step).
class Selector {
 public:
  // `where` prefixes error messages (e.g. "decode(step 3)"). allowed: C entries (0 or 1).
  void select(const StepScores& s, const double* beam_lp, int32_t num_valid, int32_t k,
              const std::vector<uint8_t>& allowed, bool preselect, const std::string& where,
              std::vector<Cand>& out) {
    out.clear();
    check_view(s, num_valid, where);
    const int32_t C = s.cols;
    switch (s.kind) {
      case ScoreKind::kInt8Logits:
        int8_logits(s, beam_lp, num_valid, k, allowed, preselect, out);
        break;
      case ScoreKind::kUint8Probabilities: {
        const std::array<double, 256>& lut = log_table(s.scale, s.zero_point);
        for (int32_t j = 0; j < num_valid; ++j) {
          const uint8_t* row = s.uint8_data + static_cast<int64_t>(j) * C;
          for (int32_t c = 0; c < C; ++c)
            if (allowed[c]) push(out, beam_lp[j] + lut[row[c]], j, c, 0);
        }
        break;
      }
      case ScoreKind::kFloatProbabilities:
        for (int32_t j = 0; j < num_valid; ++j) {
          const float* row = s.float_data + static_cast<int64_t>(j) * C;
          for (int32_t c = 0; c < C; ++c) {
            if (!allowed[c]) continue;
            if (!std::isfinite(row[c]) || row[c] < 0.0f)
              fail(where + " returned float probability " + num(row[c]) + " at [slot " +
                   std::to_string(j) + ", class " + std::to_string(c) +
                   "]; expected a finite value >= 0");
            push(out, beam_lp[j] + rt::det_log(row[c]), j, c, 0);
          }
        }
        break;
      case ScoreKind::kFloatLogits:
        for (int32_t j = 0; j < num_valid; ++j) {
          const float* row = s.float_data + static_cast<int64_t>(j) * C;
          double mx = kNegInf;
          for (int32_t c = 0; c < C; ++c) {
            if (!allowed[c]) continue;
            if (!std::isfinite(row[c]))
              fail(where + " returned float logit " + num(row[c]) + " at [slot " +
                   std::to_string(j) + ", class " + std::to_string(c) +
                   "]; expected a finite value");
            mx = std::max(mx, static_cast<double>(row[c]));
          }
          double z = 0.0;
          for (int32_t c = 0; c < C; ++c)
            if (allowed[c]) z += rt::det_exp(static_cast<double>(row[c]) - mx);
          const double ln_z = rt::det_log(z);  // z >= 1: the maximum contributes e^0
          for (int32_t c = 0; c < C; ++c)
            if (allowed[c])
              push(out, beam_lp[j] + ((static_cast<double>(row[c]) - mx) - ln_z), j, c, 0);
        }
        break;
    }
    keep_best(out, static_cast<size_t>(k));
  }

 private:
  static void push(std::vector<Cand>& out, double score, int32_t slot, int32_t cls, int32_t code) {
    // -inf: an impossible class (probability 0); such candidates are never extended.
    if (std::isfinite(score)) out.push_back(Cand{score, slot, cls, code});
  }

  static void check_view(const StepScores& s, int32_t num_valid, const std::string& where) {
    const void* data = nullptr;
    switch (s.kind) {
      case ScoreKind::kInt8Logits:
        data = s.int8_data;
        break;
      case ScoreKind::kUint8Probabilities:
        data = s.uint8_data;
        break;
      case ScoreKind::kFloatProbabilities:
      case ScoreKind::kFloatLogits:
        data = s.float_data;
        break;
      default:
        fail(where + " returned scores of an unknown kind " +
             std::to_string(static_cast<int>(s.kind)));
    }
    if (data == nullptr)
      fail(where + " returned " + kind_name(s.kind) + " with a null data pointer");
    if ((s.kind == ScoreKind::kInt8Logits || s.kind == ScoreKind::kUint8Probabilities) &&
        !(std::isfinite(s.scale) && s.scale > 0.0f))
      fail(where + " returned " + kind_name(s.kind) + " with scale " + num(s.scale) +
           "; expected a finite scale > 0");
    if (num_valid < 1 || num_valid > s.rows)
      fail(where + ": num_valid must be in [1, rows = " + std::to_string(s.rows) + "], found " +
           std::to_string(num_valid));
  }

  // Quantized log-softmax (spec §5, "uint8, logits"): with m the largest allowed code of a row
  // and d = m - q in [0, 255], e^(s (q - m)) = exp_table[d], Z = sum over allowed classes,
  // l(c) = -s d_c - ln Z. The zero point cancels. Z >= 1 (d = 0 contributes 1), so l <= 0.
  void int8_logits(const StepScores& s, const double* beam_lp, int32_t num_valid, int32_t k,
                   const std::vector<uint8_t>& allowed, bool preselect, std::vector<Cand>& out) {
    const int32_t C = s.cols;
    const std::array<double, 256>& et = exp_table(s.scale);
    const double scale = s.scale;
    for (int32_t j = 0; j < num_valid; ++j) {
      const int8_t* row = s.int8_data + static_cast<int64_t>(j) * C;
      int32_t mx = -129;
      for (int32_t c = 0; c < C; ++c)
        if (allowed[c]) mx = std::max<int32_t>(mx, row[c]);
      if (mx == -129) continue;  // no allowed class
      double z = 0.0;
      for (int32_t c = 0; c < C; ++c)
        if (allowed[c]) z += et[mx - row[c]];
      const double ln_z = rt::det_log(z);
      // Both paths score a class with exactly this expression.
      auto score = [&](int32_t c) { return beam_lp[j] + (-(scale * (mx - row[c])) - ln_z); };
      if (!preselect) {
        for (int32_t c = 0; c < C; ++c)
          if (allowed[c]) push(out, score(c), j, c, row[c]);
        continue;
      }
      // V1: the best k classes of this row by (code descending, class ascending), which is this
      // row's order under `better`; then exact scores for those only.
      keys_.clear();
      for (int32_t c = 0; c < C; ++c)
        if (allowed[c]) keys_.push_back(Cand{0.0, j, c, row[c]});
      keep_best(keys_, static_cast<size_t>(k));
      for (const Cand& key : keys_) push(out, score(key.cls), j, key.cls, key.code);
    }
  }

  const std::array<double, 256>& exp_table(float scale) {
    if (!(exp_scale_ == scale)) {
      for (int d = 0; d < 256; ++d) exp_[d] = rt::det_exp(-(static_cast<double>(scale) * d));
      exp_scale_ = scale;
    }
    return exp_;
  }

  // log_[q] = ln((q - z) s), -inf for q <= z.
  const std::array<double, 256>& log_table(float scale, int32_t zero_point) {
    if (!(log_scale_ == scale && log_zero_ == zero_point)) {
      for (int q = 0; q < 256; ++q) {
        const int64_t v = static_cast<int64_t>(q) - zero_point;
        log_[q] = v > 0 ? rt::det_log(static_cast<double>(v) * scale) : kNegInf;
      }
      log_scale_ = scale;
      log_zero_ = zero_point;
    }
    return log_;
  }

  std::array<double, 256> exp_{}, log_{};
  float exp_scale_ = std::numeric_limits<float>::quiet_NaN();
  float log_scale_ = std::numeric_limits<float>::quiet_NaN();
  int32_t log_zero_ = 0;
  std::vector<Cand> keys_;
};

std::vector<uint8_t> allowed_classes(const std::vector<bool>& mask, int32_t C) {
  std::vector<uint8_t> a(static_cast<size_t>(C), 1);
  if (!mask.empty())
    for (int32_t c = 0; c < C; ++c) a[c] = mask[c] ? 1 : 0;
  return a;
}

// Finished hypotheses, best first: at most `capacity`, ordered by score descending and, among
// equal scores, by arrival (the original kept them in a map keyed by score, so a hypothesis with
// the same score as a kept one overwrote it).
class FinishedList {
 public:
  explicit FinishedList(size_t capacity) : capacity_(capacity) {}
  bool accepts(double score) const { return h_.size() < capacity_ || score > h_.back().score; }
  // Requires accepts(h.score).
  void add(Hypothesis h) {
    if (h_.size() == capacity_) h_.pop_back();
    auto pos =
        std::find_if(h_.begin(), h_.end(), [&](const Hypothesis& o) { return o.score < h.score; });
    h_.insert(pos, std::move(h));
  }
  bool empty() const { return h_.empty(); }
  double best() const { return h_.front().score; }
  std::vector<Hypothesis> take(size_t n) {
    if (h_.size() > n) h_.resize(n);
    return std::move(h_);
  }

 private:
  size_t capacity_;
  std::vector<Hypothesis> h_;
};

}  // namespace

void validate_beam_options(const BeamSearchOptions& o) {
  if (o.beam_size < 1 || o.beam_size > kMaxBeamSize)
    fail("beam_size must be in [1, " + std::to_string(kMaxBeamSize) + "], found " +
         std::to_string(o.beam_size));
  if (o.n_best < 1 || o.n_best > o.beam_size)
    fail("n_best must be in [1, beam_size = " + std::to_string(o.beam_size) + "], found " +
         std::to_string(o.n_best));
  if (o.max_len < 0) fail("max_len must be >= 0, found " + std::to_string(o.max_len));
  if (!(std::isfinite(o.length_penalty) && o.length_penalty >= 0.0))
    fail("length_penalty (alpha) must be finite and >= 0, found " + num(o.length_penalty));
  if (o.num_classes < 1) fail("num_classes must be >= 1, found " + std::to_string(o.num_classes));
  const std::string range =
      " must be in [0, num_classes = " + std::to_string(o.num_classes) + "), found ";
  if (o.sos_id < 0 || o.sos_id >= o.num_classes) fail("sos_id" + range + std::to_string(o.sos_id));
  if (o.eos_id < 0 || o.eos_id >= o.num_classes) fail("eos_id" + range + std::to_string(o.eos_id));
  if (!o.class_mask.empty()) {
    if (o.class_mask.size() != static_cast<size_t>(o.num_classes))
      fail("class_mask must be empty or have num_classes = " + std::to_string(o.num_classes) +
           " entries, found " + std::to_string(o.class_mask.size()));
    if (std::none_of(o.class_mask.begin(), o.class_mask.end(), [](bool b) { return b; }))
      fail("class_mask must allow at least one class, found none");
  }
}

double inverse_length_penalty(int64_t n, double alpha) {
  // ((5 + n) / 6)^(-alpha) = e^(-alpha ln((5 + n) / 6)).
  if (alpha == 0.0) return 1.0;
  return rt::det_exp(-alpha * rt::det_log((5.0 + static_cast<double>(n)) / 6.0));
}

BeamSearch::BeamSearch(BeamSearchOptions options) : options_(std::move(options)) {
  validate_beam_options(options_);
}

std::vector<Hypothesis> BeamSearch::search(BeamDecoder& decoder) const {
  return search(
      [&decoder](int32_t step, const std::vector<int32_t>& parents,
                 const std::vector<int32_t>& ids) { return decoder.decode(step, parents, ids); });
}

std::vector<Hypothesis> BeamSearch::search(const DecodeFn& decode) const {
  const BeamSearchOptions& o = options_;
  const int32_t K = o.beam_size, C = o.num_classes, L = o.max_len;
  if (L == 0) return {Hypothesis{}};
  if (!decode) fail("the decode callback is empty");

  const std::vector<uint8_t> allowed = allowed_classes(o.class_mask, C);
  const double ilp_max = inverse_length_penalty(L, o.length_penalty);

  // Live slots: the decoder's inputs, log-probabilities; V live slots.
  std::vector<int32_t> parents(K, 0), ids(K, o.sos_id);
  std::vector<double> log_prob(K, 0.0);
  int32_t V = 1;
  // History as back-pointers: after step t, live slot s appended tok[(t-1) K + s] to the
  // hypothesis that was in slot back[(t-1) K + s] after step t - 1.
  std::vector<int32_t> back, tok;
  int32_t length = 0;  // steps completed with at least one live slot
  auto history = [&](int32_t t, int32_t s, size_t extra) {
    std::vector<int32_t> h(static_cast<size_t>(t));
    h.reserve(static_cast<size_t>(t) + extra);
    for (int32_t u = t; u >= 1; --u) {
      const size_t i = static_cast<size_t>(u - 1) * K + s;
      h[u - 1] = tok[i];
      s = back[i];
    }
    return h;
  };

  FinishedList finished(static_cast<size_t>(std::max(K, o.n_best)));
  Selector selector;
  std::vector<Cand> cands;
  std::vector<int32_t> new_parents(K), new_ids(K);
  std::vector<double> new_log_prob(K);

  for (int32_t t = 1; t <= L; ++t) {
    const std::string where = "decode(step " + std::to_string(t) + ")";
    const StepScores scores = decode(t, parents, ids);
    if (scores.rows != K || scores.cols != C)
      fail(where + " returned scores of shape [" + std::to_string(scores.rows) + ", " +
           std::to_string(scores.cols) + "]; expected [beam_size, num_classes] = [" +
           std::to_string(K) + ", " + std::to_string(C) + "]");
    selector.select(scores, log_prob.data(), V, 2 * K, allowed, o.preselect, where, cands);

    const double ilp_t = inverse_length_penalty(t, o.length_penalty);
    int32_t live = 0;
    for (const Cand& c : cands) {
      if (c.cls == o.eos_id) {
        const double score = c.score * ilp_t;
        if (!finished.accepts(score)) continue;
        Hypothesis h;
        h.ids = history(t - 1, c.slot, 1);
        h.ids.push_back(o.eos_id);
        h.log_prob = c.score;
        h.score = score;
        h.finished = true;
        finished.add(std::move(h));
      } else if (live < K) {
        new_parents[live] = c.slot;
        new_ids[live] = c.cls;
        new_log_prob[live] = c.score;
        ++live;
      }
    }
    if (live == 0) break;  // every candidate ended (or none was possible)

    back.resize(static_cast<size_t>(t) * K, 0);
    tok.resize(static_cast<size_t>(t) * K, 0);
    for (int32_t s = 0; s < K; ++s) {
      const bool on = s < live;
      back[static_cast<size_t>(t - 1) * K + s] = on ? new_parents[s] : 0;
      tok[static_cast<size_t>(t - 1) * K + s] = on ? new_ids[s] : o.sos_id;
      parents[s] = on ? new_parents[s] : 0;
      ids[s] = on ? new_ids[s] : o.sos_id;
      log_prob[s] = on ? new_log_prob[s] : 0.0;
    }
    V = live;
    length = t;
    // Slot 0 holds the best live hypothesis. Its log-probability can only decrease, and the
    // smallest ILP factor is ILP(max_len), so this bounds every live hypothesis's final score.
    if (!finished.empty() && log_prob[0] * ilp_max < finished.best()) break;
  }

  if (finished.empty()) {
    // No hypothesis reached EOS: the best live one (the original appended EOS with score 0).
    Hypothesis h;
    h.ids = history(length, 0, 0);
    h.log_prob = log_prob[0];
    h.score = length == 0 ? 0.0 : log_prob[0] * inverse_length_penalty(length, o.length_penalty);
    h.finished = false;
    finished.add(std::move(h));
  }
  return finished.take(static_cast<size_t>(o.n_best));
}

std::vector<BeamCandidate> top_candidates(const StepScores& scores,
                                          const std::vector<double>& beam_log_probs,
                                          int32_t num_valid, int32_t k,
                                          const std::vector<bool>& class_mask, bool preselect) {
  const std::string where = "top_candidates";
  if (scores.rows < 1 || scores.cols < 1)
    fail(where + ": scores must have shape [>= 1, >= 1], found [" + std::to_string(scores.rows) +
         ", " + std::to_string(scores.cols) + "]");
  if (num_valid < 1 || num_valid > scores.rows)
    fail(where + ": num_valid must be in [1, rows = " + std::to_string(scores.rows) + "], found " +
         std::to_string(num_valid));
  if (k < 0) fail(where + ": k must be >= 0, found " + std::to_string(k));
  if (beam_log_probs.size() < static_cast<size_t>(num_valid))
    fail(where + ": beam_log_probs must have at least num_valid = " + std::to_string(num_valid) +
         " entries, found " + std::to_string(beam_log_probs.size()));
  if (!class_mask.empty() && class_mask.size() != static_cast<size_t>(scores.cols))
    fail(where + ": class_mask must be empty or have cols = " + std::to_string(scores.cols) +
         " entries, found " + std::to_string(class_mask.size()));
  Selector selector;
  std::vector<Cand> cands;
  selector.select(scores, beam_log_probs.data(), num_valid, k,
                  allowed_classes(class_mask, scores.cols), preselect, where, cands);
  std::vector<BeamCandidate> out;
  out.reserve(cands.size());
  for (const Cand& c : cands) out.push_back(BeamCandidate{c.score, c.slot, c.cls});
  return out;
}

}  // namespace bytelite

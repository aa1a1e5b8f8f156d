#include "core/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/errors.h"

namespace bytelite {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Number of examples after checking that the sizes in `in` agree.
int64_t checked_examples(const MetricInput& in) {
  const int64_t L = in.num_labels;
  if (!in.multilabel) {
    if (L < 2) {
      throw ConfigError("metrics: expected num_labels >= 2 for single-label data, found " +
                        std::to_string(L));
    }
    const int64_t n = static_cast<int64_t>(in.labels.size());
    if (static_cast<int64_t>(in.scores.size()) != n * L) {
      throw ConfigError("metrics: expected " + std::to_string(n * L) + " scores (" +
                        std::to_string(n) + " examples x " + std::to_string(L) +
                        " classes), found " + std::to_string(in.scores.size()));
    }
    for (size_t i = 0; i < in.labels.size(); ++i) {
      if (in.labels[i] < 0 || in.labels[i] >= L) {
        throw ConfigError("metrics: expected labels in [0, " + std::to_string(L) + "), found " +
                          std::to_string(in.labels[i]) + " at example " + std::to_string(i));
      }
    }
    return n;
  }
  if (L < 1) {
    throw ConfigError("metrics: expected num_labels >= 1, found " + std::to_string(L));
  }
  if (in.scores.size() % static_cast<size_t>(L) != 0) {
    throw ConfigError("metrics: expected a multiple of " + std::to_string(L) + " scores, found " +
                      std::to_string(in.scores.size()));
  }
  if (in.targets.size() != in.scores.size()) {
    throw ConfigError("metrics: expected " + std::to_string(in.scores.size()) +
                      " targets (one per score), found " + std::to_string(in.targets.size()));
  }
  return static_cast<int64_t>(in.scores.size()) / L;
}

std::vector<float> score_column(const MetricInput& in, int64_t n, int32_t l) {
  std::vector<float> s(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) s[i] = in.scores[i * in.num_labels + l];
  return s;
}

// 0/1 ground truth of label l (single-label: one-vs-rest).
std::vector<int32_t> truth_column(const MetricInput& in, int64_t n, int32_t l) {
  std::vector<int32_t> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    y[i] = in.multilabel ? (in.targets[i * in.num_labels + l] >= in.target_threshold ? 1 : 0)
                         : (in.labels[i] == l ? 1 : 0);
  }
  return y;
}

void check_pair(const std::vector<float>& scores, const std::vector<int32_t>& y) {
  if (scores.size() != y.size()) {
    throw ConfigError("metrics: expected one score per label, found " +
                      std::to_string(scores.size()) + " scores and " + std::to_string(y.size()) +
                      " labels");
  }
}

bool any_nan(const std::vector<float>& s) {
  return std::any_of(s.begin(), s.end(), [](float v) { return std::isnan(v); });
}

// Indices sorted by descending score.
std::vector<size_t> order_descending(const std::vector<float>& s) {
  std::vector<size_t> idx(s.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::sort(idx.begin(), idx.end(), [&s](size_t a, size_t b) { return s[a] > s[b]; });
  return idx;
}

struct Counts {
  int64_t tp = 0, fp = 0, fn = 0;
};

// scikit-learn's formulas with zero_division=0.
double precision_of(const Counts& c) {
  return c.tp + c.fp > 0 ? static_cast<double>(c.tp) / static_cast<double>(c.tp + c.fp) : 0.0;
}
double recall_of(const Counts& c) {
  return c.tp + c.fn > 0 ? static_cast<double>(c.tp) / static_cast<double>(c.tp + c.fn) : 0.0;
}
double f1_of(const Counts& c) {
  const double p = precision_of(c);
  const double r = recall_of(c);
  const double denom = p + r;
  return denom == 0.0 ? 0.0 : 2.0 * p * r / denom;
}

// A threshold t with lo < t <= hi (lo < hi): p >= t selects exactly the scores >= hi.
float midpoint(float lo, float hi) {
  const float m = static_cast<float>((static_cast<double>(lo) + static_cast<double>(hi)) / 2.0);
  return m > lo ? m : hi;
}

// Threshold (midpoint between distinct sorted scores) maximizing the objective; among equal
// objectives the one closest to 0.5. 0.5 when there are fewer than two distinct scores.
// objective(tp, fp, fn, tn) is evaluated for "positive iff score >= threshold".
template <typename Objective>
float best_threshold(const std::vector<float>& s, const std::vector<int32_t>& y,
                     Objective objective) {
  if (any_nan(s)) {
    throw ConfigError("choose_thresholds: expected finite scores, found NaN");
  }
  const std::vector<size_t> idx = order_descending(s);
  int64_t pos = 0;
  for (int32_t v : y) pos += v != 0 ? 1 : 0;
  const int64_t neg = static_cast<int64_t>(y.size()) - pos;
  int64_t tp = 0, fp = 0;
  double best = -1.0;
  float best_t = 0.5f;
  size_t i = 0;
  while (i < idx.size()) {
    const float v = s[idx[i]];
    while (i < idx.size() && s[idx[i]] == v) {
      if (y[idx[i]] != 0) {
        ++tp;
      } else {
        ++fp;
      }
      ++i;
    }
    if (i == idx.size()) break;  // no lower distinct score: no midpoint below v
    const float t = midpoint(s[idx[i]], v);
    const double obj = objective(tp, fp, pos - tp, neg - fp);
    const double tol = 1e-12;
    if (obj > best + tol || (obj >= best - tol && std::fabs(t - 0.5f) < std::fabs(best_t - 0.5f))) {
      best = std::max(obj, best);
      best_t = t;
    }
  }
  return best_t;
}

double nan_mean(const std::vector<double>& v) {
  double sum = 0;
  int64_t n = 0;
  for (double x : v) {
    if (!std::isnan(x)) {
      sum += x;
      ++n;
    }
  }
  return n > 0 ? sum / static_cast<double>(n) : kNaN;
}

// Per-label counts of predictions against the ground truth.
std::vector<Counts> count_predictions(const MetricInput& in, int64_t n,
                                      const std::vector<int32_t>& pred) {
  const int32_t L = in.num_labels;
  std::vector<Counts> c(static_cast<size_t>(L));
  if (!in.multilabel) {
    for (int64_t i = 0; i < n; ++i) {
      const int32_t t = in.labels[i];
      const int32_t p = pred[i];
      if (t == p) {
        ++c[t].tp;
      } else {
        ++c[p].fp;
        ++c[t].fn;
      }
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      for (int32_t l = 0; l < L; ++l) {
        const bool t = in.targets[i * L + l] >= in.target_threshold;
        const bool p = pred[i * L + l] != 0;
        if (t && p) ++c[l].tp;
        if (!t && p) ++c[l].fp;
        if (t && !p) ++c[l].fn;
      }
    }
  }
  return c;
}

double accuracy_of(const MetricInput& in, int64_t n, const std::vector<int32_t>& pred) {
  if (n == 0) return kNaN;
  int64_t correct = 0;
  const int32_t L = in.num_labels;
  for (int64_t i = 0; i < n; ++i) {
    if (!in.multilabel) {
      correct += pred[i] == in.labels[i] ? 1 : 0;
    } else {
      bool all = true;
      for (int32_t l = 0; l < L; ++l) {
        const int32_t t = in.targets[i * L + l] >= in.target_threshold ? 1 : 0;
        all = all && (pred[i * L + l] != 0 ? 1 : 0) == t;
      }
      correct += all ? 1 : 0;
    }
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

nlohmann::ordered_json number(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

// A float as the double with its shortest decimal form (0.3f -> 0.3, not 0.30000001192...).
nlohmann::ordered_json float_number(float v) {
  if (!std::isfinite(v)) return nullptr;
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  *r.ptr = '\0';
  return std::strtod(buf, nullptr);
}

std::string fmt(double v) {
  if (std::isnan(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", v);
  return buf;
}

}  // namespace

double roc_auc(const std::vector<float>& scores, const std::vector<int32_t>& y_true) {
  check_pair(scores, y_true);
  if (any_nan(scores)) return kNaN;
  const std::vector<size_t> idx = order_descending(scores);
  // Walk from the highest score down; each positive gains one for every negative below it and
  // one half for every negative tied with it.
  int64_t pos = 0, neg = 0;
  double u = 0;  // counts negatives scored above positives, inverted at the end
  size_t i = 0;
  while (i < idx.size()) {
    const float v = scores[idx[i]];
    int64_t gp = 0, gn = 0;
    while (i < idx.size() && scores[idx[i]] == v) {
      if (y_true[idx[i]] != 0) {
        ++gp;
      } else {
        ++gn;
      }
      ++i;
    }
    // Pairs (positive in this group, negative above or tied).
    u += static_cast<double>(gp) * (static_cast<double>(neg) + 0.5 * static_cast<double>(gn));
    pos += gp;
    neg += gn;
  }
  if (pos == 0 || neg == 0) return kNaN;
  const double pairs = static_cast<double>(pos) * static_cast<double>(neg);
  return (pairs - u) / pairs;
}

namespace {

// Cumulative (false positives, true positives) at each distinct score, highest score first:
// sklearn's _binary_clf_curve.
struct ClfCurve {
  std::vector<int64_t> fps, tps;
  std::vector<float> thresholds;
};

ClfCurve binary_clf_curve(const std::vector<float>& scores, const std::vector<int32_t>& y_true) {
  check_pair(scores, y_true);
  if (any_nan(scores)) throw InvalidArgument("curve: expected finite scores, found NaN");
  const std::vector<size_t> idx = order_descending(scores);
  ClfCurve c;
  int64_t tp = 0, fp = 0;
  size_t i = 0;
  while (i < idx.size()) {
    const float v = scores[idx[i]];
    while (i < idx.size() && scores[idx[i]] == v) {
      if (y_true[idx[i]] != 0) {
        ++tp;
      } else {
        ++fp;
      }
      ++i;
    }
    c.fps.push_back(fp);
    c.tps.push_back(tp);
    c.thresholds.push_back(v);
  }
  return c;
}

}  // namespace

std::vector<CurvePoint> roc_curve(const std::vector<float>& scores,
                                  const std::vector<int32_t>& y_true) {
  const ClfCurve c = binary_clf_curve(scores, y_true);
  const int64_t P = c.tps.empty() ? 0 : c.tps.back(), N = c.fps.empty() ? 0 : c.fps.back();
  if (P == 0 || N == 0) {
    throw InvalidArgument("roc_curve: expected both classes among the examples, found " +
                          std::to_string(P) + " positive and " + std::to_string(N) + " negative");
  }
  std::vector<CurvePoint> out;
  out.reserve(c.tps.size() + 1);
  out.push_back({0.0, 0.0, std::numeric_limits<double>::infinity()});
  for (size_t k = 0; k < c.tps.size(); ++k) {
    out.push_back({static_cast<double>(c.fps[k]) / static_cast<double>(N),
                   static_cast<double>(c.tps[k]) / static_cast<double>(P), c.thresholds[k]});
  }
  return out;
}

std::vector<CurvePoint> precision_recall_curve(const std::vector<float>& scores,
                                               const std::vector<int32_t>& y_true) {
  const ClfCurve c = binary_clf_curve(scores, y_true);
  const int64_t P = c.tps.empty() ? 0 : c.tps.back();
  if (P == 0) throw InvalidArgument("precision_recall_curve: expected a positive, found none");
  std::vector<CurvePoint> out;
  out.reserve(c.tps.size() + 1);
  for (size_t k = c.tps.size(); k-- > 0;) {
    const double pred_pos = static_cast<double>(c.tps[k] + c.fps[k]);
    out.push_back({static_cast<double>(c.tps[k]) / static_cast<double>(P),
                   static_cast<double>(c.tps[k]) / pred_pos, c.thresholds[k]});
  }
  out.push_back({0.0, 1.0, std::numeric_limits<double>::infinity()});
  return out;
}

double average_precision(const std::vector<float>& scores, const std::vector<int32_t>& y_true) {
  check_pair(scores, y_true);
  if (any_nan(scores)) return kNaN;
  // sum over distinct thresholds of (R_k - R_{k-1}) P_k, on the points of the PR curve
  const ClfCurve c = binary_clf_curve(scores, y_true);
  const int64_t pos = c.tps.empty() ? 0 : c.tps.back();
  if (pos == 0) return kNaN;
  double ap = 0, prev_recall = 0;
  for (size_t k = 0; k < c.tps.size(); ++k) {
    const double recall = static_cast<double>(c.tps[k]) / static_cast<double>(pos);
    const double precision =
        static_cast<double>(c.tps[k]) / static_cast<double>(c.tps[k] + c.fps[k]);
    ap += (recall - prev_recall) * precision;
    prev_recall = recall;
  }
  return ap;
}

std::vector<int32_t> predict_labels(const MetricInput& in, const std::vector<float>& thresholds) {
  const int64_t n = checked_examples(in);
  const int32_t L = in.num_labels;
  std::vector<int32_t> pred;
  if (!in.multilabel) {
    if (L == 2 && thresholds.size() > 1) {
      throw ConfigError("thresholds: expected at most one threshold for binary data, found " +
                        std::to_string(thresholds.size()));
    }
    pred.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const float* p = &in.scores[i * L];
      if (L == 2 && thresholds.size() == 1) {
        pred[i] = p[1] >= thresholds[0] ? 1 : 0;
      } else {
        pred[i] = static_cast<int32_t>(std::max_element(p, p + L) - p);
      }
    }
    return pred;
  }
  if (!thresholds.empty() && thresholds.size() != static_cast<size_t>(L)) {
    throw ConfigError("thresholds: expected " + std::to_string(L) +
                      " thresholds (one per label), found " + std::to_string(thresholds.size()));
  }
  pred.resize(in.scores.size());
  for (int64_t i = 0; i < n; ++i) {
    for (int32_t l = 0; l < L; ++l) {
      const float t = thresholds.empty() ? 0.5f : thresholds[l];
      pred[i * L + l] = in.scores[i * L + l] >= t ? 1 : 0;
    }
  }
  return pred;
}

std::vector<float> choose_thresholds(const MetricInput& in) {
  const int64_t n = checked_examples(in);
  if (!in.multilabel) {
    if (in.num_labels != 2) return {};
    auto macro_f1 = [](int64_t tp, int64_t fp, int64_t fn, int64_t tn) {
      // Class 1 counts are (tp, fp, fn); class 0 sees them mirrored: (tn, fn, fp).
      return 0.5 * (f1_of(Counts{tp, fp, fn}) + f1_of(Counts{tn, fn, fp}));
    };
    return {best_threshold(score_column(in, n, 1), truth_column(in, n, 1), macro_f1)};
  }
  auto f1 = [](int64_t tp, int64_t fp, int64_t fn, int64_t) { return f1_of(Counts{tp, fp, fn}); };
  std::vector<float> t;
  for (int32_t l = 0; l < in.num_labels; ++l) {
    t.push_back(best_threshold(score_column(in, n, l), truth_column(in, n, l), f1));
  }
  return t;
}

EvalReport evaluate(const MetricInput& in, const std::vector<float>& thresholds,
                    const std::vector<std::string>& label_names) {
  const int64_t n = checked_examples(in);
  const int32_t L = in.num_labels;
  if (label_names.size() != static_cast<size_t>(L)) {
    throw ConfigError("metrics: expected " + std::to_string(L) + " label names, found " +
                      std::to_string(label_names.size()));
  }
  const std::vector<int32_t> pred = predict_labels(in, thresholds);
  const std::vector<int32_t> pred05 = predict_labels(in, {});
  const std::vector<Counts> counts = count_predictions(in, n, pred);
  const std::vector<Counts> counts05 = count_predictions(in, n, pred05);

  EvalReport r;
  r.examples = n;
  r.thresholds = thresholds;
  std::vector<double> aucs, aps;
  double f1_sum = 0, f1_sum05 = 0, weighted = 0;
  int64_t support_sum = 0;
  for (int32_t l = 0; l < L; ++l) {
    const std::vector<float> s = score_column(in, n, l);
    const std::vector<int32_t> y = truth_column(in, n, l);
    LabelMetrics m;
    m.name = label_names[l];
    m.roc_auc = roc_auc(s, y);
    m.pr_auc = average_precision(s, y);
    m.precision = precision_of(counts[l]);
    m.recall = recall_of(counts[l]);
    m.f1 = f1_of(counts[l]);
    m.support = counts[l].tp + counts[l].fn;
    aucs.push_back(m.roc_auc);
    aps.push_back(m.pr_auc);
    f1_sum += m.f1;
    f1_sum05 += f1_of(counts05[l]);
    weighted += m.f1 * static_cast<double>(m.support);
    support_sum += m.support;
    r.per_label.push_back(m);
  }
  if (!in.multilabel && L == 2) {
    r.roc_auc = r.per_label[1].roc_auc;
    r.pr_auc = r.per_label[1].pr_auc;
  } else {
    r.roc_auc = nan_mean(aucs);
    r.pr_auc = nan_mean(aps);
  }
  r.accuracy = accuracy_of(in, n, pred);
  r.macro_f1 = f1_sum / L;
  r.macro_f1_at_05 = f1_sum05 / L;
  r.weighted_f1 = support_sum > 0 ? weighted / static_cast<double>(support_sum) : 0.0;
  return r;
}

std::string report_to_json(const EvalReport& r) {
  nlohmann::ordered_json j;
  j["examples"] = r.examples;
  j["roc_auc"] = number(r.roc_auc);
  j["pr_auc"] = number(r.pr_auc);
  j["accuracy"] = number(r.accuracy);
  j["macro_f1"] = number(r.macro_f1);
  j["macro_f1_at_0.5"] = number(r.macro_f1_at_05);
  j["weighted_f1"] = number(r.weighted_f1);
  j["thresholds"] = nlohmann::ordered_json::array();
  for (float t : r.thresholds) j["thresholds"].push_back(float_number(t));
  j["per_label"] = nlohmann::ordered_json::array();
  for (const LabelMetrics& m : r.per_label) {
    nlohmann::ordered_json o;
    o["name"] = m.name;
    o["roc_auc"] = number(m.roc_auc);
    o["pr_auc"] = number(m.pr_auc);
    o["precision"] = number(m.precision);
    o["recall"] = number(m.recall);
    o["f1"] = number(m.f1);
    o["support"] = m.support;
    j["per_label"].push_back(std::move(o));
  }
  // Label names are arbitrary bytes: replace invalid UTF-8 rather than throw.
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string report_to_text(const EvalReport& r) {
  std::string out;
  auto line = [&out](const std::string& k, const std::string& v) {
    char buf[256];
    std::snprintf(buf, sizeof(buf), "%-16s %s\n", k.c_str(), v.c_str());
    out += buf;
  };
  line("examples", std::to_string(r.examples));
  line("roc_auc", fmt(r.roc_auc));
  line("pr_auc", fmt(r.pr_auc));
  line("accuracy", fmt(r.accuracy));
  line("macro_f1", fmt(r.macro_f1));
  line("macro_f1@0.5", fmt(r.macro_f1_at_05));
  line("weighted_f1", fmt(r.weighted_f1));
  if (!r.thresholds.empty()) {
    std::string t;
    for (size_t i = 0; i < r.thresholds.size(); ++i) {
      if (i > 0) t += " ";
      t += fmt(r.thresholds[i]);
    }
    line("thresholds", t);
  }
  size_t width = 5;
  for (const LabelMetrics& m : r.per_label) width = std::max(width, m.name.size());
  width = std::min<size_t>(width, 40);
  char buf[512];
  std::snprintf(buf, sizeof(buf), "\n%-*s %8s %8s %9s %8s %8s %8s\n", static_cast<int>(width),
                "label", "roc_auc", "pr_auc", "precision", "recall", "f1", "support");
  out += buf;
  for (const LabelMetrics& m : r.per_label) {
    const std::string name = m.name.size() > width ? m.name.substr(0, width) : m.name;
    std::snprintf(buf, sizeof(buf), "%-*s %8s %8s %9s %8s %8s %8lld\n", static_cast<int>(width),
                  name.c_str(), fmt(m.roc_auc).c_str(), fmt(m.pr_auc).c_str(),
                  fmt(m.precision).c_str(), fmt(m.recall).c_str(), fmt(m.f1).c_str(),
                  static_cast<long long>(m.support));
    out += buf;
  }
  return out;
}

}  // namespace bytelite

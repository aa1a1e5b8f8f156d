// Metrics against scikit-learn (tests/golden/metrics_golden.json, made by
// scripts/make_metrics_golden.py), threshold choice against brute force, and the JSON report.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/metrics.h"

namespace bytelite {
namespace {

constexpr double kTol = 1e-9;

nlohmann::json load_golden() {
  const std::string path = std::string(BYTELITE_SOURCE_DIR) + "/tests/golden/metrics_golden.json";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

MetricInput input_from(const nlohmann::json& c) {
  MetricInput in;
  in.multilabel = c.at("multilabel").get<bool>();
  in.num_labels = c.at("num_labels").get<int32_t>();
  in.target_threshold = c.at("target_threshold").get<float>();
  for (double v : c.at("scores")) in.scores.push_back(static_cast<float>(v));
  if (in.multilabel) {
    for (double v : c.at("targets")) in.targets.push_back(static_cast<float>(v));
  } else {
    in.labels = c.at("labels").get<std::vector<int32_t>>();
  }
  return in;
}

std::vector<std::string> names(int32_t n) {
  std::vector<std::string> v;
  for (int32_t i = 0; i < n; ++i) v.push_back("label" + std::to_string(i));
  return v;
}

void expect_near(double actual, const nlohmann::json& expected, const std::string& what) {
  EXPECT_NEAR(actual, expected.get<double>(), kTol) << what;
}

TEST(MetricsGolden, MatchesScikitLearn) {
  const nlohmann::json golden = load_golden();
  ASSERT_GE(golden.at("cases").size(), 6u);
  for (const nlohmann::json& c : golden.at("cases")) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name);
    const MetricInput in = input_from(c);
    const std::vector<float> thresholds = c.at("thresholds").get<std::vector<float>>();
    const EvalReport r = evaluate(in, thresholds, names(in.num_labels));
    const nlohmann::json& e = c.at("expected");
    const int64_t n = static_cast<int64_t>(in.scores.size()) / in.num_labels;
    EXPECT_EQ(r.examples, n);
    expect_near(r.roc_auc, e.at("roc_auc"), "roc_auc");
    expect_near(r.pr_auc, e.at("pr_auc"), "pr_auc");
    expect_near(r.accuracy, e.at("accuracy"), "accuracy");
    expect_near(r.macro_f1, e.at("macro_f1"), "macro_f1");
    expect_near(r.macro_f1_at_05, e.at("macro_f1_at_0.5"), "macro_f1_at_0.5");
    expect_near(r.weighted_f1, e.at("weighted_f1"), "weighted_f1");
    EXPECT_EQ(r.thresholds, thresholds);
    ASSERT_EQ(r.per_label.size(), e.at("per_label").size());
    for (size_t l = 0; l < r.per_label.size(); ++l) {
      SCOPED_TRACE("label " + std::to_string(l));
      const LabelMetrics& m = r.per_label[l];
      const nlohmann::json& el = e.at("per_label")[l];
      EXPECT_EQ(m.name, "label" + std::to_string(l));
      expect_near(m.roc_auc, el.at("roc_auc"), "roc_auc");
      expect_near(m.pr_auc, el.at("pr_auc"), "pr_auc");
      expect_near(m.precision, el.at("precision"), "precision");
      expect_near(m.recall, el.at("recall"), "recall");
      expect_near(m.f1, el.at("f1"), "f1");
      EXPECT_EQ(m.support, el.at("support").get<int64_t>());
      // The lower-level functions on the one-vs-rest column give the same numbers.
      std::vector<float> s;
      std::vector<int32_t> y;
      for (int64_t i = 0; i < n; ++i) {
        s.push_back(in.scores[i * in.num_labels + l]);
        y.push_back(in.multilabel ? in.targets[i * in.num_labels + l] >= in.target_threshold
                                  : in.labels[i] == static_cast<int32_t>(l));
      }
      expect_near(roc_auc(s, y), el.at("roc_auc"), "roc_auc()");
      expect_near(average_precision(s, y), el.at("pr_auc"), "average_precision()");
    }
  }
}

// ---- small hand-checked cases ----

TEST(Metrics, RocAucHandCases) {
  EXPECT_DOUBLE_EQ(roc_auc({0.1f, 0.2f, 0.8f, 0.9f}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc({0.9f, 0.8f, 0.2f, 0.1f}, {0, 0, 1, 1}), 0.0);
  EXPECT_DOUBLE_EQ(roc_auc({0.5f, 0.5f, 0.5f, 0.5f}, {0, 1, 0, 1}), 0.5);
  // One tie between a positive and a negative counts 1/2: pairs (p=0.5 vs n=0.5) -> 0.5,
  // (p=0.5 vs n=0.1) -> 1, (p=0.9 vs both) -> 2. U = 3.5 of 4.
  EXPECT_DOUBLE_EQ(roc_auc({0.1f, 0.5f, 0.5f, 0.9f}, {0, 0, 1, 1}), 3.5 / 4.0);
  EXPECT_TRUE(std::isnan(roc_auc({0.1f, 0.2f}, {1, 1})));
  EXPECT_TRUE(std::isnan(roc_auc({0.1f, 0.2f}, {0, 0})));
  EXPECT_TRUE(std::isnan(roc_auc({}, {})));
  EXPECT_THROW(roc_auc({0.1f}, {0, 1}), ConfigError);
}

TEST(Metrics, AveragePrecisionHandCases) {
  EXPECT_DOUBLE_EQ(average_precision({0.1f, 0.2f, 0.8f, 0.9f}, {0, 0, 1, 1}), 1.0);
  // Ranking: 0.9 (+), 0.8 (-), 0.2 (+): AP = 0.5 * 1 + 0.5 * 2/3.
  EXPECT_DOUBLE_EQ(average_precision({0.9f, 0.8f, 0.2f}, {1, 0, 1}), 0.5 + 0.5 * 2.0 / 3.0);
  // All tied: one threshold, precision = prevalence.
  EXPECT_DOUBLE_EQ(average_precision({0.3f, 0.3f, 0.3f, 0.3f}, {1, 0, 0, 0}), 0.25);
  EXPECT_TRUE(std::isnan(average_precision({0.1f, 0.2f}, {0, 0})));
}

TEST(Metrics, PredictLabelsRules) {
  MetricInput bin;
  bin.num_labels = 2;
  bin.scores = {0.6f, 0.4f, 0.5f, 0.5f, 0.2f, 0.8f};
  bin.labels = {0, 1, 1};
  EXPECT_EQ(predict_labels(bin, {}), std::vector<int32_t>({0, 0, 1}));      // argmax, tie -> 0
  EXPECT_EQ(predict_labels(bin, {0.5f}), std::vector<int32_t>({0, 1, 1}));  // p1 >= t
  EXPECT_EQ(predict_labels(bin, {0.9f}), std::vector<int32_t>({0, 0, 0}));
  EXPECT_THROW(predict_labels(bin, {0.5f, 0.5f}), ConfigError);

  MetricInput multi;
  multi.num_labels = 3;
  multi.scores = {0.2f, 0.4f, 0.4f, 0.7f, 0.2f, 0.1f};
  multi.labels = {1, 0};
  EXPECT_EQ(predict_labels(multi, {}), std::vector<int32_t>({1, 0}));

  MetricInput ml;
  ml.multilabel = true;
  ml.num_labels = 2;
  ml.scores = {0.5f, 0.49f, 0.9f, 0.1f};
  ml.targets = {1, 0, 0.5f, 0};
  EXPECT_EQ(predict_labels(ml, {}), std::vector<int32_t>({1, 0, 1, 0}));
  EXPECT_EQ(predict_labels(ml, {0.6f, 0.05f}), std::vector<int32_t>({0, 1, 1, 1}));
  EXPECT_THROW(predict_labels(ml, {0.5f}), ConfigError);
}

TEST(Metrics, EvaluateRejectsInconsistentSizes) {
  MetricInput in;
  in.num_labels = 2;
  in.scores = {0.1f, 0.9f, 0.3f};
  in.labels = {1, 0};
  EXPECT_THROW(evaluate(in, {}, names(2)), ConfigError);
  in.scores.push_back(0.7f);
  EXPECT_NO_THROW(evaluate(in, {}, names(2)));
  EXPECT_THROW(evaluate(in, {}, names(3)), ConfigError);
  in.labels = {1, 2};
  EXPECT_THROW(evaluate(in, {}, names(2)), ConfigError);
  MetricInput ml;
  ml.multilabel = true;
  ml.num_labels = 2;
  ml.scores = {0.1f, 0.9f};
  ml.targets = {1};
  EXPECT_THROW(evaluate(ml, {}, names(2)), ConfigError);
}

// ---- choose_thresholds against brute force ----

double f1(int64_t tp, int64_t fp, int64_t fn) {
  return tp == 0 ? 0.0 : 2.0 * tp / (2.0 * tp + fp + fn);
}

// F1 of "positive iff s >= t" (per_class: macro over both classes of a binary problem).
double brute_f1(const std::vector<float>& s, const std::vector<int32_t>& y, float t, bool macro) {
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool p = s[i] >= t;
    tp += p && y[i];
    fp += p && !y[i];
    fn += !p && y[i];
    tn += !p && !y[i];
  }
  return macro ? 0.5 * (f1(tp, fp, fn) + f1(tn, fn, fp)) : f1(tp, fp, fn);
}

// Best F1 over every midpoint between distinct sorted scores.
double brute_best(const std::vector<float>& s, const std::vector<int32_t>& y, bool macro) {
  std::set<float> distinct(s.begin(), s.end());
  std::vector<float> v(distinct.begin(), distinct.end());
  double best = -1;
  for (size_t i = 0; i + 1 < v.size(); ++i) {
    // Any t in (v[i], v[i+1]] gives the same split; v[i+1] itself is one.
    best = std::max(best, brute_f1(s, y, v[i + 1], macro));
  }
  return best;
}

// The threshold splits between two distinct scores (a midpoint candidate).
void expect_candidate(const std::vector<float>& s, float t) {
  const float lo = *std::min_element(s.begin(), s.end());
  const float hi = *std::max_element(s.begin(), s.end());
  EXPECT_GT(t, lo);
  EXPECT_LE(t, hi);
}

TEST(ChooseThresholds, BinaryMaximizesMacroF1) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    const int n = 2 + static_cast<int>(rng() % 40);
    MetricInput in;
    in.num_labels = 2;
    std::vector<float> p1;
    std::vector<int32_t> y;
    for (int i = 0; i < n; ++i) {
      const int32_t label = static_cast<int32_t>(rng() % 3 == 0);
      // Coarse scores: many ties.
      const float p = std::round((0.3f * label + (rng() % 1000) / 1000.0f * 0.7f) * 10) / 10;
      in.scores.push_back(1 - p);
      in.scores.push_back(p);
      in.labels.push_back(label);
      p1.push_back(p);
      y.push_back(label);
    }
    const std::vector<float> t = choose_thresholds(in);
    ASSERT_EQ(t.size(), 1u);
    if (std::set<float>(p1.begin(), p1.end()).size() < 2) {
      EXPECT_EQ(t[0], 0.5f);
      continue;
    }
    expect_candidate(p1, t[0]);
    EXPECT_NEAR(brute_f1(p1, y, t[0], true), brute_best(p1, y, true), 1e-12) << "trial " << trial;
    // evaluate() agrees on the macro-F1 at that threshold.
    EXPECT_NEAR(evaluate(in, t, names(2)).macro_f1, brute_f1(p1, y, t[0], true), 1e-12);
  }
}

TEST(ChooseThresholds, MultiLabelMaximizesEachLabelsF1) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 100; ++trial) {
    const int n = 3 + static_cast<int>(rng() % 30);
    const int L = 3;
    MetricInput in;
    in.multilabel = true;
    in.num_labels = L;
    for (int i = 0; i < n; ++i) {
      for (int l = 0; l < L; ++l) {
        const float target = static_cast<float>(rng() % 4) / 3.0f;  // 0, 1/3, 2/3, 1
        in.targets.push_back(target);
        in.scores.push_back(std::round((0.4f * target + (rng() % 1000) / 1000.0f * 0.6f) * 20) /
                            20);
      }
    }
    const std::vector<float> t = choose_thresholds(in);
    ASSERT_EQ(t.size(), static_cast<size_t>(L));
    for (int l = 0; l < L; ++l) {
      std::vector<float> s;
      std::vector<int32_t> y;
      for (int i = 0; i < n; ++i) {
        s.push_back(in.scores[i * L + l]);
        y.push_back(in.targets[i * L + l] >= 0.5f);
      }
      if (std::set<float>(s.begin(), s.end()).size() < 2) continue;
      expect_candidate(s, t[l]);
      EXPECT_NEAR(brute_f1(s, y, t[l], false), brute_best(s, y, false), 1e-12)
          << "trial " << trial << " label " << l;
    }
  }
}

TEST(ChooseThresholds, MultiClassUsesArgmaxAndDegenerateCases) {
  MetricInput mc;
  mc.num_labels = 3;
  mc.scores = {0.2f, 0.5f, 0.3f, 0.6f, 0.3f, 0.1f};
  mc.labels = {1, 0};
  EXPECT_TRUE(choose_thresholds(mc).empty());

  MetricInput same;
  same.num_labels = 2;
  same.scores = {0.5f, 0.5f, 0.5f, 0.5f};
  same.labels = {0, 1};
  EXPECT_EQ(choose_thresholds(same), std::vector<float>({0.5f}));

  // Perfectly separable: threshold between the classes, F1 = 1.
  MetricInput sep;
  sep.num_labels = 2;
  sep.scores = {0.9f, 0.1f, 0.8f, 0.2f, 0.3f, 0.7f, 0.4f, 0.6f};
  sep.labels = {0, 0, 1, 1};
  const std::vector<float> t = choose_thresholds(sep);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_GT(t[0], 0.2f);
  EXPECT_LE(t[0], 0.6f);
  EXPECT_DOUBLE_EQ(evaluate(sep, t, names(2)).macro_f1, 1.0);

  // Adjacent floats: the midpoint must still separate them.
  const float a = 0.3f;
  const float b = std::nextafter(a, 1.0f);
  MetricInput adj;
  adj.num_labels = 2;
  adj.scores = {1 - a, a, 1 - b, b};
  adj.labels = {0, 1};
  const std::vector<float> ta = choose_thresholds(adj);
  EXPECT_GT(ta[0], a);
  EXPECT_LE(ta[0], b);
}

// ---- JSON report ----

TEST(Report, JsonHasTheDocumentedKeys) {
  const nlohmann::json golden = load_golden();
  for (const nlohmann::json& c : golden.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const MetricInput in = input_from(c);
    const std::vector<float> t = choose_thresholds(in);
    const nlohmann::json j =
        nlohmann::json::parse(report_to_json(evaluate(in, t, names(in.num_labels))));
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(keys, std::vector<std::string>({"accuracy", "examples", "macro_f1", "macro_f1_at_0.5",
                                              "per_label", "pr_auc", "roc_auc", "thresholds",
                                              "weighted_f1"}));
    EXPECT_TRUE(j.at("examples").is_number_integer());
    for (const char* k :
         {"roc_auc", "pr_auc", "accuracy", "macro_f1", "macro_f1_at_0.5", "weighted_f1"}) {
      ASSERT_TRUE(j.at(k).is_number()) << k;
      EXPECT_GE(j.at(k).get<double>(), 0.0) << k;
      EXPECT_LE(j.at(k).get<double>(), 1.0) << k;
    }
    EXPECT_EQ(j.at("thresholds").size(), t.size());
    for (size_t i = 0; i < t.size(); ++i) {
      EXPECT_EQ(j.at("thresholds")[i].get<float>(), t[i]);
    }
    ASSERT_EQ(j.at("per_label").size(), static_cast<size_t>(in.num_labels));
    for (const nlohmann::json& m : j.at("per_label")) {
      EXPECT_TRUE(m.at("name").is_string());
      EXPECT_TRUE(m.at("support").is_number_integer());
      for (const char* k : {"roc_auc", "pr_auc", "precision", "recall", "f1"}) {
        ASSERT_TRUE(m.at(k).is_number()) << k;
        EXPECT_GE(m.at(k).get<double>(), 0.0) << k;
        EXPECT_LE(m.at(k).get<double>(), 1.0) << k;
      }
    }
  }
}

TEST(Report, NanBecomesNull) {
  MetricInput in;
  in.num_labels = 2;
  in.scores = {0.9f, 0.1f, 0.8f, 0.2f};
  in.labels = {0, 0};  // one class only: AUC and AP of class 1 undefined
  const EvalReport r = evaluate(in, {0.5f}, {"neg", "pos"});
  EXPECT_TRUE(std::isnan(r.roc_auc));
  const nlohmann::json j = nlohmann::json::parse(report_to_json(r));
  EXPECT_TRUE(j.at("roc_auc").is_null());
  EXPECT_TRUE(j.at("pr_auc").is_null());
  EXPECT_TRUE(j.at("per_label")[1].at("roc_auc").is_null());
  EXPECT_TRUE(j.at("per_label")[0].at("pr_auc").is_number());
  EXPECT_DOUBLE_EQ(j.at("accuracy").get<double>(), 1.0);
  EXPECT_EQ(j.at("thresholds")[0].get<double>(), 0.5);
  const std::string text = report_to_text(r);
  EXPECT_NE(text.find("n/a"), std::string::npos) << text;
  EXPECT_NE(text.find("pos"), std::string::npos) << text;
}

// ROC and precision-recall curves against scikit-learn's roc_curve(drop_intermediate=False) and
// precision_recall_curve (tests/golden/curves_golden.json, made by
// scripts/golden/make_curves_golden.py from the inputs of metrics_golden.json).
TEST(MetricsCurves, MatchScikitLearn) {
  const nlohmann::json inputs = load_golden();
  const std::string path = std::string(BYTELITE_SOURCE_DIR) + "/tests/golden/curves_golden.json";
  std::ifstream f(path);
  ASSERT_TRUE(f.good()) << "cannot open " << path;
  const nlohmann::json golden = nlohmann::json::parse(f);
  ASSERT_GE(golden.at("curves").size(), 15u);
  for (const nlohmann::json& g : golden.at("curves")) {
    const std::string name = g.at("case").get<std::string>();
    const int32_t c = g.at("label").get<int32_t>();
    const nlohmann::json* cs = nullptr;
    for (const nlohmann::json& k : inputs.at("cases")) {
      if (k.at("name") == name) cs = &k;
    }
    ASSERT_NE(cs, nullptr) << name;
    const MetricInput in = input_from(*cs);
    const int32_t L = in.num_labels;
    const size_t n = in.scores.size() / static_cast<size_t>(L);
    std::vector<float> s(n);
    std::vector<int32_t> y(n);
    for (size_t i = 0; i < n; ++i) {
      s[i] = in.scores[i * L + c];
      y[i] = in.multilabel ? (in.targets[i * L + c] >= in.target_threshold ? 1 : 0)
                           : (in.labels[i] == c ? 1 : 0);
    }
    const std::string what = name + " label " + std::to_string(c);
    for (const char* kind : {"roc", "pr"}) {
      const bool roc = std::string(kind) == "roc";
      const std::vector<CurvePoint> got = roc ? roc_curve(s, y) : precision_recall_curve(s, y);
      const nlohmann::json& want = g.at(kind);
      ASSERT_EQ(got.size(), want.size()) << what << " " << kind;
      for (size_t k = 0; k < got.size(); ++k) {
        EXPECT_NEAR(got[k].x, want[k][0].get<double>(), kTol) << what << " " << kind << " " << k;
        EXPECT_NEAR(got[k].y, want[k][1].get<double>(), kTol) << what << " " << kind << " " << k;
        if (want[k][2].is_null()) {
          EXPECT_TRUE(std::isinf(got[k].threshold)) << what << " " << kind << " " << k;
        } else {
          EXPECT_EQ(got[k].threshold, want[k][2].get<double>()) << what << " " << kind << " " << k;
        }
      }
    }
    // The trapezoidal area under the ROC curve is the ROC AUC (ties included).
    const std::vector<CurvePoint> r = roc_curve(s, y);
    double area = 0;
    for (size_t k = 1; k < r.size(); ++k) area += (r[k].x - r[k - 1].x) * (r[k].y + r[k - 1].y) / 2;
    EXPECT_NEAR(area, roc_auc(s, y), 1e-12) << what;
  }
}

TEST(MetricsCurves, RejectMissingClassAndNaN) {
  const std::vector<float> s = {0.1f, 0.7f, 0.4f};
  EXPECT_THROW(roc_curve(s, {1, 1, 1}), InvalidArgument);
  EXPECT_THROW(roc_curve(s, {0, 0, 0}), InvalidArgument);
  EXPECT_THROW(precision_recall_curve(s, {0, 0, 0}), InvalidArgument);
  EXPECT_NO_THROW(precision_recall_curve(s, {1, 1, 1}));
  EXPECT_THROW(roc_curve({0.1f, std::nanf(""), 0.3f}, {0, 1, 0}), InvalidArgument);
  EXPECT_THROW(roc_curve(s, {0, 1}), ConfigError);
}

}  // namespace
}  // namespace bytelite

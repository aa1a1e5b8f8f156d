// Classification metrics. Definitions follow scikit-learn so that golden tests can compare
// against values it computes (scripts/make_metrics_golden.py):
//  - ROC AUC: the Mann-Whitney U statistic / (n_pos * n_neg); tied scores count 1/2
//    (sklearn.metrics.roc_auc_score). NaN when only one class is present.
//  - PR AUC: average precision, sum_k (R_k - R_{k-1}) P_k over distinct score thresholds
//    (sklearn.metrics.average_precision_score). NaN when there are no positives.
//  - F1 per class, macro average (unweighted mean over classes) and support-weighted average.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bytelite {

/// Scores and ground truth for N examples and L labels.
/// Single-label (multilabel == false): scores[n*L + c] = softmax probability of class c,
///   labels[n] = true class in [0, L). L >= 2; binary is L == 2 with class 1 positive.
/// Multi-label: scores[n*L + l] = sigmoid probability of label l; targets[n*L + l] in [0, 1],
///   positive when targets >= target_threshold.
struct MetricInput {
  bool multilabel = false;
  int32_t num_labels = 2;
  std::vector<float> scores;
  std::vector<int32_t> labels;
  std::vector<float> targets;
  float target_threshold = 0.5f;
};

struct LabelMetrics {
  std::string name;
  double roc_auc = 0;    // one-vs-rest for single-label
  double pr_auc = 0;     // average precision, one-vs-rest
  double precision = 0;  // at the decision rule used by evaluate()
  double recall = 0;
  double f1 = 0;
  int64_t support = 0;  // number of positive (true) examples
};

struct EvalReport {
  int64_t examples = 0;
  double roc_auc = 0;         // binary: AUC of class 1; otherwise macro mean over labels
  double pr_auc = 0;          // same averaging as roc_auc
  double accuracy = 0;        // single-label: fraction correct; multi-label: exact-match ratio
  double macro_f1 = 0;        // at the given thresholds
  double macro_f1_at_05 = 0;  // at the default rule (argmax / p >= 0.5)
  double weighted_f1 = 0;     // support-weighted F1 at the given thresholds
  std::vector<float> thresholds;
  std::vector<LabelMetrics> per_label;  // at the given thresholds
};

/// Decision rule. Single-label with L == 2 and one threshold t: predict 1 iff p1 >= t.
/// Single-label otherwise (or no threshold): argmax (lowest index wins ties).
/// Multi-label: label l positive iff p_l >= thresholds[l] (0.5 when thresholds is empty).
std::vector<int32_t> predict_labels(const MetricInput& in, const std::vector<float>& thresholds);

/// Thresholds that maximize macro-F1 on (validation) data: binary single-label -> one value;
/// multi-class single-label -> empty (argmax); multi-label -> one per label maximizing that
/// label's F1. Candidate thresholds are midpoints between distinct sorted scores.
std::vector<float> choose_thresholds(const MetricInput& in);

/// Computes every metric. label_names.size() must equal num_labels. Throws ConfigError on
/// inconsistent sizes.
EvalReport evaluate(const MetricInput& in, const std::vector<float>& thresholds,
                    const std::vector<std::string>& label_names);

/// Lower-level pieces (exposed for tests). y_true values are 0/1.
double roc_auc(const std::vector<float>& scores, const std::vector<int32_t>& y_true);
double average_precision(const std::vector<float>& scores, const std::vector<int32_t>& y_true);

/// One point of a ROC or precision-recall curve; `threshold` is the score at or above which an
/// example counts as positive at that point.
struct CurvePoint {
  double x = 0;  // ROC: false-positive rate; PR: recall
  double y = 0;  // ROC: true-positive rate; PR: precision
  double threshold = 0;
};

/// ROC curve as sklearn.metrics.roc_curve(y_true, scores, drop_intermediate=False): one point
/// per distinct score, from the highest score down, after a first point (0, 0) at threshold
/// +infinity. Both classes must be present (else InvalidArgument); y_true values are 0/1.
std::vector<CurvePoint> roc_curve(const std::vector<float>& scores,
                                  const std::vector<int32_t>& y_true);

/// Precision-recall curve as sklearn.metrics.precision_recall_curve(y_true, scores) (1.2): one
/// point per distinct score in increasing order of threshold (so decreasing recall), then the
/// point (recall 0, precision 1) with threshold +infinity. Needs a positive (else
/// InvalidArgument).
std::vector<CurvePoint> precision_recall_curve(const std::vector<float>& scores,
                                               const std::vector<int32_t>& y_true);

/// JSON object with keys examples, roc_auc, pr_auc, accuracy, macro_f1, "macro_f1_at_0.5",
/// weighted_f1, thresholds, per_label (array of objects with the LabelMetrics fields).
std::string report_to_json(const EvalReport& r);
/// Human-readable multi-line table.
std::string report_to_text(const EvalReport& r);

}  // namespace bytelite

#include "core/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "bytelite/classifier.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "core/svg_chart.h"

namespace bytelite {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Each figure's first series has a color no other figure uses (the rendering test looks for it).
constexpr const char* kLossColor = "#1f77b4";
constexpr const char* kLrColor = "#ff7f0e";
constexpr const char* kMetricColor = "#2ca02c";
constexpr const char* kRocColor = "#d62728";
constexpr const char* kPrColor = "#9467bd";
constexpr const char* kMatrixColor = "#17becf";
constexpr const char* kLengthColor = "#8c564b";
constexpr const char* kPeerColors[] = {"#e377c2", "#7f7f7f", "#bcbd22", "#393b79",
                                       "#637939", "#8c6d31", "#843c39", "#7b4173"};
constexpr const char* kOtherColors[] = {"#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
                                        "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"};

bool is_file(const std::string& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}

// A JSON file, or null when it does not exist.
nlohmann::json read_json(const std::string& path) {
  if (!is_file(path)) return nullptr;
  std::ifstream in(path);
  if (!in) throw InputError(path + ": expected a readable JSON file, found an unreadable file");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": expected JSON, found a parse error (" + std::string(e.what()) + ")");
  }
}

double num(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return kNaN;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : kNaN;
}

std::string str(const nlohmann::json& j, const char* key, const std::string& fallback = "") {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

std::vector<TrainingPoint> read_log(const std::string& path, const std::string& metric,
                                    bool seq2seq) {
  std::vector<TrainingPoint> out;
  if (!is_file(path)) return out;
  std::ifstream in(path);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      throw InputError(path + ":" + std::to_string(n) +
                       ": expected one JSON object per line, found a line that does not parse");
    }
    if (!j.is_object() || !j.contains("step") || !j["step"].is_number_integer()) {
      throw InputError(path + ":" + std::to_string(n) +
                       ": expected a record with an integer \"step\", found " +
                       j.dump().substr(0, 60));
    }
    TrainingPoint p;
    p.step = j["step"].get<int64_t>();
    p.train_loss = num(j, "train_loss");
    p.lr = num(j, "lr");
    p.metric = seq2seq ? num(j, metric.c_str())
                       : (j.contains("valid") ? num(j["valid"], metric.c_str()) : kNaN);
    out.push_back(p);
  }
  return out;
}

std::string fixed(double v, int decimals = 4) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string bytes_text(int64_t b) {
  if (b < 0) return "n/a";
  char buf[64];
  if (b >= 1 << 20) {
    std::snprintf(buf, sizeof buf, "%.2f MB (%lld bytes)", static_cast<double>(b) / (1 << 20),
                  static_cast<long long>(b));
  } else if (b >= 1 << 10) {
    std::snprintf(buf, sizeof buf, "%.1f KB (%lld bytes)", static_cast<double>(b) / (1 << 10),
                  static_cast<long long>(b));
  } else {
    std::snprintf(buf, sizeof buf, "%lld bytes", static_cast<long long>(b));
  }
  return buf;
}

std::string row(const std::string& k, const std::string& v) {
  return "<tr><th>" + svg::escape(k) + "</th><td>" + svg::escape(v) + "</td></tr>\n";
}

std::string figure(const std::string& svg_text, const std::string& caption) {
  return "<figure>" + svg_text + "<figcaption>" + svg::escape(caption) + "</figcaption></figure>\n";
}

// Binary truth of label l for every example.
std::vector<int32_t> truth_of(const ModelEvalResult& e, int32_t L, int32_t l, bool multilabel) {
  const size_t n = e.probabilities.size() / static_cast<size_t>(L);
  std::vector<int32_t> y(n);
  for (size_t i = 0; i < n; ++i) {
    y[i] = multilabel ? (e.targets[i * L + l] >= 0.5f ? 1 : 0) : (e.labels[i] == l ? 1 : 0);
  }
  return y;
}

std::vector<float> column(const ModelEvalResult& e, int32_t L, int32_t l) {
  const size_t n = e.probabilities.size() / static_cast<size_t>(L);
  std::vector<float> s(n);
  for (size_t i = 0; i < n; ++i) s[i] = e.probabilities[i * L + l];
  return s;
}

// (FPR, TPR, precision, recall) when predicting positive iff score >= t.
struct Operating {
  double fpr = kNaN, tpr = kNaN, precision = kNaN, recall = kNaN;
};
Operating operating_point(const std::vector<float>& s, const std::vector<int32_t>& y, float t) {
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool pos = s[i] >= t;
    if (y[i] != 0) {
      pos ? ++tp : ++fn;
    } else {
      pos ? ++fp : ++tn;
    }
  }
  Operating o;
  if (fp + tn > 0) o.fpr = static_cast<double>(fp) / static_cast<double>(fp + tn);
  if (tp + fn > 0) o.tpr = o.recall = static_cast<double>(tp) / static_cast<double>(tp + fn);
  if (tp + fp > 0) o.precision = static_cast<double>(tp) / static_cast<double>(tp + fp);
  return o;
}

struct PeerStats {
  double mean = kNaN, lo = kNaN, hi = kNaN;
  int runs = 0;
};
PeerStats peer_stats(const nlohmann::json& model, const char* key) {
  PeerStats p;
  if (!model.is_object() || !model.contains("runs") || !model["runs"].is_array()) return p;
  double sum = 0;
  for (const auto& r : model["runs"]) {
    const double v = num(r, key);
    if (!std::isfinite(v)) continue;
    sum += v;
    p.lo = p.runs == 0 ? v : std::min(p.lo, v);
    p.hi = p.runs == 0 ? v : std::max(p.hi, v);
    ++p.runs;
  }
  if (p.runs > 0) p.mean = sum / p.runs;
  return p;
}

constexpr const char* kCss = R"css(
body{font-family:sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px;margin-bottom:2px} h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
.sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.figs{display:flex;flex-wrap:wrap;gap:14px}
figure{margin:0;border:1px solid #e3e3e3;padding:6px;background:#fff}
figcaption{font-size:12px;color:#555;max-width:460px;margin-top:4px}
.note{color:#666;font-size:13px}
code{background:#f3f3f3;padding:0 3px}
)css";

}  // namespace

RunReport build_report(const ReportOptions& o) {
  if (o.threads < 1) {
    throw ConfigError("report: expected --threads >= 1, found " + std::to_string(o.threads));
  }
  if (o.samples < 0) {
    throw ConfigError("report: expected --samples >= 0, found " + std::to_string(o.samples));
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(o.run_dir, ec)) {
    throw InputError(o.run_dir +
                     ": expected a training output directory (bytelite train --out), found " +
                     (std::filesystem::exists(o.run_dir, ec) ? "a file" : "no such directory"));
  }
  RunReport r;
  r.options = o;
  const std::string dir = o.run_dir;
  r.summary = read_json(dir + "/summary.json");
  r.config = read_json(dir + "/config.json");
  const std::string model_path = o.model_path.empty() ? dir + "/model.blt" : o.model_path;
  std::shared_ptr<const Model> model;
  if (!o.model_path.empty() || is_file(model_path)) {
    model = Model::load(model_path);
    r.info = model->info();
    r.seq2seq = r.info.is_seq2seq();
  } else if (str(r.summary, "task") == "seq2seq") {
    r.seq2seq = true;
  }
  const std::string log_path = dir + "/train_log.jsonl";
  if (r.summary.is_null() && r.config.is_null() && !model && !is_file(log_path)) {
    throw InputError(dir +
                     ": expected a training output directory with summary.json, config.json, "
                     "train_log.jsonl or model.blt, found none of them");
  }
  r.metric = r.seq2seq ? "wer" : str(r.summary, "metric", "macro_f1");
  r.curve = read_log(log_path, r.metric, r.seq2seq);
  if (r.summary.is_object()) {
    if (r.summary.contains("best_step") && r.summary["best_step"].is_number_integer()) {
      r.best_step = r.summary["best_step"].get<int64_t>();
    } else if (r.summary.contains("valid") && r.summary["valid"].is_object()) {
      const double s = num(r.summary["valid"], "step");
      if (std::isfinite(s)) r.best_step = static_cast<int64_t>(s);
    }
  }
  if (!o.peers_path.empty()) {
    r.peers = read_json(o.peers_path);
    if (r.peers.is_null()) {
      throw InputError(o.peers_path + ": expected a peer benchmark result file, found none");
    }
    if (!r.peers.contains("results") || !r.peers["results"].is_object()) {
      throw InputError(o.peers_path +
                       ": expected a peer benchmark result (an object with \"results\"), found "
                       "other JSON");
    }
  }
  if (!o.data_path.empty()) {
    if (!model) {
      throw InputError(model_path + ": expected the int8 model to evaluate on " + o.data_path +
                       ", found none (train with QAT, or give --model)");
    }
    if (r.seq2seq) {
      r.seq2seq_eval =
          evaluate_seq2seq(model, model_path, o.data_path, o.gen, o.threads, false, o.quiet);
    } else {
      Classifier clf(model);
      r.eval = evaluate_model_file(clf, o.data_path, o.threads, false, o.quiet);
      r.eval->model_path = model_path;
    }
  }
  return r;
}

// The model card section.
std::string RunReport::card_html() const {
  std::string h;
  h += "<section id=\"card\">\n<h2>Model card</h2>\n<table>\n";
  if (!info.path.empty()) {
    h += row("architecture", info.architecture + " (encoder " + info.encoder + ")");
    h += row("int8 model file", bytes_text(info.file_bytes));
    h += row("float32 equivalent", bytes_text(info.float_bytes));
    h += row("parameters (int8 file)", std::to_string(info.parameter_count));
    if (info.trained_parameters > 0) {
      h += row("parameters (training model)", std::to_string(info.trained_parameters));
    }
    if (!seq2seq) {
      std::string labels, thresholds;
      for (const auto& l : info.labels) labels += (labels.empty() ? "" : ", ") + l;
      for (float t : info.thresholds) thresholds += (thresholds.empty() ? "" : ", ") + fixed(t);
      h += row("labels", labels + (info.multilabel ? " (multi-label)" : " (single-label)"));
      h += row("decision thresholds (chosen on validation)",
               thresholds.empty() ? "none (argmax)" : thresholds);
    }
    h += row("max input length", std::to_string(info.max_length) + " bytes");
    h += row("exported from",
             info.source_checkpoint + " (step " + std::to_string(info.training_step) + ")");
    h += row("format / producer", "v" + std::to_string(info.format_version) + ", " + info.producer);
  } else {
    h += row("int8 model file", "none in the run directory (trained without QAT?)");
  }
  if (summary.is_object()) {
    if (summary.contains("data") && summary["data"].is_object()) {
      for (const char* k : {"train", "valid"}) {
        const auto& d = summary["data"];
        if (!d.contains(k) || !d[k].is_object()) continue;
        h += row(
            std::string(k) + " data",
            str(d[k], "path") + " (" + bytes_text(static_cast<int64_t>(num(d[k], "bytes"))) + ")");
      }
    } else {
      h += row("training data", "not recorded by this run (runs before report support)");
    }
    const double secs = num(summary, "train_seconds");
    const double steps = num(summary, "steps");
    h +=
        row("training", (std::isfinite(steps) ? std::to_string(static_cast<int64_t>(steps)) : "?") +
                            " steps in " + fixed(secs, 1) + " s on " +
                            (summary.contains("threads") ? summary["threads"].dump() : "?") +
                            " thread(s); QAT " + (summary.value("qat", false) ? "on" : "off"));
    if (!seq2seq && summary.contains("best_valid_metric")) {
      h += row("chosen checkpoint", "step " + std::to_string(best_step) + ", validation " + metric +
                                        " " + fixed(num(summary, "best_valid_metric")));
    }
    if (summary.contains("init_from") && !str(summary, "init_from").empty()) {
      h += row("initialized from", str(summary, "init_from"));
    }
  }
  if (agreement.is_object()) {
    const double n = eval ? static_cast<double>(eval->report.examples) : kNaN;
    const double changed = num(agreement, "changed_predictions");
    h += row("QAT checkpoint vs int8 model (on the evaluation data)",
             "same prediction on " + fixed(100.0 * (1.0 - changed / n), 2) + "% of examples (" +
                 svg::number(changed, 6) + " differ); largest |probability difference| " +
                 fixed(num(agreement, "max_abs_prob_diff")) + ", mean " +
                 fixed(num(agreement, "mean_abs_prob_diff"), 5));
  } else {
    h += row("QAT checkpoint vs int8 model",
             "not measured (needs the checkpoint, the evaluation data and bytelite-train)");
  }
  if (eval && eval->classify_seconds > 0) {
    h += row("int8 speed (this evaluation)",
             fixed(static_cast<double>(eval->report.examples) / eval->classify_seconds, 0) +
                 " examples/s on " + std::to_string(eval->threads) + " thread(s), " + eval->isa +
                 " kernels");
  }
  if (seq2seq_eval) {
    h += row("int8 speed (this evaluation)",
             fixed(seq2seq_eval->words_per_second, 1) + " sources/s on " +
                 std::to_string(seq2seq_eval->threads) + " thread(s), beam " +
                 std::to_string(seq2seq_eval->used.beam_size));
  }
  h += "</table>\n</section>\n";
  return h;
}

// The training curves section.
std::string RunReport::training_html() const {
  std::string h;
  h += "<section id=\"training\">\n<h2>Training</h2>\n";
  if (curve.empty()) {
    h += "<p class=\"note\">No train_log.jsonl in the run directory.</p>\n";
  } else {
    std::vector<double> steps, loss, lr, met;
    for (const auto& p : curve) {
      steps.push_back(static_cast<double>(p.step));
      loss.push_back(p.train_loss);
      lr.push_back(p.lr);
      met.push_back(p.metric);
    }
    std::vector<svg::Rule> rules;
    if (best_step >= 0) rules.push_back({static_cast<double>(best_step), "chosen checkpoint"});
    h += "<div class=\"figs\">\n";
    svg::LineChart c;
    c.id = "fig-loss";
    c.title = "Training loss";
    c.x_label = "step";
    c.y_label = "loss";
    c.series = {{"train loss", kLossColor, steps, loss, true}};
    c.rules = rules;
    h += figure(c.svg(), "Mean training loss since the previous evaluation, at each evaluation.");
    // Seq2seq logs do not record the learning rate: no empty chart then.
    if (std::any_of(lr.begin(), lr.end(), [](double v) { return v > 0; })) {
      svg::LineChart l;
      l.id = "fig-lr";
      l.title = "Learning rate";
      l.x_label = "step";
      l.y_label = "learning rate";
      l.series = {{"learning rate", kLrColor, steps, lr, true}};
      l.rules = rules;
      h += figure(l.svg(), "Learning rate at each evaluation.");
    }
    svg::LineChart m;
    m.id = "fig-metric";
    m.title = "Validation " + metric;
    m.x_label = "step";
    m.y_label = metric;
    m.series = {{"validation " + metric, kMetricColor, steps, met, true}};
    m.rules = rules;
    h += figure(m.svg(), "Validation " + metric +
                             " at each evaluation; the dashed line marks the checkpoint the model "
                             "file was exported from.");
    h += "</div>\n";
  }
  h += "</section>\n";
  return h;
}

// The classifier evaluation section.
std::string RunReport::classifier_eval_html() const {
  std::string h;
  if (eval) {
    const EvalReport& rep = eval->report;
    const int32_t L = static_cast<int32_t>(info.labels.size());
    h += "<section id=\"evaluation\">\n<h2>Evaluation on " + svg::escape(eval->data_path) +
         "</h2>\n<table>\n";
    h += "<tr><th>examples</th><th>macro-F1</th><th>accuracy</th><th>ROC AUC</th><th>PR "
         "AUC</th><th>weighted F1</th><th>macro-F1 at 0.5</th></tr>\n";
    h += "<tr><td class=\"num\">" + std::to_string(rep.examples) + "</td><td class=\"num\">" +
         fixed(rep.macro_f1) + "</td><td class=\"num\">" + fixed(rep.accuracy) +
         "</td><td class=\"num\">" + fixed(rep.roc_auc) + "</td><td class=\"num\">" +
         fixed(rep.pr_auc) + "</td><td class=\"num\">" + fixed(rep.weighted_f1) +
         "</td><td class=\"num\">" + fixed(rep.macro_f1_at_05) + "</td></tr>\n</table>\n";
    std::string notes = eval_notes(eval->truncated, eval->max_length, eval->skipped_rows);
    if (!notes.empty()) h += "<p class=\"note\">" + svg::escape(notes) + "</p>\n";
    // Which labels get curves: binary single-label -> the positive class; else every label.
    std::vector<int32_t> curve_labels;
    if (!info.multilabel && L == 2) {
      curve_labels = {1};
    } else {
      for (int32_t l = 0; l < L && l < 10; ++l) curve_labels.push_back(l);
    }
    svg::LineChart roc, pr;
    roc.id = "fig-roc";
    roc.title = "ROC curve";
    roc.x_label = "false-positive rate";
    roc.y_label = "true-positive rate";
    roc.diagonal = roc.fixed_unit = true;
    pr.id = "fig-pr";
    pr.title = "Precision-recall curve";
    pr.x_label = "recall";
    pr.y_label = "precision";
    pr.fixed_unit = true;
    for (size_t k = 0; k < curve_labels.size(); ++k) {
      const int32_t l = curve_labels[k];
      const std::vector<int32_t> y = truth_of(*eval, L, l, info.multilabel);
      const std::vector<float> s = column(*eval, L, l);
      const bool has_pos = std::any_of(y.begin(), y.end(), [](int32_t v) { return v != 0; });
      const bool has_neg = std::any_of(y.begin(), y.end(), [](int32_t v) { return v == 0; });
      const std::string color = k == 0 ? kRocColor : kOtherColors[(k - 1) % 10];
      const std::string pcolor = k == 0 ? kPrColor : kOtherColors[(k - 1) % 10];
      const std::string name = info.labels[l] + " (AUC " + fixed(rep.per_label[l].roc_auc, 3) + ")";
      if (has_pos && has_neg) {
        svg::Series sr{name, color, {}, {}};
        for (const CurvePoint& p : roc_curve(s, y)) {
          sr.x.push_back(p.x);
          sr.y.push_back(p.y);
        }
        roc.series.push_back(sr);
      }
      if (has_pos) {
        svg::Series sp{
            info.labels[l] + " (AP " + fixed(rep.per_label[l].pr_auc, 3) + ")", pcolor, {}, {}};
        for (const CurvePoint& p : precision_recall_curve(s, y)) {
          sp.x.push_back(p.x);
          sp.y.push_back(p.y);
        }
        sp.step = true;
        pr.series.push_back(sp);
      }
      // The operating point at the model's threshold (binary / multi-label thresholds).
      float t = kNaN;
      if (!info.multilabel && L == 2 && info.thresholds.size() == 1) t = info.thresholds[0];
      if (info.multilabel) t = info.thresholds.empty() ? 0.5f : info.thresholds[l];
      if (std::isfinite(t) && has_pos && has_neg) {
        const Operating op = operating_point(s, y, t);
        roc.points.push_back({op.fpr, op.tpr, "threshold " + fixed(t, 3), color});
        pr.points.push_back({op.recall, op.precision, "threshold " + fixed(t, 3), pcolor});
      }
    }
    h += "<div class=\"figs\">\n";
    h += figure(roc.svg(),
                "One-vs-rest ROC curve" + std::string(curve_labels.size() > 1 ? "s" : "") +
                    "; the dot is the operating point at the model's decision threshold.");
    h += figure(pr.svg(),
                "Precision against recall; the dot is the operating point at the "
                "model's decision threshold.");
    // Confusion matrix (single-label) or one 2x2 matrix per label (multi-label).
    MetricInput in;
    in.multilabel = info.multilabel;
    in.num_labels = L;
    in.scores = eval->probabilities;
    in.labels = eval->labels;
    in.targets = eval->targets;
    const std::vector<int32_t> pred = predict_labels(in, info.thresholds);
    const size_t n = eval->probabilities.size() / static_cast<size_t>(L);
    if (!info.multilabel) {
      svg::Matrix mx;
      mx.id = "fig-confusion";
      mx.title = "Confusion matrix";
      mx.row_label = "true class";
      mx.column_label = "predicted class";
      mx.rows = mx.columns = info.labels;
      mx.color = kMatrixColor;
      mx.counts.assign(L, std::vector<long long>(L, 0));
      for (size_t i = 0; i < n; ++i) ++mx.counts[eval->labels[i]][pred[i]];
      h += figure(mx.svg(), "Counts at the model's decision rule" +
                                std::string(info.thresholds.size() == 1
                                                ? " (positive iff p(" + info.labels[1] +
                                                      ") >= " + fixed(info.thresholds[0], 3) + ")"
                                                : " (argmax)") +
                                "; shade = share of the true class's examples.");
    } else {
      for (int32_t l = 0; l < L && l < 8; ++l) {
        svg::Matrix mx;
        mx.id = l == 0 ? "fig-confusion" : "fig-confusion-" + std::to_string(l);
        mx.title = "Confusion: " + info.labels[l];
        mx.row_label = "true";
        mx.column_label = "predicted";
        mx.rows = mx.columns = {"no", "yes"};
        mx.color = kMatrixColor;
        mx.counts.assign(2, std::vector<long long>(2, 0));
        for (size_t i = 0; i < n; ++i) {
          ++mx.counts[eval->targets[i * L + l] >= 0.5f ? 1 : 0][pred[i * L + l] != 0 ? 1 : 0];
        }
        h += figure(mx.svg(), "Label " + info.labels[l] + " at threshold " +
                                  fixed(info.thresholds.empty() ? 0.5 : info.thresholds[l], 3) +
                                  ".");
      }
    }
    h += "</div>\n<table>\n<tr><th>class</th><th>precision</th><th>recall</th><th>F1</th>"
         "<th>support</th><th>ROC AUC</th><th>PR AUC</th></tr>\n";
    for (const LabelMetrics& m : rep.per_label) {
      h += "<tr><td>" + svg::escape(m.name) + "</td><td class=\"num\">" + fixed(m.precision) +
           "</td><td class=\"num\">" + fixed(m.recall) + "</td><td class=\"num\">" + fixed(m.f1) +
           "</td><td class=\"num\">" + std::to_string(m.support) + "</td><td class=\"num\">" +
           fixed(m.roc_auc) + "</td><td class=\"num\">" + fixed(m.pr_auc) + "</td></tr>\n";
    }
    h += "</table>\n</section>\n";
  }
  return h;
}

// The seq2seq evaluation section.
std::string RunReport::seq2seq_eval_html() const {
  std::string h;
  if (seq2seq_eval) {
    const Seq2SeqEvalResult& e = *seq2seq_eval;
    h += "<section id=\"evaluation\">\n<h2>Evaluation on " + svg::escape(e.data_path) +
         "</h2>\n<table>\n<tr><th>sources</th><th>WER</th><th>PER</th><th>exact "
         "match</th><th>chrF</th></tr>\n";
    h += "<tr><td class=\"num\">" + std::to_string(e.scores.sources) + "</td><td class=\"num\">" +
         fixed(e.scores.wer) + "</td><td class=\"num\">" + fixed(e.scores.per) +
         "</td><td class=\"num\">" + fixed(e.scores.exact_match) + "</td><td class=\"num\">" +
         fixed(e.scores.chrf, 2) + "</td></tr>\n</table>\n";
    // WER and PER by source length in characters (UTF-8 code points).
    std::map<int, std::vector<Seq2SeqItem>> by_len;
    for (size_t i = 0; i < e.items.size(); ++i) {
      int chars = 0;
      for (unsigned char c : e.sources[i]) chars += (c & 0xC0) != 0x80;
      by_len[std::min(chars, 16)].push_back(e.items[i]);
    }
    svg::BarChart b;
    b.id = "fig-length";
    b.title = "Error rates by source length";
    b.y_label = "error rate";
    svg::BarChart::Bars wer{"WER", kLengthColor, {}, {}, {}};
    svg::BarChart::Bars per{"PER", "#c49c94", {}, {}, {}};
    std::string len_rows;
    for (const auto& [len, items] : by_len) {
      const Seq2SeqScores sc = score_seq2seq(items);
      b.groups.push_back(len >= 16 ? "16+" : std::to_string(len));
      wer.value.push_back(sc.wer);
      per.value.push_back(sc.per);
      len_rows += "<tr><td>" + std::string(len >= 16 ? "16+" : std::to_string(len)) +
                  "</td><td class=\"num\">" + std::to_string(sc.sources) +
                  "</td><td class=\"num\">" + fixed(sc.wer) + "</td><td class=\"num\">" +
                  fixed(sc.per) + "</td></tr>\n";
    }
    b.bars = {wer, per};
    b.width = std::max(460, 40 * static_cast<int>(b.groups.size()) + 120);
    h += "<div class=\"figs\">\n" +
         figure(b.svg(),
                "WER (share of sources whose output matches no reference) and PER "
                "(phone edit distance / reference phones) by source length in "
                "characters.") +
         "</div>\n";
    h += "<table>\n<tr><th>source length</th><th>sources</th><th>WER</th><th>PER</th></tr>\n" +
         len_rows + "</table>\n";
    h += "<h3>Sample hypotheses</h3>\n<table>\n<tr><th>source</th><th>hypothesis</th>"
         "<th>references</th><th>correct</th></tr>\n";
    const size_t step = std::max<size_t>(1, e.items.size() / std::max(options.samples, 1));
    int shown = 0;
    for (size_t i = 0; i < e.items.size() && shown < options.samples; i += step, ++shown) {
      std::string refs;
      bool ok = false;
      for (const auto& ref : e.items[i].references) {
        refs += (refs.empty() ? "" : " | ") + ref;
        ok = ok || split_tokens(ref) == split_tokens(e.items[i].hypothesis);
      }
      h += "<tr><td>" + svg::escape(e.sources[i]) + "</td><td>" +
           svg::escape(e.items[i].hypothesis) + "</td><td>" + svg::escape(refs) + "</td><td>" +
           (ok ? "yes" : "no") + "</td></tr>\n";
    }
    h += "</table>\n</section>\n";
  }
  return h;
}

// The peer benchmark section.
std::string RunReport::peers_html() const {
  std::string h;
  if (peers.is_object()) {
    h += "<section id=\"peers\">\n<h2>Peer benchmark</h2>\n<div class=\"figs\">\n";
    const auto& res = peers["results"];
    std::vector<std::string> models;
    for (const auto& [ds, ms] : res.items()) {
      if (!ms.is_object()) continue;
      for (const auto& [m, v] : ms.items()) {
        if (std::find(models.begin(), models.end(), m) == models.end()) models.push_back(m);
      }
    }
    std::string table =
        "<table>\n<tr><th>data</th><th>model</th><th>runs</th><th>test macro-F1 mean [min, "
        "max]</th><th>ROC AUC mean [min, max]</th></tr>\n";
    for (const char* key : {"macro_f1", "roc_auc"}) {
      svg::BarChart b;
      b.id = std::string("fig-peers-") + key;
      b.title = std::string("Test ") + (std::string(key) == "macro_f1" ? "macro-F1" : "ROC AUC") +
                " (mean, whiskers min-max)";
      b.y_label = key;
      b.y_min = 0.5;
      for (size_t k = 0; k < models.size(); ++k) {
        b.bars.push_back({models[k], kPeerColors[k % 8], {}, {}, {}});
      }
      for (const auto& [ds, ms] : res.items()) {
        if (!ms.is_object()) continue;
        b.groups.push_back(ds);
        for (size_t k = 0; k < models.size(); ++k) {
          const PeerStats p = ms.contains(models[k]) ? peer_stats(ms[models[k]], key) : PeerStats{};
          b.bars[k].value.push_back(p.mean);
          b.bars[k].low.push_back(p.runs > 1 ? p.lo : kNaN);
          b.bars[k].high.push_back(p.runs > 1 ? p.hi : kNaN);
        }
      }
      b.width = 620;
      b.height = 340;
      h += figure(b.svg(), std::string("From ") + options.peers_path + ".");
    }
    for (const auto& [ds, ms] : res.items()) {
      if (!ms.is_object()) continue;
      for (const auto& [m, v] : ms.items()) {
        const PeerStats f = peer_stats(v, "macro_f1"), a = peer_stats(v, "roc_auc");
        table += "<tr><td>" + svg::escape(ds) + "</td><td>" + svg::escape(m) +
                 "</td><td class=\"num\">" + std::to_string(f.runs) + "</td><td class=\"num\">" +
                 fixed(f.mean, 3) + " [" + fixed(f.lo, 3) + ", " + fixed(f.hi, 3) +
                 "]</td><td class=\"num\">" + fixed(a.mean, 3) + " [" + fixed(a.lo, 3) + ", " +
                 fixed(a.hi, 3) + "]</td></tr>\n";
      }
    }
    h += "</div>\n" + table + "</table>\n</section>\n";
  }
  return h;
}

std::string RunReport::to_html() const {
  const std::string title = "bytelite report: " + options.run_dir;
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                  svg::escape(title) + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n";
  h += "<h1>bytelite training report</h1>\n<p class=\"sub\">run directory <code>" +
       svg::escape(options.run_dir) + "</code>" +
       (info.path.empty() ? "" : ", model <code>" + svg::escape(info.path) + "</code>") + "</p>\n";
  h += card_html();
  h += training_html();
  h += classifier_eval_html();
  h += seq2seq_eval_html();
  h += peers_html();
  h += "<p class=\"note\">Written by <code>bytelite report</code>; every figure is inline SVG "
       "(no scripts, no network).</p>\n</body>\n</html>\n";
  return h;
}

std::string RunReport::to_text() const {
  std::ostringstream s;
  s << "run " << options.run_dir << ": " << curve.size() << " training log records";
  if (best_step >= 0) s << ", chosen checkpoint at step " << best_step;
  s << "\n";
  if (eval) {
    s << "evaluated on " << eval->data_path << ": " << eval->report.examples
      << " examples, macro-F1 " << fixed(eval->report.macro_f1) << ", ROC AUC "
      << fixed(eval->report.roc_auc) << "\n";
  }
  if (seq2seq_eval) {
    s << "evaluated on " << seq2seq_eval->data_path << ": " << seq2seq_eval->scores.sources
      << " sources, WER " << fixed(seq2seq_eval->scores.wer) << ", PER "
      << fixed(seq2seq_eval->scores.per) << "\n";
  }
  if (agreement.is_object()) {
    s << "QAT checkpoint vs int8: " << agreement.value("changed_predictions", -1)
      << " predictions differ, max |prob diff| " << fixed(num(agreement, "max_abs_prob_diff"))
      << "\n";
  }
  return s.str();
}

}  // namespace bytelite

// The training report (core/report.h) and its SVG charts (core/svg_chart.h), on the tiny run
// directories of tests/data/report (made by scripts/make_report_fixture.sh): every figure is in
// the page, the numbers in it are the evaluation's, the training curve is the log, the page is
// self-contained, and bad inputs are one-line errors. tests/test_report_render.py renders the
// page in headless Chromium.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bytelite/classifier.h"
#include "bytelite/errors.h"
#include "core/metrics.h"
#include "core/model_eval.h"
#include "core/report.h"
#include "core/svg_chart.h"

namespace bytelite {
namespace {

namespace fs = std::filesystem;
const std::string kSrc = BYTELITE_SOURCE_DIR;

std::string read_all(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh copy of a fixture run directory (tests may write into it).
class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("bytelite_report_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string copy_run(const std::string& name) {
    const fs::path to = dir_ / name;
    fs::copy(kSrc + "/tests/data/report/" + name, to, fs::copy_options::recursive);
    return to.string();
  }
  fs::path dir_;
};

// The text of the <svg> element with this id.
std::string svg_of(const std::string& html, const std::string& id) {
  const size_t a = html.find("id=\"" + id + "\"");
  if (a == std::string::npos) return "";
  const size_t b = html.find("</svg>", a);
  return html.substr(a, b - a);
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

std::string fixed4(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}

TEST_F(ReportTest, ClassifierPageShowsTheEvaluation) {
  ReportOptions o;
  o.run_dir = copy_run("byteqrnn_run");
  o.data_path = kSrc + "/data/olid/test.tsv";
  o.peers_path = kSrc + "/bench/peers/results/peers.json";
  o.quiet = true;
  const RunReport r = build_report(o);
  ASSERT_TRUE(r.eval.has_value());
  // The report's evaluation is the runtime's evaluation of the same model on the same data.
  Classifier clf = Classifier::load(o.run_dir + "/model.blt");
  const ModelEvalResult want = evaluate_model_file(clf, o.data_path, 1, false, true);
  EXPECT_EQ(r.eval->report.examples, 860);
  EXPECT_EQ(r.eval->probabilities, want.probabilities);
  EXPECT_EQ(r.eval->report.macro_f1, want.report.macro_f1);

  const std::string html = r.to_html();
  for (const char* id : {"fig-loss", "fig-lr", "fig-metric", "fig-roc", "fig-pr", "fig-confusion",
                         "fig-peers-macro_f1", "fig-peers-roc_auc"}) {
    EXPECT_FALSE(svg_of(html, id).empty()) << id;
  }
  EXPECT_NE(html.find(fixed4(want.report.macro_f1)), std::string::npos);
  EXPECT_NE(html.find(fixed4(want.report.roc_auc)), std::string::npos);
  // The confusion matrix holds the counts of the model's own decisions.
  std::vector<std::vector<long long>> cm(2, std::vector<long long>(2, 0));
  MetricInput in;
  in.num_labels = 2;
  in.scores = want.probabilities;
  in.labels = want.labels;
  const std::vector<int32_t> pred = predict_labels(in, clf.info().thresholds);
  for (size_t i = 0; i < pred.size(); ++i) ++cm[want.labels[i]][pred[i]];
  const std::string m = svg_of(html, "fig-confusion");
  EXPECT_EQ(count(m, "class=\"cell\""), 4u);
  long long total = 0;
  for (int t = 0; t < 2; ++t) {
    for (int p = 0; p < 2; ++p) {
      total += cm[t][p];
      EXPECT_NE(m.find(">" + std::to_string(cm[t][p]) + "</text>"), std::string::npos)
          << t << "," << p;
    }
  }
  EXPECT_EQ(total, 860);
  // The ROC figure marks the operating point at the model's threshold.
  char thr[48];
  std::snprintf(thr, sizeof thr, "threshold %.3f", clf.info().thresholds.at(0));
  EXPECT_NE(svg_of(html, "fig-roc").find(thr), std::string::npos);
  // Peers: one bar per (dataset, model) with a result.
  const auto peers = nlohmann::json::parse(read_all(o.peers_path));
  size_t bars = 0;
  for (const auto& [ds, ms] : peers["results"].items()) bars += ms.size();
  EXPECT_EQ(count(svg_of(html, "fig-peers-macro_f1"), "class=\"bar\""), bars);
  // Self-contained: no scripts, no external resources.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(count(html, "http"), count(html, "http://www.w3.org/2000/svg"));
  // The model card names the data files the run recorded.
  const auto summary = nlohmann::json::parse(read_all(o.run_dir + "/summary.json"));
  EXPECT_NE(html.find(summary["data"]["train"]["path"].get<std::string>()), std::string::npos);
}

TEST_F(ReportTest, TrainingCurveIsTheLog) {
  ReportOptions o;
  o.run_dir = copy_run("byteqrnn_run");
  const RunReport r = build_report(o);
  std::ifstream log(o.run_dir + "/train_log.jsonl");
  std::string line;
  size_t i = 0;
  while (std::getline(log, line)) {
    const auto j = nlohmann::json::parse(line);
    ASSERT_LT(i, r.curve.size());
    EXPECT_EQ(r.curve[i].step, j["step"].get<int64_t>());
    EXPECT_EQ(r.curve[i].train_loss, j["train_loss"].get<double>());
    EXPECT_EQ(r.curve[i].lr, j["lr"].get<double>());
    EXPECT_EQ(r.curve[i].metric, j["valid"]["macro_f1"].get<double>());
    ++i;
  }
  EXPECT_GE(i, 4u);
  EXPECT_EQ(r.curve.size(), i);
  const auto summary = nlohmann::json::parse(read_all(o.run_dir + "/summary.json"));
  EXPECT_EQ(r.best_step, summary["best_step"].get<int64_t>());
  // Without data: the card and the curves, no evaluation figures.
  const std::string html = r.to_html();
  EXPECT_FALSE(svg_of(html, "fig-metric").empty());
  EXPECT_TRUE(svg_of(html, "fig-roc").empty());
  // One marker per log record on the metric curve.
  EXPECT_EQ(count(svg_of(html, "fig-metric"), "<circle"), i);
}

TEST_F(ReportTest, Seq2SeqPageShowsErrorRatesByLength) {
  ReportOptions o;
  o.run_dir = copy_run("seq2seq_run");
  const std::string data = (dir_ / "g2p.tsv").string();
  {
    std::ifstream in(kSrc + "/data/cmudict/g2p_valid.tsv");
    std::ofstream out(data);
    std::string line;
    for (int k = 0; k < 121 && std::getline(in, line); ++k) out << line << "\n";
  }
  o.data_path = data;
  o.samples = 5;
  o.quiet = true;
  const RunReport r = build_report(o);
  ASSERT_TRUE(r.seq2seq);
  ASSERT_TRUE(r.seq2seq_eval.has_value());
  EXPECT_EQ(r.metric, "wer");
  EXPECT_EQ(r.seq2seq_eval->items.size(), r.seq2seq_eval->sources.size());
  EXPECT_EQ(static_cast<int64_t>(r.seq2seq_eval->items.size()), r.seq2seq_eval->scores.sources);
  const std::string html = r.to_html();
  EXPECT_FALSE(svg_of(html, "fig-length").empty());
  EXPECT_NE(html.find(fixed4(r.seq2seq_eval->scores.wer)), std::string::npos);
  // Bars by length: the WER and PER bars of every length group present.
  EXPECT_EQ(count(svg_of(html, "fig-length"), "class=\"bar\"") % 2, 0u);
  EXPECT_GE(count(svg_of(html, "fig-length"), "class=\"bar\""), 6u);
  const size_t table = html.find("<h3>Sample hypotheses</h3>");
  ASSERT_NE(table, std::string::npos);
  EXPECT_EQ(count(html.substr(table), "<tr><td>"), 5u);
}

TEST_F(ReportTest, BadInputsAreOneLineErrors) {
  ReportOptions o;
  o.run_dir = (dir_ / "missing").string();
  try {
    build_report(o);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("expected a training output directory"),
              std::string::npos);
  }
  fs::create_directories(dir_ / "empty");
  o.run_dir = (dir_ / "empty").string();
  EXPECT_THROW(build_report(o), InputError);
  o.run_dir = copy_run("byteqrnn_run");
  {
    std::ofstream log(o.run_dir + "/train_log.jsonl", std::ios::app);
    log << "{\"step\": 1\n";
  }
  try {
    build_report(o);
    FAIL();
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("train_log.jsonl:9: expected one JSON object per line"), std::string::npos)
        << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
  o.run_dir = copy_run("seq2seq_run");
  fs::remove(o.run_dir + "/model.blt");
  o.data_path = kSrc + "/data/cmudict/g2p_valid.tsv";
  EXPECT_THROW(build_report(o), InputError);  // data but no model
  o.data_path.clear();
  o.peers_path = o.run_dir + "/summary.json";  // JSON, but not a peer result
  EXPECT_THROW(build_report(o), InputError);
  o.peers_path.clear();
  o.threads = 0;
  EXPECT_THROW(build_report(o), ConfigError);
}

TEST(SvgChart, EscapesAndFormats) {
  EXPECT_EQ(svg::escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(svg::number(1000), "1000");
  EXPECT_EQ(svg::number(0.25), "0.25");
  EXPECT_EQ(svg::number(3e-5), "3e-05");
  EXPECT_EQ(svg::number(std::nan("")), "n/a");
  svg::LineChart c;
  c.id = "x";
  c.title = "<t>";
  c.series = {{"s&1", "#123456", {0, 1, 2, 3}, {1, std::nan(""), 3, 4}}};
  const std::string s = c.svg();
  EXPECT_NE(s.find("&lt;t&gt;"), std::string::npos);
  EXPECT_NE(s.find("s&amp;1"), std::string::npos);
  // The NaN point is skipped: three vertices.
  const size_t a = s.find("points=\"") + 8;
  const std::string pts = s.substr(a, s.find('"', a) - a);
  EXPECT_EQ(count(pts, ","), 3u);
  // Log axis: non-positive values are skipped, not drawn at -infinity.
  c.log_y = true;
  c.series[0].y = {1e-3, 0, 1e-4, 1e-5};
  const std::string l = c.svg();
  const size_t b = l.find("points=\"") + 8;
  EXPECT_EQ(count(l.substr(b, l.find('"', b) - b), ","), 3u);
  EXPECT_EQ(l.find("inf"), std::string::npos);
}

}  // namespace
}  // namespace bytelite

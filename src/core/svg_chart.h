// Self-contained SVG charts for the HTML training report (`bytelite report`, core/report.h):
// line charts (training curves, ROC and precision-recall curves), grouped bar charts with
// min/max whiskers (peer benchmark, error rates by word length) and a heat-map matrix (confusion
// matrix). Output is one inline <svg> element: no scripts, no external resources, no fonts
// beyond the browser's generic sans-serif, so the report renders offline.
//
// Coordinates are in CSS pixels; every chart is `width` x `height`. Values that are not finite
// are skipped (a series with no finite point draws nothing but its legend entry). Strings are
// escaped here; callers pass plain UTF-8.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bytelite::svg {

/// Escapes &, <, >, " and ' for HTML / XML text and attribute values.
std::string escape(std::string_view s);

/// Formats a number for axis ticks and labels: up to `digits` significant digits, no trailing
/// zeros ("0.25", "1200", "3e-05").
std::string number(double v, int digits = 3);

struct Series {
  std::string name;
  std::string color;  // CSS color, e.g. "#1f77b4"
  std::vector<double> x, y;
  bool markers = false;  // a dot at every point
  bool dashed = false;
  bool step = false;  // draw as a step function (PR curves)
};

/// A labelled point drawn over the series (e.g. the operating point at the decision threshold).
struct Point {
  double x = 0, y = 0;
  std::string label;
  std::string color;
};

/// A vertical rule at x (e.g. the step of the chosen checkpoint).
struct Rule {
  double x = 0;
  std::string label;
  std::string color = "#555555";
};

struct LineChart {
  std::string id;  // the <svg> element's id (unique in the page)
  std::string title, x_label, y_label;
  std::vector<Series> series;
  std::vector<Point> points;
  std::vector<Rule> rules;
  bool diagonal = false;    // the chance line y = x (ROC)
  bool fixed_unit = false;  // both axes span exactly [0, 1] (ROC, PR)
  bool log_y = false;       // logarithmic y axis (learning rates); non-positive values skipped
  int width = 460, height = 300;
  std::string svg() const;
};

struct BarChart {
  std::string id, title, y_label;
  std::vector<std::string> groups;  // one cluster of bars per group (x axis)
  struct Bars {
    std::string name, color;
    std::vector<double> value, low, high;  // per group; low/high: whisker (NaN = none)
  };
  std::vector<Bars> bars;
  double y_min = 0;  // bottom of the y axis; the top is the largest value or whisker
  int width = 460, height = 300;
  std::string svg() const;
};

/// Heat map of counts, e.g. a confusion matrix (rows: true class, columns: predicted class);
/// a cell's shade is its count divided by its row's total.
struct Matrix {
  std::string id, title, row_label, column_label;
  std::vector<std::string> rows, columns;
  std::vector<std::vector<long long>> counts;  // [rows][columns]
  std::string color = "#1f77b4";               // the shade of a full row
  std::string svg() const;
};

}  // namespace bytelite::svg

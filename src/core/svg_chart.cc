#include "core/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace bytelite::svg {
namespace {

constexpr int kLeft = 58, kRight = 14, kTop = 30, kBottom = 44;
constexpr size_t kMaxPoints = 1500;  // longer series are thinned (the last point is kept)

std::string px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return !(lo <= hi); }
};

// Tick positions covering [lo, hi] at a 1-2-5 step giving about `target` intervals.
std::vector<double> ticks(double lo, double hi, int target = 5) {
  std::vector<double> t;
  const double span = hi - lo;
  if (!(span > 0) || !std::isfinite(span)) return {lo};
  const double raw = span / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  }
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
    t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  }
  return t;
}

std::string header(const std::string& id, int w, int h, const std::string& title) {
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" + escape(id) +
                  "\" class=\"chart\" width=\"" + std::to_string(w) + "\" height=\"" +
                  std::to_string(h) + "\" viewBox=\"0 0 " + std::to_string(w) + " " +
                  std::to_string(h) + "\" role=\"img\" aria-label=\"" + escape(title) + "\">\n";
  s += "<rect width=\"" + std::to_string(w) + "\" height=\"" + std::to_string(h) +
       "\" fill=\"#ffffff\"/>\n";
  s += "<text x=\"" + std::to_string(w / 2) +
       "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">" + escape(title) +
       "</text>\n";
  return s;
}

std::string text(double x, double y, const std::string& s, const char* anchor = "middle",
                 int size = 11, const std::string& extra = "") {
  return "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\" text-anchor=\"" + anchor +
         "\" font-size=\"" + std::to_string(size) + "\"" + extra + ">" + escape(s) + "</text>\n";
}

std::string line(double x1, double y1, double x2, double y2, const std::string& color,
                 double width = 1, const std::string& extra = "") {
  return "<line x1=\"" + px(x1) + "\" y1=\"" + px(y1) + "\" x2=\"" + px(x2) + "\" y2=\"" + px(y2) +
         "\" stroke=\"" + color + "\" stroke-width=\"" + px(width) + "\"" + extra + "/>\n";
}

// Legend entries stacked in the plot's top-right corner.
std::string legend(const std::vector<std::pair<std::string, std::string>>& entries, double right,
                   double top, bool boxes) {
  std::string s;
  size_t longest = 0;
  for (const auto& e : entries) longest = std::max(longest, e.first.size());
  const double w = 30 + 6.2 * static_cast<double>(longest);
  const double x0 = right - w - 4;
  s += "<rect x=\"" + px(x0) + "\" y=\"" + px(top + 2) + "\" width=\"" + px(w) + "\" height=\"" +
       px(16.0 * static_cast<double>(entries.size()) + 6) +
       "\" fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"#cccccc\"/>\n";
  for (size_t i = 0; i < entries.size(); ++i) {
    const double y = top + 14 + 16.0 * static_cast<double>(i);
    if (boxes) {
      s += "<rect x=\"" + px(x0 + 6) + "\" y=\"" + px(y - 8) +
           "\" width=\"14\" height=\"10\" fill=\"" + entries[i].second + "\"/>\n";
    } else {
      s += line(x0 + 6, y - 3, x0 + 22, y - 3, entries[i].second, 2.5);
    }
    s += text(x0 + 26, y, entries[i].first, "start", 11);
  }
  return s;
}

}  // namespace

std::string escape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string number(double v, int digits) {
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[48];
  if (v == std::round(v) && std::abs(v) < 1e9) {
    std::snprintf(buf, sizeof buf, "%.0f", v);  // "1000", not "1e+03"
  } else {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  }
  return buf;
}

std::string LineChart::svg() const {
  Range xr, yr;
  for (const Series& s : series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      if (log_y && !(s.y[i] > 0)) continue;
      xr.add(s.x[i]);
      yr.add(log_y ? std::log10(s.y[i]) : s.y[i]);
    }
  }
  for (const Rule& r : rules) xr.add(r.x);
  for (const Point& p : points) {
    xr.add(p.x);
    if (!log_y || p.y > 0) yr.add(log_y ? std::log10(p.y) : p.y);
  }
  if (fixed_unit || xr.empty()) xr = Range{0, 1};
  if (fixed_unit || yr.empty()) yr = Range{0, 1};
  if (!(xr.hi > xr.lo)) xr = Range{xr.lo - 0.5, xr.hi + 0.5};
  if (!(yr.hi > yr.lo)) yr = Range{yr.lo - 0.5, yr.hi + 0.5};
  if (!fixed_unit && !log_y) {
    const double pad = 0.06 * (yr.hi - yr.lo);
    yr.lo -= pad;
    yr.hi += pad;
  }
  const double pl = kLeft, pr = width - kRight, pt = kTop, pb = height - kBottom;
  auto X = [&](double v) { return pl + (v - xr.lo) / (xr.hi - xr.lo) * (pr - pl); };
  auto Y = [&](double v) {
    const double t = log_y ? std::log10(v) : v;
    return pb - (t - yr.lo) / (yr.hi - yr.lo) * (pb - pt);
  };

  std::string s = header(id, width, height, title);
  // grid, ticks and tick labels
  for (double t : ticks(xr.lo, xr.hi)) {
    s += line(X(t), pt, X(t), pb, "#e6e6e6");
    s += text(X(t), pb + 14, number(t), "middle", 10);
  }
  std::vector<double> yt;
  if (log_y) {
    for (double e = std::floor(yr.lo); e <= std::ceil(yr.hi); e += 1) {
      if (e >= yr.lo - 1e-9 && e <= yr.hi + 1e-9) yt.push_back(std::pow(10.0, e));
    }
    if (yt.size() < 2) {
      yt.clear();
      for (double t : ticks(yr.lo, yr.hi, 3)) yt.push_back(std::pow(10.0, t));
    }
  } else {
    yt = ticks(yr.lo, yr.hi);
  }
  for (double t : yt) {
    s += line(pl, Y(t), pr, Y(t), "#e6e6e6");
    s += text(pl - 5, Y(t) + 3.5, number(t), "end", 10);
  }
  s += "<rect x=\"" + px(pl) + "\" y=\"" + px(pt) + "\" width=\"" + px(pr - pl) + "\" height=\"" +
       px(pb - pt) + "\" fill=\"none\" stroke=\"#333333\"/>\n";
  s += text((pl + pr) / 2, height - 8, x_label, "middle", 12);
  s += text(14, (pt + pb) / 2, y_label, "middle", 12,
            " transform=\"rotate(-90 14 " + px((pt + pb) / 2) + ")\"");
  if (diagonal) s += line(X(0), Y(0), X(1), Y(1), "#999999", 1, " stroke-dasharray=\"4 4\"");
  for (const Rule& r : rules) {
    if (!std::isfinite(r.x)) continue;
    s += line(X(r.x), pt, X(r.x), pb, r.color, 1.5, " stroke-dasharray=\"6 3\"");
    s += text(X(r.x) - 3, pb - 6, r.label, "end", 10, " fill=\"" + r.color + "\"");
  }
  std::vector<std::pair<std::string, std::string>> entries;
  // The legend goes to the top-right corner unless the curves are high there (then bottom-right).
  int high = 0, low = 0;
  for (const Series& se : series) {
    std::vector<std::pair<double, double>> pts;
    for (size_t i = 0; i < se.x.size() && i < se.y.size(); ++i) {
      if (!std::isfinite(se.x[i]) || !std::isfinite(se.y[i])) continue;
      if (log_y && !(se.y[i] > 0)) continue;
      pts.emplace_back(X(se.x[i]), Y(se.y[i]));
    }
    if (pts.size() > kMaxPoints) {
      std::vector<std::pair<double, double>> thin;
      const size_t k = (pts.size() + kMaxPoints - 1) / kMaxPoints;
      for (size_t i = 0; i < pts.size(); i += k) thin.push_back(pts[i]);
      if (thin.back() != pts.back()) thin.push_back(pts.back());
      pts.swap(thin);
    }
    entries.emplace_back(se.name, se.color);
    for (const auto& p : pts) {
      if (p.first < pl + 0.55 * (pr - pl)) continue;
      (p.second < pt + 0.4 * (pb - pt) ? high : low) += 1;
    }
    if (pts.empty()) continue;
    std::string poly;
    for (size_t i = 0; i < pts.size(); ++i) {
      if (se.step && i > 0) poly += px(pts[i].first) + "," + px(pts[i - 1].second) + " ";
      poly += px(pts[i].first) + "," + px(pts[i].second) + " ";
    }
    s += "<polyline class=\"series\" points=\"" + poly + "\" fill=\"none\" stroke=\"" + se.color +
         "\" stroke-width=\"2.5\" stroke-linejoin=\"round\"" +
         (se.dashed ? " stroke-dasharray=\"6 3\"" : "") + "/>\n";
    if (se.markers) {
      for (const auto& p : pts) {
        s += "<circle cx=\"" + px(p.first) + "\" cy=\"" + px(p.second) + "\" r=\"3\" fill=\"" +
             se.color + "\"/>\n";
      }
    }
  }
  for (const Point& p : points) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y) || (log_y && !(p.y > 0))) continue;
    s += "<circle cx=\"" + px(X(p.x)) + "\" cy=\"" + px(Y(p.y)) + "\" r=\"5.5\" fill=\"" + p.color +
         "\" stroke=\"#000000\" stroke-width=\"1\"/>\n";
    const bool right_half = X(p.x) > (pl + pr) / 2;
    s += text(X(p.x) + (right_half ? -9 : 9), Y(p.y) + 15, p.label, right_half ? "end" : "start",
              10);
  }
  if (!entries.empty()) {
    const double box = 16.0 * static_cast<double>(entries.size()) + 14;
    s += legend(entries, pr, high > low ? pb - box : pt, false);
  }
  s += "</svg>\n";
  return s;
}

std::string BarChart::svg() const {
  double top = -std::numeric_limits<double>::infinity();
  for (const Bars& b : bars) {
    for (double v : b.value) top = std::isfinite(v) ? std::max(top, v) : top;
    for (double v : b.high) top = std::isfinite(v) ? std::max(top, v) : top;
  }
  if (!std::isfinite(top) || top <= y_min) top = y_min + 1;
  top += 0.08 * (top - y_min);
  // With several bar series the legend takes a column right of the plot.
  size_t longest = 0;
  for (const Bars& b : bars) longest = std::max(longest, b.name.size());
  const double legend_w = bars.size() > 1 ? 38 + 6.2 * static_cast<double>(longest) : 0.0;
  const double pl = kLeft, pr = width - kRight - legend_w, pt = kTop + 4, pb = height - kBottom;
  auto Y = [&](double v) { return pb - (std::max(v, y_min) - y_min) / (top - y_min) * (pb - pt); };
  std::string s = header(id, width, height, title);
  for (double t : ticks(y_min, top)) {
    if (t > top) continue;
    s += line(pl, Y(t), pr, Y(t), "#e6e6e6");
    s += text(pl - 5, Y(t) + 3.5, number(t), "end", 10);
  }
  const double gw = (pr - pl) / std::max<size_t>(groups.size(), 1);
  const double bw = std::min(46.0, gw * 0.8 / std::max<size_t>(bars.size(), 1));
  for (size_t g = 0; g < groups.size(); ++g) {
    const double gx = pl + gw * static_cast<double>(g);
    const double x0 = gx + (gw - bw * static_cast<double>(bars.size())) / 2;
    for (size_t k = 0; k < bars.size(); ++k) {
      const Bars& b = bars[k];
      if (g >= b.value.size() || !std::isfinite(b.value[g])) continue;
      const double x = x0 + bw * static_cast<double>(k);
      s += "<rect class=\"bar\" x=\"" + px(x + 1) + "\" y=\"" + px(Y(b.value[g])) + "\" width=\"" +
           px(bw - 2) + "\" height=\"" + px(pb - Y(b.value[g])) + "\" fill=\"" + b.color + "\"/>\n";
      const bool whisker = g < b.low.size() && g < b.high.size() && std::isfinite(b.low[g]) &&
                           std::isfinite(b.high[g]);
      if (whisker) {
        const double cx = x + bw / 2;
        s += line(cx, Y(b.low[g]), cx, Y(b.high[g]), "#000000", 1.2);
        s += line(cx - 4, Y(b.low[g]), cx + 4, Y(b.low[g]), "#000000", 1.2);
        s += line(cx - 4, Y(b.high[g]), cx + 4, Y(b.high[g]), "#000000", 1.2);
      }
      const double label_y = (whisker ? Y(b.high[g]) : Y(b.value[g])) - 4;
      s += text(x + bw / 2, label_y, number(b.value[g]), "middle", 9);
    }
    s += text(gx + gw / 2, pb + 15, groups[g], "middle", 11);
  }
  s += line(pl, pb, pr, pb, "#333333");
  s += line(pl, pt, pl, pb, "#333333");
  s += text(14, (pt + pb) / 2, y_label, "middle", 12,
            " transform=\"rotate(-90 14 " + px((pt + pb) / 2) + ")\"");
  std::vector<std::pair<std::string, std::string>> entries;
  for (const Bars& b : bars) entries.emplace_back(b.name, b.color);
  if (!entries.empty()) s += legend(entries, width - kRight, pt, true);
  s += "</svg>\n";
  return s;
}

std::string Matrix::svg() const {
  const int cell = 64, label_w = 120, top = 58;
  const int w = label_w + cell * static_cast<int>(columns.size()) + 16;
  const int h = top + cell * static_cast<int>(rows.size()) + 36;
  std::string s = header(id, std::max(w, 260), h, title);
  s += text(label_w + cell * static_cast<double>(columns.size()) / 2, 38, column_label, "middle",
            12);
  for (size_t c = 0; c < columns.size(); ++c) {
    s += text(label_w + cell * (static_cast<double>(c) + 0.5), top - 4, columns[c], "middle", 10);
  }
  s += text(12, top + cell * static_cast<double>(rows.size()) / 2, row_label, "middle", 12,
            " transform=\"rotate(-90 12 " + px(top + cell * static_cast<double>(rows.size()) / 2) +
                ")\"");
  for (size_t r = 0; r < rows.size(); ++r) {
    long long total = 0;
    for (long long v : counts[r]) total += v;
    const double y = top + cell * static_cast<double>(r);
    s += text(label_w - 6, y + cell / 2.0 + 4, rows[r], "end", 10);
    for (size_t c = 0; c < columns.size(); ++c) {
      const long long v = c < counts[r].size() ? counts[r][c] : 0;
      const double frac = total > 0 ? static_cast<double>(v) / static_cast<double>(total) : 0.0;
      const double x = label_w + cell * static_cast<double>(c);
      s += "<rect class=\"cell\" x=\"" + px(x) + "\" y=\"" + px(y) + "\" width=\"" +
           std::to_string(cell) + "\" height=\"" + std::to_string(cell) + "\" fill=\"" + color +
           "\" fill-opacity=\"" + px(0.08 + 0.92 * frac) + "\" stroke=\"#ffffff\"/>\n";
      s += text(x + cell / 2.0, y + cell / 2.0 + 4, std::to_string(v), "middle", 12,
                frac > 0.55 ? " fill=\"#ffffff\"" : "");
    }
  }
  s += "<rect class=\"frame\" x=\"" + std::to_string(label_w - 2) + "\" y=\"" +
       std::to_string(top - 2) + "\" width=\"" + std::to_string(cell * columns.size() + 4) +
       "\" height=\"" + std::to_string(cell * rows.size() + 4) + "\" fill=\"none\" stroke=\"" +
       color + "\" stroke-width=\"3\"/>\n";
  s += "</svg>\n";
  return s;
}

}  // namespace bytelite::svg

#include "core/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace bytelite {

namespace {
// BYTELITE_PROGRESS: "lines" (whole lines even off a terminal), "off" (nothing), else automatic.
std::string progress_mode() {
  const char* v = std::getenv("BYTELITE_PROGRESS");
  return v == nullptr ? "" : v;
}
}  // namespace

Progress::Progress(std::string label, int64_t total, std::string unit, double interval_s,
                   bool quiet)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      interval_s_(interval_s),
      tty_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {
  const std::string mode = progress_mode();
  enabled_ = !quiet && mode != "off" && (tty_ || mode == "lines");
  // Logs (not a terminal) get fewer, whole lines.
  if (!tty_ && interval_s_ < 10.0) interval_s_ = 10.0;
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::format_duration(double s) {
  if (!(s >= 0) || s > 1e7) return "?";
  long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm%02lds", t / 3600, (t / 60) % 60, t % 60);
  } else if (t >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", t);
  }
  return buf;
}

void Progress::update(int64_t done, const std::string& suffix) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_).count() < interval_s_) return;
  last_ = now;
  print(done, suffix, false);
}

void Progress::finish(int64_t done, const std::string& suffix) {
  if (enabled_) print(done, suffix, true);
}

void Progress::print(int64_t done, const std::string& suffix, bool final_line) {
  double el = elapsed_s();
  double rate = el > 0 ? done / el : 0.0;
  std::string line = "[" + label_ + "] " + std::to_string(done);
  char buf[96];
  if (total_ > 0) {
    std::snprintf(buf, sizeof buf, "/%lld %s %5.1f%%", static_cast<long long>(total_),
                  unit_.c_str(), 100.0 * done / total_);
    line += buf;
  } else {
    line += " " + unit_;
  }
  std::snprintf(buf, sizeof buf, " | %.1f %s/s", rate, unit_.c_str());
  line += buf;
  if (final_line) {
    line += " | took " + format_duration(el);
  } else if (total_ > 0 && rate > 0) {
    line += " | ETA " + format_duration((total_ - done) / rate);
  }
  if (!suffix.empty()) line += " | " + suffix;
  if (tty_ && !final_line) {
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
  } else {
    std::fprintf(stderr, "%s%s\n", tty_ ? "\r" : "", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace bytelite

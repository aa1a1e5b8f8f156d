// Progress lines for long work (training, evaluation, export, benchmarks, reports): count,
// percentage, rate, ETA and a caller-supplied suffix (loss, learning rate, latest metric).
// Printed to stderr at most once per `interval_s` seconds as carriage-return updates, and only
// when stderr is a terminal: a command whose output goes to a file or a pipe stays quiet, as does
// one given --quiet (`quiet`). BYTELITE_PROGRESS=lines in the environment prints whole lines (at
// most one per 10 s) even when stderr is not a terminal, for logs of long runs;
// BYTELITE_PROGRESS=off silences every progress line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace bytelite {

class Progress {
 public:
  /// total: expected number of units (0 if unknown); unit: e.g. "ex" (examples); quiet: print
  /// nothing (--quiet).
  Progress(std::string label, int64_t total, std::string unit, double interval_s = 2.0,
           bool quiet = false);

  /// Reports that `done` units are complete. Prints if interval_s has passed since the last line.
  void update(int64_t done, const std::string& suffix = "");
  /// Prints a final line (unless the progress is silent, see above).
  void finish(int64_t done, const std::string& suffix = "");
  /// Seconds since construction.
  double elapsed_s() const;

  /// Whether this progress prints anything (a terminal, or BYTELITE_PROGRESS=lines; not quiet).
  bool enabled() const { return enabled_; }

  /// "1h02m03s" / "4m05s" / "12s".
  static std::string format_duration(double seconds);

 private:
  void print(int64_t done, const std::string& suffix, bool final_line);

  std::string label_;
  int64_t total_;
  std::string unit_;
  double interval_s_;
  bool tty_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace bytelite

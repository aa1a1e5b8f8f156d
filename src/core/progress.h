// Progress lines for long work (training, evaluation, export): count, percentage, rate, ETA and
// a caller-supplied suffix (loss, learning rate, latest metric). Printed to stderr at most once
// per `interval_s` seconds; carriage-return updates on a terminal, whole lines otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace bytelite {

class Progress {
 public:
  /// total: expected number of units (0 if unknown); unit: e.g. "ex" (examples).
  Progress(std::string label, int64_t total, std::string unit, double interval_s = 2.0);

  /// Reports that `done` units are complete. Prints if interval_s has passed since the last line.
  void update(int64_t done, const std::string& suffix = "");
  /// Prints a final line unconditionally.
  void finish(int64_t done, const std::string& suffix = "");
  /// Seconds since construction.
  double elapsed_s() const;

  /// "1h02m03s" / "4m05s" / "12s".
  static std::string format_duration(double seconds);

 private:
  void print(int64_t done, const std::string& suffix, bool final_line);

  std::string label_;
  int64_t total_;
  std::string unit_;
  double interval_s_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace bytelite

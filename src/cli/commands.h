// Subcommands of the bytelite CLI; each registers its flags on the given app and returns the
// subcommand, whose callback runs it. Errors are thrown as bytelite::Error and printed by main.
#pragma once

#include <CLI/CLI.hpp>
#include <exception>
#include <string>

namespace bytelite::cli {

/// Integer flag check with a short message ("expected an integer >= 1, found 0").
inline CLI::Validator int_at_least(long long lo, const std::string& name) {
  return CLI::Validator(
      [lo](std::string& s) -> std::string {
        size_t used = 0;
        long long v = 0;
        try {
          v = std::stoll(s, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != s.size()) return "expected an integer, found '" + s + "'";
        if (v < lo) return "expected an integer >= " + std::to_string(lo) + ", found " + s;
        return {};
      },
      name);
}
inline const CLI::Validator kNonNegative = int_at_least(0, "NONNEGATIVE");
inline const CLI::Validator kPositive = int_at_least(1, "POSITIVE");

CLI::App* add_train_command(CLI::App& app);
CLI::App* add_eval_command(CLI::App& app);
CLI::App* add_predict_command(CLI::App& app);
CLI::App* add_export_command(CLI::App& app);
CLI::App* add_info_command(CLI::App& app);
CLI::App* add_bench_command(CLI::App& app);
CLI::App* add_pretrain_command(CLI::App& app);
CLI::App* add_generate_command(CLI::App& app);
CLI::App* add_report_command(CLI::App& app);

}  // namespace bytelite::cli

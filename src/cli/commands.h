// Subcommands of the bytelite CLI; each registers its flags on the given app and returns the
// subcommand, whose callback runs it. Errors are thrown as bytelite::Error and printed by main.
#pragma once

#include <CLI/CLI.hpp>

namespace bytelite::cli {

CLI::App* add_train_command(CLI::App& app);
CLI::App* add_eval_command(CLI::App& app);
CLI::App* add_predict_command(CLI::App& app);
CLI::App* add_export_command(CLI::App& app);
CLI::App* add_info_command(CLI::App& app);
CLI::App* add_bench_command(CLI::App& app);
CLI::App* add_pretrain_command(CLI::App& app);
CLI::App* add_generate_command(CLI::App& app);

}  // namespace bytelite::cli

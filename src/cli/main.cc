// bytelite: train and run tiny tokenizer-free byte-level text models. Thin dispatcher only.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "bytelite/model.h"
#include "cli/commands.h"
#include "core/errors.h"

int main(int argc, char** argv) {
  CLI::App app{"bytelite: train and run tiny tokenizer-free (UTF-8 byte) text models"};
  app.option_defaults()->always_capture_default();
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("bytelite ") + bytelite::kVersionString);
  bytelite::cli::add_train_command(app);
  bytelite::cli::add_eval_command(app);
  bytelite::cli::add_predict_command(app);
  bytelite::cli::add_export_command(app);
  bytelite::cli::add_info_command(app);
  bytelite::cli::add_bench_command(app);
  bytelite::cli::add_pretrain_command(app);
  bytelite::cli::add_generate_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const bytelite::Error& e) {
    std::fprintf(stderr, "bytelite: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bytelite: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}

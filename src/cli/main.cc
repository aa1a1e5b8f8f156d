// bytelite: train and run tiny tokenizer-free byte-level text models. Thin dispatcher only.
// Built twice (cli/handoff.h): `bytelite` (runtime-only; hands train / pretrain / export and
// the libtorch parts of predict / eval / bench to bytelite-train) and `bytelite-train`
// (links libtorch and runs every command itself); they differ only in torch_parts.cc /
// torch_handoff.cc and the train, pretrain and export commands.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "bytelite/model.h"
#include "cli/commands.h"
#include "cli/handoff.h"
#include "core/errors.h"

int main(int argc, char** argv) {
  bytelite::cli::remember_arguments(argc, argv);
  if (!bytelite::cli::have_libtorch()) {
    const std::string sub = bytelite::cli::training_only_subcommand(argc, argv);
    if (!sub.empty()) {
      try {
        bytelite::cli::hand_off(sub);
      } catch (const bytelite::Error& e) {
        std::fprintf(stderr, "bytelite: error: %s\n", e.what());
        return 1;
      }
    }
  }
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
  bytelite::cli::add_report_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // bad flags or values: one line, exit 1 (as every other user error)
    std::string msg = e.what();
    for (char& c : msg) {
      if (c == '\n') c = ' ';
    }
    std::fprintf(stderr, "bytelite: error: %s (see --help)\n", msg.c_str());
    return 1;
  } catch (const bytelite::Error& e) {
    std::fprintf(stderr, "bytelite: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bytelite: internal error: %s\n", e.what());
    return 2;
  }
  // output lost (e.g. a full disk behind stdout) is an error, not a success
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "bytelite: error: cannot write to standard output\n");
    return 1;
  }
  return 0;
}

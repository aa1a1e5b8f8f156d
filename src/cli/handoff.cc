#include "cli/handoff.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/errors.h"

namespace bytelite::cli {

namespace {
int g_argc = 0;
char** g_argv = nullptr;
}  // namespace

void remember_arguments(int argc, char** argv) {
  g_argc = argc;
  g_argv = argv;
}

std::vector<std::string> remembered_arguments() {
  return std::vector<std::string>(g_argv, g_argv + g_argc);
}

namespace {
std::string training_executable() {
  char self[PATH_MAX + 1];
  const ssize_t n = ::readlink("/proc/self/exe", self, PATH_MAX);
  std::string dir = ".";
  if (n > 0) {
    self[n] = '\0';
    std::string p(self);
    const size_t slash = p.find_last_of('/');
    if (slash != std::string::npos) dir = p.substr(0, slash);
  }
  return dir + "/bytelite-train";
}
}  // namespace

bool training_executable_available() {
  return !have_libtorch() && ::access(training_executable().c_str(), X_OK) == 0;
}

void hand_off(const std::string& what) {
  const std::string exe = training_executable();
  if (have_libtorch() || ::access(exe.c_str(), X_OK) != 0) {
    throw ConfigError(what + " needs libtorch: expected the training executable " + exe +
                      ", found none (this is a runtime-only build; build without "
                      "BYTELITE_RUNTIME_ONLY)");
  }
  std::vector<char*> args;
  std::string name = "bytelite-train";
  args.push_back(name.data());
  for (int i = 1; i < g_argc; ++i) args.push_back(g_argv[i]);
  args.push_back(nullptr);
  std::fflush(stdout);
  ::execv(exe.c_str(), args.data());
  throw ConfigError(what + " needs libtorch: expected to start " + exe +
                    ", found error: " + std::strerror(errno));
}

std::string training_only_subcommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    if (!s.empty() && s[0] == '-') continue;
    return s == "train" || s == "pretrain" || s == "export" ? s : "";
  }
  return "";
}

}  // namespace bytelite::cli

// Helpers shared by the training and CLI tests.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace bytelite::testutil {

/// A fresh empty directory under the test temp dir, unique per test.
inline std::string fresh_dir(const std::string& tag) {
  const testing::TestInfo* info = testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = testing::TempDir() + "bytelite_" + info->test_suite_name() + "_" +
                    info->name() + "_" + tag + "_" + std::to_string(::getpid());
  std::string cmd = "rm -rf '" + dir + "' && mkdir -p '" + dir + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  return dir;
}

/// Copies the header and the first n data rows of a TSV file.
inline std::string head_tsv(const std::string& src, const std::string& dst, int n) {
  std::ifstream in(src, std::ios::binary);
  EXPECT_TRUE(in.good()) << src;
  std::ofstream out(dst, std::ios::binary);
  std::string line;
  for (int i = 0; i <= n && std::getline(in, line); ++i) out << line << '\n';
  return dst;
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::string write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  return path;
}

/// Exit code and merged stdout + stderr of a shell command.
struct CmdResult {
  int code;
  std::string out;
};

inline CmdResult run_cmd(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// Runs build/bytelite with the given arguments.
inline CmdResult run(const std::string& args) {
  return run_cmd(std::string(BYTELITE_BINARY_DIR) + "/bytelite " + args);
}

inline std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) v.push_back(l);
  return v;
}

inline std::string source_path(const std::string& rel) {
  return std::string(BYTELITE_SOURCE_DIR) + "/" + rel;
}

/// CMUdict G2P pairs (word, phones) from data/cmudict/train.tsv: the lines whose index % every
/// == offset, words of at most 12 bytes and phone strings of at most 40, the first n of them.
inline std::vector<std::pair<std::string, std::string>> read_g2p(int every, int offset, size_t n) {
  std::ifstream in(source_path("data/cmudict/train.tsv"));
  EXPECT_TRUE(in.good());
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  for (int i = 0; std::getline(in, line) && out.size() < n; ++i) {
    if (i % every != offset) continue;
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    std::string w = line.substr(0, tab), p = line.substr(tab + 1);
    if (w.size() > 12 || p.size() > 40) continue;
    out.emplace_back(w, p);
  }
  return out;
}

}  // namespace bytelite::testutil

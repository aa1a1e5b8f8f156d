// Line framing and output of the CLI's text input (predict, generate): split on '\n' only, a
// trailing '\r' removed (CRLF files work); every other byte, including NUL and invalid UTF-8, is
// part of the line. An empty line is a line; a final '\n' does not start another one.
#pragma once

#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/atomic_file.h"

namespace bytelite::cli {

inline std::vector<std::string> split_lines(const std::string& raw) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < raw.size()) {
    size_t nl = raw.find('\n', start);
    size_t end = nl == std::string::npos ? raw.size() : nl;
    std::string line = raw.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

/// The whole text input of a command: stdin (path empty or "-") or a file (InputError if it
/// cannot be read or is a directory).
inline std::string read_input(const std::string& path) {
  if (path.empty() || path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  return read_file(path);
}

/// Writes a command's output to stdout (path empty or "-") or atomically to a file.
inline void write_output(const std::string& path, const std::string& bytes) {
  if (path.empty() || path == "-") {
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  } else {
    write_file_atomic(path, bytes);
  }
}

}  // namespace bytelite::cli

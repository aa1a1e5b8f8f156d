// Streaming line reader for the CLI's text input, with the framing of lines.h (split on '\n'
// only, a trailing '\r' removed, an empty line is a line, a final '\n' does not start another
// line): reads the input in blocks, so memory stays bounded by the chunk size and the longest
// line, whatever the input's size.
#pragma once

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/errors.h"

namespace bytelite::cli {

class LineReader {
 public:
  /// stdin for "" or "-"; else opens the file (InputError if it cannot be read or is a
  /// directory, with the messages of read_file).
  explicit LineReader(const std::string& path) : path_(path) {
    if (path.empty() || path == "-") {
      f_ = stdin;
      return;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      throw InputError("'" + path + "': expected a file, found a directory");
    }
    f_ = std::fopen(path.c_str(), "rb");
    if (!f_) {
      throw InputError("'" + path +
                       "': expected a readable file, found one that cannot be opened (" +
                       std::strerror(errno) + ")");
    }
    own_ = true;
  }
  ~LineReader() {
    if (own_) std::fclose(f_);
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  /// Replaces `lines` with the next at most max_lines lines; false (and `lines` empty) at the
  /// end of the input. The strings already in `lines` are reused (assigned, keeping their
  /// capacity), so a caller that passes the same vector again allocates nothing per line once
  /// its strings have grown. Throws InputError on a read error.
  bool next(std::vector<std::string>& lines, size_t max_lines) {
    size_t count = 0;
    while (count < max_lines) {
      const size_t nl = buf_.find('\n', pos_);
      if (nl != std::string::npos) {
        set(lines, count++, nl);
        pos_ = nl + 1;
        continue;
      }
      if (eof_) {
        if (pos_ < buf_.size()) {  // last line without '\n'
          set(lines, count++, buf_.size());
          pos_ = buf_.size();
        }
        break;
      }
      fill();
    }
    lines.resize(count);
    return count > 0;
  }

 private:
  // lines[i] = the line from pos_ to `end` (a trailing '\r' removed).
  void set(std::vector<std::string>& lines, size_t i, size_t end) {
    size_t e = end;
    if (e > pos_ && buf_[e - 1] == '\r') --e;
    if (i < lines.size()) {
      lines[i].assign(buf_, pos_, e - pos_);
    } else {
      lines.emplace_back(buf_, pos_, e - pos_);
    }
  }
  void fill() {
    buf_.erase(0, pos_);
    pos_ = 0;
    constexpr size_t kBlock = 1 << 16;
    const size_t old = buf_.size();
    buf_.resize(old + kBlock);
    const size_t n = std::fread(&buf_[old], 1, kBlock, f_);
    buf_.resize(old + n);
    if (n < kBlock) {
      if (std::ferror(f_)) {
        throw InputError("cannot read '" + (own_ ? path_ : std::string("standard input")) +
                         "': " + std::strerror(errno));
      }
      eof_ = true;
    }
  }

  std::string path_;
  std::FILE* f_ = nullptr;
  bool own_ = false, eof_ = false;
  std::string buf_;
  size_t pos_ = 0;
};

}  // namespace bytelite::cli

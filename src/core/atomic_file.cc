#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/errors.h"

namespace bytelite {

void write_file_atomic(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = mkstemp(tmp.data());
  if (fd < 0) {
    throw Error("cannot create a temporary file next to '" + path + "': " + std::strerror(errno));
  }
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error("cannot write '" + path + "': " + std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0 || ::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error("cannot flush '" + path + "': " + std::strerror(e));
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw Error("cannot rename temporary file to '" + path + "': " + std::strerror(e));
  }
}

AtomicFileWriter::AtomicFileWriter(const std::string& path)
    : path_(path), tmp_(path + ".tmp.XXXXXX") {
  fd_ = mkstemp(tmp_.data());
  if (fd_ < 0) {
    throw Error("cannot create a temporary file next to '" + path + "': " + std::strerror(errno));
  }
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

void AtomicFileWriter::write(const char* data, size_t size) {
  size_t off = 0;
  while (off < size) {
    ssize_t n = ::write(fd_, data + off, size - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot write '" + path_ + "': " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
}

void AtomicFileWriter::commit() {
  if (::fchmod(fd_, 0644) != 0 || ::fsync(fd_) != 0) {
    throw Error("cannot flush '" + path_ + "': " + std::strerror(errno));
  }
  ::close(fd_);
  fd_ = -1;
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp_.c_str());
    throw Error("cannot rename temporary file to '" + path_ + "': " + std::strerror(e));
  }
}

void check_readable_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw InputError("'" + path + "': expected a file, found a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InputError("'" + path + "': expected a readable file, found one that cannot be opened (" +
                     std::strerror(errno) + ")");
  }
}

std::string read_file(const std::string& path) {
  check_readable_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) check_readable_file(path);  // it changed since: the same message
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void make_dirs(const std::string& dir) {
  std::string cur;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      if (!cur.empty() && ::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
        throw Error("cannot create directory '" + cur + "'");
      }
    }
    if (i < dir.size()) cur += dir[i];
  }
}

}  // namespace bytelite

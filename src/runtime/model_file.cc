#include "runtime/model_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bytelite/errors.h"
#include "bytelite/model.h"
#include "runtime/crc32.h"

namespace bytelite::rt {

namespace {

void put_u32(std::string& s, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[off + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put_u64(std::string& s, size_t off, uint64_t v) {
  for (int i = 0; i < 8; ++i) s[off + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
uint32_t get_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
uint64_t get_u64(const uint8_t* p) {
  return static_cast<uint64_t>(get_u32(p)) | static_cast<uint64_t>(get_u32(p + 4)) << 32;
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// The first bytes of a file, as hex and as printable text, for "found ..." messages.
std::string describe_start(const uint8_t* p, size_t n) {
  std::string hex, text;
  for (size_t i = 0; i < n && i < 8; ++i) {
    char b[4];
    std::snprintf(b, sizeof b, "%02x", p[i]);
    if (i > 0) hex += ' ';
    hex += b;
    text += (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') ? static_cast<char>(p[i])
                                                                         : '.';
  }
  return hex + " (\"" + text + "\")";
}

[[noreturn]] void fail(const std::string& name, const std::string& msg) {
  throw ModelFileError(name + ": " + msg);
}

}  // namespace

std::string make_model_file(const void* payload, size_t size, uint32_t version) {
  std::string out(kHeaderSize, '\0');
  std::memcpy(out.data(), kMagic, sizeof kMagic);
  put_u32(out, 8, version);
  put_u32(out, 12, static_cast<uint32_t>(kHeaderSize));
  put_u64(out, 16, static_cast<uint64_t>(size));
  put_u32(out, 24, crc32(payload, size));
  put_u32(out, 28, crc32(out.data(), 28));
  out.append(static_cast<const char*>(payload), size);
  return out;
}

FileView map_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fail(path, std::string("cannot open the model file (") + std::strerror(errno) +
                   "); expected a file written by 'bytelite export' or 'bytelite train'");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    fail(path, std::string("cannot stat the model file: ") + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, S_ISDIR(st.st_mode)
                   ? "expected a model file, found a directory (a training output directory "
                     "holds model.blt; or use --checkpoint for checkpoints)"
                   : "expected a regular model file, found a special file");
  }
  FileView v;
  v.size = static_cast<size_t>(st.st_size);
  if (v.size == 0) {
    ::close(fd);
    static const uint8_t kEmpty[1] = {0};
    v.data = kEmpty;
    return v;
  }
  void* p = ::mmap(nullptr, v.size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int e = errno;
  ::close(fd);
  if (p == MAP_FAILED) fail(path, std::string("cannot map the model file: ") + std::strerror(e));
  const size_t n = v.size;
  v.storage =
      std::shared_ptr<const void>(p, [n](const void* q) { ::munmap(const_cast<void*>(q), n); });
  v.data = static_cast<const uint8_t*>(p);
  return v;
}

FileView copy_bytes(std::string_view bytes) {
  FileView v;
  v.size = bytes.size();
  const size_t alloc = (bytes.size() + 16) / 16 * 16;
  void* p = std::aligned_alloc(16, alloc);
  if (p == nullptr) throw std::bad_alloc();
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  v.storage =
      std::shared_ptr<const void>(p, [](const void* q) { std::free(const_cast<void*>(q)); });
  v.data = static_cast<const uint8_t*>(p);
  return v;
}

HeaderInfo check_header(const FileView& f, const std::string& name) {
  const std::string magic = "\"BYTELITE\"";
  if (f.size == 0) {
    fail(name, "expected a bytelite model file (magic " + magic + ", header of " +
                   std::to_string(kHeaderSize) + " bytes), found an empty file (0 bytes)");
  }
  const size_t mlen = sizeof kMagic;
  if (f.size < mlen || std::memcmp(f.data, kMagic, mlen) != 0) {
    std::string hint;
    if (f.size >= 4 && std::memcmp(f.data, "PK\x03\x04", 4) == 0) {
      hint =
          " (this looks like a training checkpoint: use --checkpoint, or convert it with "
          "'bytelite export')";
    }
    fail(name, "magic: expected " + magic + " (a bytelite int8 model file), found " +
                   describe_start(f.data, f.size) + " in a file of " + std::to_string(f.size) +
                   " bytes" + hint);
  }
  if (f.size < 12) {
    fail(name, "size: expected at least " + std::to_string(kHeaderSize) +
                   " bytes (the header), found " + std::to_string(f.size) +
                   " bytes; the file is truncated");
  }
  HeaderInfo h;
  h.version = get_u32(f.data + 8);
  if (h.version == 0 || h.version > kModelFormatVersion) {
    fail(name, "format version: expected 1.." + std::to_string(kModelFormatVersion) +
                   " (the newest this runtime reads), found " + std::to_string(h.version) +
                   (h.version > kModelFormatVersion
                        ? " (written by a newer bytelite; upgrade the runtime)"
                        : " (not a valid version)"));
  }
  if (f.size < kHeaderSize) {
    fail(name, "size: expected at least " + std::to_string(kHeaderSize) +
                   " bytes (the header), found " + std::to_string(f.size) +
                   " bytes; the file is truncated");
  }
  const uint32_t header_crc = get_u32(f.data + 28);
  const uint32_t header_crc_found = crc32(f.data, 28);
  if (header_crc != header_crc_found) {
    fail(name, "header checksum: expected crc32 " + hex32(header_crc) +
                   " (stored in the header), found " + hex32(header_crc_found) +
                   " (computed over header bytes 0..27); the header is corrupt");
  }
  const uint32_t header_size = get_u32(f.data + 12);
  if (header_size != kHeaderSize) {
    fail(name, "header size: expected " + std::to_string(kHeaderSize) + ", found " +
                   std::to_string(header_size));
  }
  const uint64_t payload_size = get_u64(f.data + 16);
  const uint64_t available = f.size - kHeaderSize;
  if (payload_size != available) {
    const uint64_t expected_total = payload_size + kHeaderSize;
    fail(name,
         "size: expected " + std::to_string(expected_total) + " bytes (" +
             std::to_string(kHeaderSize) + "-byte header + " + std::to_string(payload_size) +
             "-byte payload), found " + std::to_string(f.size) + " bytes; " +
             (available < payload_size ? "the file is truncated" : "the file has trailing bytes"));
  }
  h.payload = f.data + kHeaderSize;
  h.payload_size = static_cast<size_t>(payload_size);
  h.checksum = get_u32(f.data + 24);
  const uint32_t found = crc32(h.payload, h.payload_size);
  if (found != h.checksum) {
    fail(name, "payload checksum: expected crc32 " + hex32(h.checksum) +
                   " (stored in the header), found " + hex32(found) + " (computed over the " +
                   std::to_string(h.payload_size) + "-byte payload); the file is corrupt");
  }
  return h;
}

}  // namespace bytelite::rt

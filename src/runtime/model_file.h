// The container of a model file: a fixed 32-byte little-endian header, then the FlatBuffers
// payload (schema/bytelite_model.fbs).
//
//   offset  size  field
//        0     8  magic "BYTELITE"
//        8     4  format version (1). Every future version keeps magic and version here.
//       12     4  header size (32)
//       16     8  payload size in bytes
//       24     4  CRC-32 of the payload
//       28     4  CRC-32 of header bytes 0..27
//
// The payload starts at offset 32, so FlatBuffers vectors in a memory-mapped file are aligned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace bytelite::rt {

inline constexpr char kMagic[8] = {'B', 'Y', 'T', 'E', 'L', 'I', 'T', 'E'};
inline constexpr size_t kHeaderSize = 32;

/// Wraps a FlatBuffers payload into a complete model file (header + payload).
std::string make_model_file(const void* payload, size_t size, uint32_t version);

struct FileView {
  std::shared_ptr<const void> storage;  // keeps the bytes alive (mapping or buffer)
  const uint8_t* data = nullptr;
  size_t size = 0;
};

/// Memory-maps a file read-only. Throws ModelFileError("<path>: ...") if it cannot.
FileView map_file(const std::string& path);
/// Copies bytes into a 16-byte aligned buffer.
FileView copy_bytes(std::string_view bytes);

struct HeaderInfo {
  uint32_t version = 0;
  uint32_t checksum = 0;  // payload CRC-32
  const uint8_t* payload = nullptr;
  size_t payload_size = 0;
};

/// Checks size, magic, version, header checksum, payload size and payload checksum, in this
/// order. Throws ModelFileError("<name>: <field>: expected ..., found ...").
HeaderInfo check_header(const FileView& file, const std::string& name);

}  // namespace bytelite::rt

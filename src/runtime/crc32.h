// CRC-32 (IEEE 802.3 polynomial 0xEDB88320, reflected; the zlib/PNG/gzip checksum), used for the
// payload and header checksums of model files.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bytelite::rt {

/// CRC-32 of n bytes, continuing from `crc` (0 for a fresh checksum). crc32("123456789") is
/// 0xCBF43926.
uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

}  // namespace bytelite::rt

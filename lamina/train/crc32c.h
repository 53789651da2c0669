#pragma once
// CRC32C (Castagnoli), as TFRecord framing uses it. Table-driven (slicing-by-8), no dependency.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lamina::train {

/// Extends `crc` (0 to start) with `n` bytes at `data`; crc32c("123456789") == 0xE3069283.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);
/// CRC32C of `n` bytes at `data`.
inline uint32_t crc32c(const void* data, size_t n) { return crc32c_extend(0, data, n); }
/// CRC32C of the bytes of `s`.
inline uint32_t crc32c(std::string_view s) { return crc32c(s.data(), s.size()); }
/// TFRecord's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
inline uint32_t crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
/// Inverse of crc32c_mask.
inline uint32_t crc32c_unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace lamina::train

#pragma once
// The safetensors header parser: bytes -> validated tensor entries + metadata. Depends only on
// nlohmann-json and lamina/core (dtype, error), so the libFuzzer target can link it alone.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lamina/core/dtype.h"

namespace lamina::io {

/// The element types the safetensors format names (its dtype codes).
enum class StDtype : uint8_t { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

/// The format's code for `dt`, e.g. "F32".
std::string_view st_dtype_name(StDtype dt);
/// Bytes per element of `dt`.
int64_t st_itemsize(StDtype dt);
/// The code for a dtype name, or nullopt when the format has no such code.
std::optional<StDtype> st_dtype_from_name(std::string_view name);
/// The lamina dtype a file dtype loads as unchanged, or nullopt (I16/U16/U32 widen, others are unsupported).
std::optional<Dtype> st_to_lamina(StDtype dt);
/// The safetensors code lamina writes for `dt`.
StDtype st_from_lamina(Dtype dt);

/// One tensor described by the header; [begin, end) is relative to the start of the data buffer.
struct HeaderEntry {
  std::string name;            ///< the tensor's name
  StDtype dtype;               ///< its element type in the file
  std::vector<int64_t> shape;  ///< its dimensions (all >= 0; empty for a 0-d tensor)
  int64_t begin;               ///< first data byte, relative to the data buffer
  int64_t end;                 ///< one past the last data byte
};

/// A parsed, validated header.
struct ParsedHeader {
  std::vector<HeaderEntry> entries;             ///< tensors in header (JSON) order
  std::map<std::string, std::string> metadata;  ///< the __metadata__ object (string -> string)
  int64_t data_offset = 0;                      ///< where the data buffer starts: 8 + header length
  int64_t data_size = 0;                        ///< data buffer bytes (file size - data_offset)
};

/// Largest header accepted, as the reference implementation (100 MB).
inline constexpr int64_t kMaxHeaderSize = 100'000'000;

/// Parses and validates a whole safetensors file image [data, data + size): the 8-byte little-endian
/// header length, the JSON header (an object of tensor entries and an optional __metadata__ of strings),
/// known dtype codes, non-negative integer shapes, data_offsets whose length equals numel * itemsize and
/// which tile the data buffer exactly (no overlap, no gap, nothing past the end). FormatError naming
/// `name` (the path) and what is wrong otherwise. Never reads outside [data, data + size).
ParsedHeader parse_header(const unsigned char* data, int64_t size, const std::string& name);

}  // namespace lamina::io

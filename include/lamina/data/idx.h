#pragma once
// Readers for data files. IDX is the format of MNIST / Fashion-MNIST (optionally gzipped).
#include <string>

#include "lamina/core/tensor.h"

namespace lamina::data {

/// Reads an IDX file (raw or .gz): magic 0 0 <type> <ndim>, ndim big-endian uint32 sizes, then
/// the elements big-endian. Types: 0x08 uint8, 0x09 int8, 0x0B int16 (as int32), 0x0C int32,
/// 0x0D float32, 0x0E float64. IOError when the file cannot be opened; FormatError naming the
/// path and what was expected for a bad header or a truncated body.
Tensor read_idx(const std::string& path);

}  // namespace lamina::data

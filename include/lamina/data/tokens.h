#pragma once
// Raw token files (a flat binary array, as written by tokenizer scripts) as 1-D tensors.
#include <cstdint>
#include <string>
#include <string_view>

#include "lamina/core/tensor.h"

namespace lamina::data {

/// The raw token (or any flat binary) file `path` as a 1-D tensor, skipping `offset` header bytes.
/// `file_dtype` names the element type in the file, NumPy style: bool, uint8, int8, int32, int64,
/// float16, bfloat16, float32, float64 give a zero-copy view of the mapping; uint16 and int16 are
/// widened to int32 and uint32 to int64 (a copy). Native byte order. IOError for a missing file,
/// FormatError when the remaining size is not a multiple of the item size or offset exceeds the file.
Tensor read_tokens(const std::string& path, std::string_view file_dtype = "uint8", int64_t offset = 0);

}  // namespace lamina::data

#pragma once
// safetensors files (https://github.com/huggingface/safetensors): save and load named tensors with
// string metadata, memory-mapped or copied, from files or bytes.
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::io {

/// Named tensors in file order.
using TensorMap = std::vector<std::pair<std::string, Tensor>>;
/// The __metadata__ of a safetensors file (string -> string).
using Metadata = std::map<std::string, std::string>;

/// Writes tensors (any lamina dtype, any strides/device-CPU; written contiguous) + metadata to path.
/// Atomic: writes path + ".tmp.<pid>", fsyncs it, renames over path, fsyncs the directory.
/// ValueError for duplicate, empty or "__metadata__" names; IOError when the file cannot be written
/// (the old file at `path`, if any, is then left untouched).
void save_file(const TensorMap& tensors, const std::string& path, const Metadata& metadata = {});

/// What load_file returns.
struct LoadedFile {
  TensorMap tensors;  ///< the tensors in header order
  Metadata metadata;  ///< the file's __metadata__ (empty when absent)
};

/// Reads a file; mmap=true maps it and the tensors view the mapping (kept alive by their storage); false copies.
/// File types lamina lacks widen (I16 and U16 to int32, U32 to int64, copied); U64 and F8 raise DTypeError.
/// IOError for a missing file, FormatError naming the path and the problem for a malformed one.
LoadedFile load_file(const std::string& path, bool mmap = true);

/// Serializes to memory (the file format exactly).
std::string save_bytes(const TensorMap& tensors, const Metadata& metadata = {});
/// Parses a file image from memory; the tensors are copies.
LoadedFile load_bytes(std::string_view bytes);

}  // namespace lamina::io

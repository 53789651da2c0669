#pragma once
// Read-only-file memory maps, and tensors that view them (zero-copy .npy, safetensors, token files).
#include <cstdint>
#include <memory>
#include <string>

#include "lamina/core/tensor.h"

namespace lamina::runtime {

/// A whole file mapped copy-on-write: writes through a view change private pages, never the file.
class MappedFile {
 public:
  /// Maps `path`; IOError naming `op` and the path when it cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::string& path, const char* op);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  /// First byte of the file (nullptr for an empty file).
  unsigned char* data() const { return data_; }
  /// File size in bytes.
  int64_t size() const { return size_; }
  /// The path it was opened from.
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, unsigned char* data, int64_t size);
  std::string path_;
  unsigned char* data_;
  int64_t size_;
};

/// A tensor viewing bytes [byte_offset, ...) of `file` with the given geometry; its storage keeps
/// the mapping alive. The caller has checked that the geometry fits inside the file.
Tensor view_mapped(const std::shared_ptr<MappedFile>& file, int64_t byte_offset, const Shape& shape,
                   const Strides& strides, Dtype dtype);

}  // namespace lamina::runtime

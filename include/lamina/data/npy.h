#pragma once
// NumPy .npy files: read (copied or memory-mapped) and write.
#include <cstdint>
#include <string>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::data {

/// Reads a .npy file (format 1.0, 2.0 or 3.0; little- or big-endian; C or Fortran order).
/// NumPy types: bool, uint8, int8, int32, int64, float16, float32, float64 load as themselves;
/// int16 and uint16 widen to int32, uint32 to int64. With `mmap` the tensor views the mapped file
/// (zero copy; Fortran order gives a transposed-stride view) and writes to it stay private; mmap
/// needs native byte order and a type lamina holds as is (DTypeError otherwise). IOError for a
/// missing file; FormatError naming the path and what was expected for a malformed or truncated
/// one; DTypeError for a type lamina has no equivalent of (uint64, complex, structured...).
Tensor load_npy(const std::string& path, bool mmap = false);

/// Writes `t` (any device; copied to the CPU) as a little-endian, C-order .npy file (format
/// 1.0, or 2.0 for a very long header). DTypeError for bfloat16, which NumPy lacks.
void save_npy(const std::string& path, const Tensor& t);

/// Decodes the .npy bytes [data, data + size) into a new tensor; `name` appears in errors.
Tensor npy_from_bytes(const unsigned char* data, int64_t size, const std::string& name);

/// The .npy encoding of `t`, as save_npy writes it.
std::vector<unsigned char> npy_to_bytes(const Tensor& t);

}  // namespace lamina::data

#include "lamina/data/tokens.h"

#include <cstring>

#include "lamina/ops/creation.h"
#include "lamina/runtime/mapped_file.h"

namespace lamina::data {

using runtime::MappedFile;
using runtime::view_mapped;

namespace {

struct FileType {
  Dtype dtype;   // what the tensor holds
  int64_t item;  // bytes per element in the file
  int widen;     // 0: view as is; 2: 16-bit to int32 (1 signed, 2 unsigned); 4: uint32 to int64
  bool is_signed;
};

FileType file_type(std::string_view name, const std::string& path) {
  if (name == "bool") return {Dtype::Bool, 1, 0, false};
  if (name == "uint8") return {Dtype::UInt8, 1, 0, false};
  if (name == "int8") return {Dtype::Int8, 1, 0, true};
  if (name == "int16") return {Dtype::Int32, 2, 2, true};
  if (name == "uint16") return {Dtype::Int32, 2, 2, false};
  if (name == "int32") return {Dtype::Int32, 4, 0, true};
  if (name == "uint32") return {Dtype::Int64, 4, 4, false};
  if (name == "int64") return {Dtype::Int64, 8, 0, true};
  if (name == "float16") return {Dtype::Float16, 2, 0, true};
  if (name == "bfloat16") return {Dtype::BFloat16, 2, 0, true};
  if (name == "float32") return {Dtype::Float32, 4, 0, true};
  if (name == "float64") return {Dtype::Float64, 8, 0, true};
  LAMINA_THROW(DTypeError, "read_tokens", "unknown file dtype '", name, "' for '", path,
               "'; expected bool, uint8, int8, int16, uint16, int32, uint32, int64, float16, bfloat16, "
               "float32 or float64");
}

}  // namespace

Tensor read_tokens(const std::string& path, std::string_view file_dtype, int64_t offset) {
  const FileType type = file_type(file_dtype, path);
  LAMINA_CHECK(offset >= 0, ValueError, "read_tokens", "offset must be >= 0, got ", offset);
  auto file = MappedFile::open(path, "read_tokens");
  LAMINA_CHECK(offset <= file->size(), FormatError, "read_tokens", "'", path, "' has ", file->size(),
               " bytes, fewer than the header offset ", offset);
  const int64_t body = file->size() - offset;
  LAMINA_CHECK(body % type.item == 0, FormatError, "read_tokens", "'", path, "' holds ", body, " bytes after offset ",
               offset, ", not a multiple of the ", file_dtype, " item size ", type.item);
  const int64_t n = body / type.item;
  if (type.widen == 0) {
    LAMINA_CHECK(offset % type.item == 0, ValueError, "read_tokens", "offset ", offset,
                 " is not a multiple of the item size ", type.item, " of ", file_dtype, ", so '", path,
                 "' cannot be viewed in place");
    return view_mapped(file, offset, {n}, {1}, type.dtype);
  }
  Tensor out = empty({n}, {type.dtype, kCPU});
  const unsigned char* src = file->data() + offset;
  if (type.widen == 2) {
    int32_t* dst = out.data<int32_t>();
    for (int64_t i = 0; i < n; ++i) {
      uint16_t v;
      std::memcpy(&v, src + 2 * i, 2);
      dst[i] = type.is_signed ? int32_t{static_cast<int16_t>(v)} : int32_t{v};
    }
  } else {
    int64_t* dst = out.data<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      uint32_t v;
      std::memcpy(&v, src + 4 * i, 4);
      dst[i] = v;
    }
  }
  return out;
}

}  // namespace lamina::data

#include "lamina/data/idx.h"

#include <zlib.h>

#include <bit>
#include <cstring>
#include <memory>
#include <vector>

#include "lamina/ops/creation.h"

namespace lamina::data {
namespace {

// gzread reads both gzip and plain files, so one path handles .gz and raw IDX.
struct GzFile {
  gzFile f = nullptr;
  ~GzFile() {
    if (f) gzclose(f);
  }
};

int64_t read_exact(gzFile f, void* out, int64_t n) {
  int64_t done = 0;
  char* p = static_cast<char*>(out);
  while (done < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<int64_t>(n - done, int64_t{1} << 30));
    const int got = gzread(f, p + done, chunk);
    if (got <= 0) break;
    done += got;
  }
  return done;
}

uint32_t big_endian_u32(const unsigned char* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

static_assert(std::endian::native == std::endian::little, "read_idx swaps big-endian data to little-endian");

}  // namespace

Tensor read_idx(const std::string& path) {
  GzFile file;
  file.f = gzopen(path.c_str(), "rb");
  LAMINA_CHECK(file.f != nullptr, IOError, "read_idx", "cannot open '", path, "': ", std::strerror(errno));
  unsigned char magic[4];
  LAMINA_CHECK(read_exact(file.f, magic, 4) == 4, FormatError, "read_idx", "'", path,
               "' is not an IDX file: expected a 4-byte magic number, the file is shorter");
  LAMINA_CHECK(magic[0] == 0 && magic[1] == 0, FormatError, "read_idx", "'", path,
               "' is not an IDX file: expected the magic number to start with two zero bytes");
  Dtype dtype;
  int64_t item = 0;
  switch (magic[2]) {
    case 0x08: dtype = Dtype::UInt8, item = 1; break;
    case 0x09: dtype = Dtype::Int8, item = 1; break;
    case 0x0B: dtype = Dtype::Int32, item = 2; break;
    case 0x0C: dtype = Dtype::Int32, item = 4; break;
    case 0x0D: dtype = Dtype::Float32, item = 4; break;
    case 0x0E: dtype = Dtype::Float64, item = 8; break;
    default:
      LAMINA_THROW(FormatError, "read_idx", "'", path, "' has unknown IDX element type 0x", std::hex,
                   static_cast<int>(magic[2]), "; expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E");
  }
  const int ndim = magic[3];
  LAMINA_CHECK(ndim <= kMaxDims, FormatError, "read_idx", "'", path, "' declares ", ndim, " dims; at most ", kMaxDims,
               " are supported");
  std::vector<unsigned char> dims(static_cast<size_t>(4 * ndim));
  LAMINA_CHECK(read_exact(file.f, dims.data(), 4 * ndim) == 4 * ndim, FormatError, "read_idx", "'", path,
               "' is truncated: expected ", ndim, " dimension sizes after the magic number");
  Shape shape;
  int64_t numel = 1;
  for (int d = 0; d < ndim; ++d) {
    const int64_t size = big_endian_u32(&dims[static_cast<size_t>(4 * d)]);
    shape.push_back(size);
    LAMINA_CHECK(size == 0 || numel <= (int64_t{1} << 40) / size, FormatError, "read_idx", "'", path,
                 "' declares an implausibly large shape ", shape);
    numel *= size;
  }
  std::vector<unsigned char> raw(static_cast<size_t>(numel * item));
  const int64_t got = read_exact(file.f, raw.data(), numel * item);
  LAMINA_CHECK(got == numel * item, FormatError, "read_idx", "'", path, "' is truncated: shape ", shape, " needs ",
               numel * item, " bytes of data, found ", got);
  Tensor out = empty(shape, {dtype, kCPU});
  char* dst = static_cast<char*>(out.data_ptr());
  if (item == 1) {
    std::memcpy(dst, raw.data(), raw.size());
  } else {
    for (int64_t i = 0; i < numel; ++i) {
      const unsigned char* b = &raw[static_cast<size_t>(i * item)];
      if (magic[2] == 0x0B) {
        const int32_t v = static_cast<int16_t>((b[0] << 8) | b[1]);
        std::memcpy(dst + i * 4, &v, 4);
      } else {
        for (int64_t k = 0; k < item; ++k) dst[i * item + k] = static_cast<char>(b[item - 1 - k]);  // to little-endian
      }
    }
  }
  return out;
}

}  // namespace lamina::data

// libFuzzer target: the safetensors header parser on arbitrary bytes. A malformed input must raise
// lamina::FormatError; anything else (another exception, an out-of-bounds read, UB) is a crash.
// Every accepted entry is checked against the buffer and its bytes are read, as load_file would.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "lamina/core/error.h"
#include "lamina/io/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Copy into an exactly sized heap buffer so ASan flags any read past the end.
  std::vector<unsigned char> buf(data, data + size);
  try {
    const lamina::io::ParsedHeader h =
        lamina::io::parse_header(buf.empty() ? nullptr : buf.data(), static_cast<int64_t>(buf.size()), "<fuzz>");
    if (h.data_offset < 8 || h.data_offset + h.data_size != static_cast<int64_t>(size)) std::abort();
    unsigned sum = 0;
    for (const auto& e : h.entries) {
      if (e.begin < 0 || e.begin > e.end || e.end > h.data_size) std::abort();
      int64_t numel = 1;
      for (const int64_t d : e.shape) {
        if (d < 0) std::abort();
        numel *= d;
      }
      if (numel * lamina::io::st_itemsize(e.dtype) != e.end - e.begin) std::abort();
      for (int64_t i = e.begin; i < e.end; ++i) sum += buf[static_cast<size_t>(h.data_offset + i)];
    }
    volatile unsigned sink = sum;
    (void)sink;
  } catch (const lamina::FormatError&) {
    // expected for malformed input
  }
  return 0;
}

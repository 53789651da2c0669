#pragma once
// Geometry for indexing kernels (advanced-index gather / put).
#include <cstdint>

#include "lamina/core/shape.h"

namespace lamina::runtime {

/// Element b*rest_numel + r of the contiguous `dense` buffer pairs with the strided element at
/// base + offsets[b] + rest_offset(r) bytes. Gather reads the strided side into `dense`; put
/// writes `dense` into the strided side (adding when accumulating).
struct IndexLoop {
  char* base = nullptr;
  char* dense = nullptr;
  const int64_t* offsets = nullptr;  // bytes, one per advanced-index position
  int64_t count = 0;                 // number of offsets
  int rest_ndim = 0;
  int64_t rest_numel = 1;
  int64_t rest_shape[kMaxDims];
  int64_t rest_strides[kMaxDims];  // bytes
};

}  // namespace lamina::runtime

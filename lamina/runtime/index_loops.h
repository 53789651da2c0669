#pragma once
// Geometry for the indexing kernels that walk a boolean mask (mask offsets, nonzero). The
// gather/scatter kernels use StridedLoop with a byte-offset or index operand.
#include <cstdint>

#include "lamina/core/shape.h"
#include "lamina/runtime/loops.h"

namespace lamina::runtime {

/// A strided bool mask walked in row-major order. For the k-th true element at coordinates
/// idx, a kernel writes either the byte offset sum(idx[d] * weights[d]) to out[k] (mask
/// offsets) or the coordinates to out[k * ndim .. k * ndim + ndim) (nonzero); the counting
/// kernel writes the number of true elements to out[0].
struct MaskLoop {
  int ndim = 0;
  int64_t numel = 0;
  int64_t count = 0;  // true elements (slots in out); not used by the counting kernel
  const char* mask = nullptr;
  int64_t* out = nullptr;
  int64_t shape[kMaxDims];
  int64_t strides[kMaxDims];  // bytes, of the mask
  int64_t weights[kMaxDims];  // bytes per step along each dim (mask offsets only)
};

/// Signature of the mask-walking kernels ("mask_count", "mask_offsets", "nonzero").
using MaskKernel = void (*)(const MaskLoop&, const KernelParams&);

/// Signature of the device-side index range check ("index_range", CUDA only): writes the
/// smallest and the largest value of the one-operand loop's integer index to min_max[0] and
/// min_max[1] (device memory; the loop is not empty).
using IndexRangeKernel = void (*)(const StridedLoop& index, int64_t* min_max);

}  // namespace lamina::runtime

#pragma once
// Addressing of a StridedLoop's elements by their row-major position, shared by the device
// kernels of the index, random, optimizer and sort families (one thread per element), and
// their scratch memory. Compiles with the host compiler too.
#include <cstdint>

#include "lamina/core/tensor.h"
#include "lamina/kernels/cuda/common.cuh"

namespace lamina::kernels::cuda {

/// Byte offsets of element `e` (row-major over the loop's dims) in the first N operands.
template <int N>
LAMINA_HD inline void strided_offsets(const StridedLoop& loop, int64_t e, int64_t (&off)[N]) {
  for (int k = 0; k < N; ++k) off[k] = 0;
  for (int d = loop.ndim - 1; d >= 0; --d) {
    const int64_t size = loop.shape[d];
    const int64_t i = e % size;
    e /= size;
    for (int k = 0; k < N; ++k) off[k] += i * loop.strides[k][d];
  }
}

/// `bytes` (at least 1) of device memory on the current device from the caching allocator,
/// owned by the returned tensor. It is ordered on the current stream, so releasing it right
/// after queueing the kernels that use it is safe.
inline Tensor device_scratch(int64_t bytes) {
  return Tensor::empty({bytes > 0 ? bytes : 1}, Dtype::UInt8, Device{DeviceType::CUDA, lamina::cuda::current_device()});
}

}  // namespace lamina::kernels::cuda

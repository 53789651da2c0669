#pragma once
// Byte copies between host and device memory, and between devices (cudaMemcpyAsync on the
// default stream). A build without CUDA links copy_stub.cpp, which raises DeviceNotAvailableError.
#include <cstddef>

#include "lamina/core/device.h"

namespace lamina::cuda {

/// Copies `bytes` from `src` on `src_device` to `dst` on `dst_device` (one of them a CUDA
/// device); waits for the copy unless `non_blocking` (then a host buffer must stay alive until
/// the stream reaches the copy).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes,
                bool non_blocking = false);

}  // namespace lamina::cuda

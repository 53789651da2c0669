#pragma once
// Device memory of the CUDA backend: one caching, stream-ordered allocator per device
// (runtime/device_allocator.h) over cudaMalloc / cudaFree. A build without CUDA links
// memory_stub.cpp: every call raises DeviceNotAvailableError naming the op.
#include "lamina/runtime/device_allocator.h"

namespace lamina::cuda {

/// Device `index`'s caching allocator (created at first use); DeviceNotAvailableError when the
/// device is not there.
runtime::CachingDeviceAllocator& allocator(int index);
/// Device `index`'s allocator counters.
runtime::DeviceMemoryStats memory_stats(int index);
/// Returns device `index`'s cached, unused segments to the driver.
void empty_cache(int index);

}  // namespace lamina::cuda
